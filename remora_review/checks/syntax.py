"""RR001: a file that does not parse gets one finding, and no other check runs on it."""

from __future__ import annotations

import ast
import warnings
from collections.abc import Callable

from remora_review.findings import Finding, Severity

CODE = "RR001"


def syntax_error(path: str, source: str) -> Finding | None:
    """The first syntax error in a file, found with `ast` (fast, no libcst import)."""
    found = parsed(path, source)
    return found if isinstance(found, Finding) else None


def _parse(source: str) -> ast.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid escape sequences are not our business
        return ast.parse(source)


def parsed(path: str, source: str, parse: Callable[[str], ast.Module] = _parse
           ) -> ast.Module | Finding:
    """The file's `ast` tree (which slicing reads too: one parse), or its RR001 finding.
    `parse`: where the tree comes from (a run's shared one, checks/trees.py); not changed."""
    try:
        return parse(source)
    except SyntaxError as e:
        line = e.lineno or 1
        col = max((e.offset or 1) - 1, 0)
        return Finding(
            path=path, line=line, col=col, end_line=e.end_lineno or line,
            end_col=max((e.end_offset or e.offset or 1) - 1, col), code=CODE,
            message=f"syntax error: {e.msg}", severity=Severity.ERROR,
        )
    except ValueError as e:  # e.g. a NUL byte that slipped past the binary check
        return Finding(path=path, line=1, col=0, end_line=1, end_col=0, code=CODE,
                       message=f"cannot parse: {e}", severity=Severity.ERROR)
