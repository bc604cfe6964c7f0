"""`--output-format github`: GitHub Actions workflow commands, one annotation per finding."""

from __future__ import annotations

from typing import TYPE_CHECKING

from remora_review.findings import Severity

if TYPE_CHECKING:
    from remora_review.output import Report

_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    """A command's message: %, CR and LF are percent-encoded (as @actions/core does)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A property value: as escape_data, plus ':' and ','."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(report: Report) -> str:
    lines = []
    for f, _ in report.sorted_pairs():
        props = {
            "file": f.path,
            "line": str(f.line),
            "col": str(f.col + 1),
            "endLine": str(f.end_line),
            "endColumn": str(f.end_col + 1),
            "title": f.code,
        }
        joined = ",".join(f"{k}={escape_property(v)}" for k, v in props.items())
        lines.append(f"::{_LEVEL[f.severity]} {joined}::{escape_data(f.message)}\n")
    return "".join(lines)
