"""Output formats: each turns a Report into text and only reads findings; chosen from FORMATTERS."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from remora_review.findings import Finding


def _no_rules() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Report:
    """What one run found: findings with their fingerprints (same order), notes and counts."""

    findings: tuple[Finding, ...]
    fingerprints: tuple[str, ...]
    notes: tuple[str, ...] = ()  # skipped files and the like; the CLI prints them to stderr
    fixed: int = 0  # fixes applied
    files_checked: int = 0
    # One-line descriptions of rule codes, for SARIF's rule list; optional.
    rule_help: Mapping[str, str] = field(default_factory=_no_rules)

    def __post_init__(self) -> None:
        if len(self.findings) != len(self.fingerprints):
            raise ValueError("Report needs one fingerprint per finding")

    def sorted_pairs(self) -> list[tuple[Finding, str]]:
        """(finding, fingerprint) ordered by path, line, column, code."""
        pairs = zip(self.findings, self.fingerprints)
        return sorted(pairs, key=lambda p: (p[0].path, p[0].line, p[0].col, p[0].code, p[1]))


# Imported after Report: the formatters refer to it only in annotations.
from remora_review.output.github import format_github  # noqa: E402
from remora_review.output.json_format import format_json  # noqa: E402
from remora_review.output.sarif import format_sarif  # noqa: E402
from remora_review.output.text import format_text  # noqa: E402

FORMATTERS: Mapping[str, Callable[[Report], str]] = MappingProxyType({
    "text": format_text,
    "json": format_json,
    "sarif": format_sarif,
    "github": format_github,
})

__all__ = ["FORMATTERS", "Report", "format_github", "format_json", "format_sarif", "format_text"]
