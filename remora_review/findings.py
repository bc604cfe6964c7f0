"""Findings and fixes: plain values that checks produce and output formats read."""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, order=True)
class Edit:
    """Replace the text between two positions (1-based lines, 0-based code-point columns)."""

    start_line: int
    start_col: int
    end_line: int
    end_col: int
    content: str

    def to_json(self) -> dict[str, Any]:
        return {
            "start": {"line": self.start_line, "column": self.start_col + 1},
            "end": {"line": self.end_line, "column": self.end_col + 1},
            "content": self.content,
        }


@dataclass(frozen=True)
class Fix:
    """Text edits against the file as the check saw it; applied together or not at all."""

    message: str
    edits: tuple[Edit, ...]

    def to_json(self) -> dict[str, Any]:
        return {"message": self.message, "edits": [e.to_json() for e in self.edits]}


def _freeze(data: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(data))


@dataclass(frozen=True)
class Finding:
    """One problem at one place. `path` is relative to the repository root, with '/'."""

    path: str
    line: int
    col: int
    end_line: int
    end_col: int
    code: str
    message: str
    severity: Severity = Severity.WARNING
    confidence: float = 1.0
    pack: str | None = None
    fix: Fix | None = None
    data: Mapping[str, Any] = field(default_factory=lambda: _freeze({}))
    # Lines the finding is about, for diff filtering: a type hint is reported at the parameter
    # but belongs to a changed function. Defaults to line..end_line.
    related: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.data, MappingProxyType):
            object.__setattr__(self, "data", _freeze(self.data))

    @property
    def related_lines(self) -> tuple[int, int]:
        return self.related if self.related is not None else (self.line, self.end_line)

    def fingerprint(self, text: str) -> str:
        """Who reported what on which code: pack, code, path, the subject (parameter, callee), the
        flagged lines with whitespace normalised and the nearest non-blank line on either side.

        `text` is the file the finding's lines refer to. No line number and no commit id goes in,
        so the fingerprint survives code moving, a rebase and a force push; editing the flagged
        code or its neighbours makes it a new finding.
        """
        lines = text.splitlines()
        flagged = [_normal(t) for t in lines[max(self.line - 1, 0):max(self.end_line, self.line)]]
        before = next((_normal(t) for t in reversed(lines[:max(self.line - 1, 0)]) if t.strip()), "")
        after = next((_normal(t) for t in lines[max(self.end_line, self.line):] if t.strip()), "")
        subject = json.dumps(
            {k: self.data[k] for k in ("parameter", "callee") if k in self.data}, sort_keys=True
        )
        raw = "\x1f".join((self.pack or "", self.code, self.path, subject, before,
                           "\n".join(flagged), after))
        return hashlib.sha256(raw.encode()).hexdigest()[:16]

    def to_json(self, fingerprint: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": self.path,
            "line": self.line,
            "column": self.col + 1,
            "end_line": self.end_line,
            "end_column": self.end_col + 1,
            "code": self.code,
            "message": self.message,
            "severity": self.severity.value,
            "confidence": round(self.confidence, 4),
            "pack": self.pack,
            "fix": self.fix.to_json() if self.fix else None,
            "data": _jsonable(self.data),
        }
        if fingerprint is not None:
            out["fingerprint"] = fingerprint
        return out


def _normal(line: str) -> str:
    return " ".join(line.split())  # re-indenting or re-spacing code keeps its fingerprint


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
