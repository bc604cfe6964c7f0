"""RR001: a file that does not parse gets one finding, and no other check runs on it."""

from __future__ import annotations

import ast
import warnings

from remora_review.findings import Finding, Severity

CODE = "RR001"


def parse_quietly(source: str) -> ast.Module:
    """`ast.parse` without the warnings it gives about the file itself (invalid escape sequences
    are not our business); raises SyntaxError or ValueError as it does."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(source)


def syntax_error(path: str, source: str) -> Finding | None:
    """The first syntax error in a file, found with `ast` (fast, no libcst import)."""
    try:
        parse_quietly(source)
    except (SyntaxError, ValueError) as e:
        return error_finding(path, e)
    return None


def error_finding(path: str, error: SyntaxError | ValueError) -> Finding:
    """The RR001 finding for why `ast` refused a file."""
    if isinstance(error, SyntaxError):
        line = error.lineno or 1
        col = max((error.offset or 1) - 1, 0)
        return Finding(
            path=path, line=line, col=col, end_line=error.end_lineno or line,
            end_col=max((error.end_offset or error.offset or 1) - 1, col), code=CODE,
            message=f"syntax error: {error.msg}", severity=Severity.ERROR,
        )
    # e.g. a NUL byte that slipped past the binary check
    return Finding(path=path, line=1, col=0, end_line=1, end_col=0, code=CODE,
                   message=f"cannot parse: {error}", severity=Severity.ERROR)
