"""Ruff-like text: `path:line:col: CODE [*] message` per finding, then one summary line."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from remora_review.output import Report


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def format_text(report: Report) -> str:
    """Findings sorted by path, line, column and code; "[*]" marks a fixable one; columns 1-based."""
    lines = []
    for finding, _ in report.sorted_pairs():
        marker = "[*] " if finding.fix else ""
        message = " ".join(finding.message.split())  # one line per finding, whatever the message
        lines.append(f"{finding.path}:{finding.line}:{finding.col + 1}: {finding.code} {marker}{message}")
    if report.fixed:
        lines.append(f"Fixed {_plural(report.fixed, 'finding')}.")
    if report.findings:
        fixable = sum(1 for f in report.findings if f.fix)
        tail = f" ({fixable} fixable with --fix)" if fixable else ""
        lines.append(f"Found {_plural(len(report.findings), 'finding')}{tail}.")
    else:
        lines.append("All checks passed.")
    return "\n".join(lines) + "\n"
