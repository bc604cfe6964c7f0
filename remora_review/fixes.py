"""Primitives for fixes: apply and merge text edits, derive edits from two texts, write a fixed file."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from pathlib import Path

from remora_review.atomic import write_atomic as write_file
from remora_review.findings import Edit, Fix

# The newlines Python (and libcst) break lines on; positions count lines the same way.
_NEWLINE = re.compile(r"\r\n|\r|\n")

Span = tuple[int, int, str]  # start offset, end offset, replacement


class EditError(ValueError):
    """An edit points outside the text or overlaps another edit of the same batch (a bug in a check)."""


def split_lines(text: str) -> list[str]:
    """Lines with their newline kept; "a\\nb" → ["a\\n", "b"], "a\\n" → ["a\\n"]."""
    lines, start = [], 0
    for m in _NEWLINE.finditer(text):
        lines.append(text[start:m.end()])
        start = m.end()
    if start < len(text):
        lines.append(text[start:])
    return lines


class _Offsets:
    """Maps (1-based line, 0-based column) to an offset in one text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [m.end() for m in _NEWLINE.finditer(text)]

    def offset(self, line: int, col: int) -> int:
        if not 1 <= line <= len(self.starts) or col < 0:
            raise EditError(f"position {line}:{col} is outside the text ({len(self.starts)} lines)")
        start = self.starts[line - 1]
        end = self.starts[line] if line < len(self.starts) else len(self.text)
        content_end = end - len(_trailing_newline(self.text[start:end]))
        if start + col > content_end:
            raise EditError(f"column {col} is past the end of line {line}")
        return start + col

    def span(self, edit: Edit) -> Span:
        start = self.offset(edit.start_line, edit.start_col)
        end = self.offset(edit.end_line, edit.end_col)
        if end < start:
            raise EditError(f"edit ends before it starts: {edit}")
        return start, end, edit.content


def _trailing_newline(line: str) -> str:
    m = _NEWLINE.search(line)
    return line[m.start():] if m else ""


def _overlaps(a: Span, b: Span) -> bool:
    """Spans overlap when they share a character, or an insertion falls strictly inside the other."""
    if a[0] == a[1] and b[0] == b[1]:
        return False  # two insertions: both kept, in order
    return a[0] < b[1] and b[0] < a[1]


def _apply_spans(text: str, spans: Sequence[Span]) -> str:
    # Stable sort keeps same-point insertions in the order given; then splice back to front.
    ordered = sorted(enumerate(spans), key=lambda p: (p[1][0], p[1][1], p[0]))
    pieces, cursor = [], 0
    for _, (start, end, content) in ordered:
        if start < cursor:
            raise EditError("overlapping edits")
        pieces.append(text[cursor:start])
        pieces.append(content)
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    """Apply edits made against `text`; raise EditError on a bad position or overlapping edits."""
    offsets = _Offsets(text)
    return _apply_spans(text, [offsets.span(e) for e in edits])


def merge_fixes(text: str, fixes: Sequence[Fix]) -> tuple[str, list[int]]:
    """Apply as many fixes as fit together, in order; return the text and the applied indices.

    An edit identical to one already accepted is applied once (two fixes adding the same import);
    insertions at the same point are all kept, in fix order; a fix with an edit overlapping an
    accepted fix, or with a bad position, is skipped whole.
    """
    offsets = _Offsets(text)
    accepted: list[Span] = []
    applied: list[int] = []
    for index, fix in enumerate(fixes):
        try:
            spans = [offsets.span(e) for e in fix.edits]
        except EditError:
            continue
        fresh = [s for s in spans if s not in accepted]
        clash = any(_overlaps(a, b) for i, a in enumerate(fresh) for b in (*fresh[i + 1:], *accepted))
        if clash:
            continue
        accepted.extend(fresh)
        applied.append(index)
    return _apply_spans(text, accepted), applied


def edits_between(old: str, new: str) -> tuple[Edit, ...]:
    """Line-level edits turning `old` into `new` (from difflib), e.g. to wrap a libcst rewrite as a Fix."""
    a, b = split_lines(old), split_lines(new)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    ends_open = bool(a) and not _trailing_newline(a[-1])

    def position(index: int) -> tuple[int, int]:
        if index == len(a) and ends_open:  # no line after the last one: point at its end
            return len(a), len(a[-1])
        return index + 1, 0

    edits = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        (sl, sc), (el, ec) = position(i1), position(i2)
        edits.append(Edit(sl, sc, el, ec, "".join(b[j1:j2])))
    return tuple(edits)


def write_atomic(path: Path, text: str, newline: str = "\n", *, bom: bool = False) -> None:
    """Write a fixed source `text` (newlines as "\\n") with the file's own newline and byte order
    mark, through the one atomic writer: mode bits kept, a symlink written through to its target,
    the original untouched on any error."""
    if newline != "\n" or "\r" in text:
        text = _NEWLINE.sub(newline, text)
    write_file(path, (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))


def unified_diff(path: str, old: str, new: str) -> str:
    """A git-style unified diff (`--- a/path`, `+++ b/path`, 3 lines of context); "" when equal."""
    if old == new:
        return ""
    a, b = _git_lines(old), _git_lines(new)
    tab = "\t" if " " in path else ""  # as git writes it, so that `patch` finds the name's end
    out = []
    for i, line in enumerate(difflib.unified_diff(a, b, f"a/{path}{tab}", f"b/{path}{tab}", n=3)):
        if i < 2 or line.endswith("\n"):  # the two header lines end with "\n" too
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)


def _git_lines(text: str) -> list[str]:
    """Split on "\\n" only, as git does ("\\r" stays part of the line)."""
    lines = text.split("\n")
    out = [line + "\n" for line in lines[:-1]]
    if lines[-1]:
        out.append(lines[-1])
    return out
