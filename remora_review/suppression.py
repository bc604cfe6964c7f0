"""`# remora: ignore[CODE]` comments: which findings a file's comments suppress.

Forms (codes match by prefix and case-insensitively: `RR1` suppresses RR101):

- `x = f(s)  # remora: ignore[RR101, RR2]` suppresses those codes on that line;
  `# remora: ignore` (no brackets, or empty brackets) suppresses every code on that line.
- `# remora: ignore-file[RR101]` / `# remora: ignore-file`, a comment on a line of its own anywhere
  in the file, suppresses those codes (or every code) in the whole file. After code it has no effect.

A line comment suppresses a finding when it sits on the finding's first line (like noqa), or on the
first line of the finding's related span (`Finding.related`): a type-hint finding reported at a
parameter of a multi-line signature is suppressed from the `def` line. A line comment never reaches
the next line: put it at the end of the line it is about. Comments are found with `tokenize`, so text
inside strings does not count; when the file does not tokenize (a syntax error) each line is
scanned with a regular expression instead.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from remora_review.findings import Finding

_DIRECTIVE = re.compile(
    r"#\s*remora\s*:\s*ignore(?P<file>-file)?(?![\w-])(?:\[(?P<codes>[^\]]*)\])?", re.IGNORECASE
)
_NEWLINE = re.compile(r"\r\n|\r|\n")
ALL_CODES: frozenset[str] = frozenset({""})  # the empty prefix matches every code


def _empty_lines() -> Mapping[int, frozenset[str]]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Suppressions:
    """Code prefixes suppressed per line and for the whole file (upper-case; "" means every code)."""

    lines: Mapping[int, frozenset[str]] = field(default_factory=_empty_lines)
    file: frozenset[str] = frozenset()

    def suppresses(self, finding: Finding) -> bool:
        code = finding.code.upper()
        candidates = [self.file, self.lines.get(finding.line, frozenset())]
        related_start = finding.related_lines[0]
        if related_start != finding.line:
            candidates.append(self.lines.get(related_start, frozenset()))
        return any(code.startswith(prefix) for codes in candidates for prefix in codes)


def _codes(raw: str | None) -> frozenset[str]:
    codes = frozenset(c.strip().upper() for c in (raw or "").split(",") if c.strip())
    return codes or ALL_CODES


def _comments(text: str) -> Iterator[tuple[int, str, bool]]:
    """(line, comment text, alone on its line) for each comment; regex fallback on bad syntax."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        for number, line in enumerate(_NEWLINE.split(text), start=1):
            at = line.find("#")
            if at >= 0:
                yield number, line[at:], not line[:at].strip()
        return
    for tok in tokens:
        if tok.type == tokenize.COMMENT:
            yield tok.start[0], tok.string, not tok.line[: tok.start[1]].strip()


def parse_suppressions(text: str) -> Suppressions:
    """Find the suppression comments of one file's text."""
    if "remora" not in text.lower():  # most files: no tokenizing at all
        return Suppressions()
    lines: dict[int, frozenset[str]] = {}
    whole: frozenset[str] = frozenset()
    for number, comment, alone in _comments(text):
        for m in _DIRECTIVE.finditer(comment):
            codes = _codes(m.group("codes"))
            if m.group("file"):
                if alone:
                    whole |= codes
            else:
                lines[number] = lines.get(number, frozenset()) | codes
    return Suppressions(MappingProxyType(lines), whole)
