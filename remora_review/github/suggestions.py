"""Findings and diff hunks -> review comments GitHub accepts, with ```suggestion blocks, checked here.

Pure: no network, no git. GitHub's rules for a review comment, which `comment_problem` checks
before anything is posted: the line is on the RIGHT side inside one of the file's diff hunks; a
multi-line comment has `start_line < line`, both in the same hunk. A suggestion replaces the
whole lines start_line..line; every suggestion must parse on its own (libcst), and all of a
file's suggestions applied together must compile, or they are reported in the review body.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from remora_review.findings import Finding, Severity
from remora_review.fixes import EditError, apply_edits, split_lines, unified_diff

MARKER = "remora-review fingerprint"
_MARKER_RE = re.compile(r"<!-- remora-review fingerprint: ([0-9a-f]{16}) -->")
_SEVERITY_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass(frozen=True)
class Hunk:
    """Lines start..end (1-based, inclusive) of the new file that one diff hunk shows."""

    start: int
    end: int

    def __contains__(self, line: object) -> bool:
        return isinstance(line, int) and self.start <= line <= self.end


def hunks_from_lines(lines: Iterable[int]) -> tuple[Hunk, ...]:
    """Hunks from the set of new-side lines they show: git separates two hunks by at least one
    line outside both, so each run of consecutive lines is one hunk."""
    out: list[Hunk] = []
    for line in sorted(set(lines)):
        if out and line == out[-1].end + 1:
            out[-1] = Hunk(out[-1].start, line)
        else:
            out.append(Hunk(line, line))
    return tuple(out)


@dataclass(frozen=True)
class InlineComment:
    """One review comment on lines of the head commit's version of `path`."""

    path: str
    line: int
    start_line: int | None  # set for a multi-line comment
    body: str
    fingerprint: str
    severity: Severity
    suggestion: str | None = None  # the replacement of lines start_line..line, for validation

    @property
    def first_line(self) -> int:
        return self.start_line if self.start_line is not None else self.line

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "line": self.line, "side": "RIGHT", "body": self.body}
        if self.start_line is not None:
            out |= {"start_line": self.start_line, "start_side": "RIGHT"}
        return out


@dataclass(frozen=True)
class Leftover:
    """A finding reported in the review body: why it is not inline, and its fix as a patch."""

    finding: Finding
    fingerprint: str
    reason: str
    patch: str | None = None


@dataclass(frozen=True)
class ReviewPlan:
    comments: tuple[InlineComment, ...]
    leftovers: tuple[Leftover, ...]

    @property
    def fingerprints(self) -> frozenset[str]:
        return frozenset(c.fingerprint for c in self.comments) | {x.fingerprint for x in self.leftovers}


def marker(fingerprint: str) -> str:
    return f"<!-- {MARKER}: {fingerprint} -->"


def markers_in(text: str | None) -> frozenset[str]:
    """The fingerprints a comment or review body carries."""
    return frozenset(_MARKER_RE.findall(text or ""))


def fence_for(content: str) -> str:
    """Backticks longer than any run inside the content, so the block cannot end early."""
    longest = max((len(m) for m in re.findall(r"`+", content)), default=0)
    return "`" * max(3, longest + 1)


def _plain(text: str) -> str:
    # Finding messages quote the user's code: keep them from opening an HTML comment that
    # would hide the rest of the comment or imitate a fingerprint marker.
    return text.replace("<!--", "&lt;!--").replace("-->", "--&gt;")


def _comment_body(finding: Finding, fingerprint: str, suggestion: str | None) -> str:
    parts = [f"**{finding.code}** {_plain(finding.message)}"]
    if suggestion is not None:
        fence = fence_for(suggestion)
        parts.append(f"{fence}suggestion\n{suggestion}{fence}")
    where = f"{finding.pack} pack · " if finding.pack else ""
    parts.append(f"<sub>remora-review · {where}confidence {finding.confidence:.0%}</sub>\n"
                 f"{marker(fingerprint)}")
    return "\n\n".join(parts)


def _hunk_of(hunks: Sequence[Hunk], line: int) -> Hunk | None:
    return next((h for h in hunks if line in h), None)


def _anchor(finding: Finding, hunks: Sequence[Hunk]) -> int | None:
    """The finding's own line if the diff shows it, else the nearest shown line it is about."""
    if _hunk_of(hunks, finding.line):
        return finding.line
    lo, hi = finding.related_lines
    lines = range(min(lo, finding.line), max(hi, finding.end_line) + 1)
    shown = [n for n in lines if _hunk_of(hunks, n)]
    return min(shown, key=lambda n: (abs(n - finding.line), n)) if shown else None


@dataclass(frozen=True)
class _Replacement:
    """Old lines first..last (1-based, inclusive) become `lines` (each with its newline)."""

    first: int
    last: int
    lines: tuple[str, ...]


def _replacements(old: str, new: str) -> list[_Replacement]:
    """Whole-line replacements turning old into new; a pure insertion takes the line after it
    (or, at the end of the file, the line before), because a suggestion replaces lines."""
    a, b = split_lines(old), split_lines(new)
    out = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        if i1 < i2:
            out.append(_Replacement(i1 + 1, i2, tuple(b[j1:j2])))
        elif i1 < len(a):
            out.append(_Replacement(i1 + 1, i1 + 1, (*b[j1:j2], a[i1])))
        elif a:
            out.append(_Replacement(i1, i1, (a[i1 - 1], *b[j1:j2])))
    return out


def _joined(old: str, parts: Sequence[_Replacement]) -> _Replacement:
    """One replacement covering several, the unchanged lines between them kept."""
    a = split_lines(old)
    first, last = parts[0].first, parts[-1].last
    lines: list[str] = []
    cursor = first
    for part in parts:
        lines.extend(a[cursor - 1:part.first - 1])
        lines.extend(part.lines)
        cursor = part.last + 1
    return _Replacement(first, last, tuple(lines))


def _suggestion_text(lines: Sequence[str]) -> str:
    # GitHub shows each line of the block as a line of the file; the newline style stays the file's.
    return "".join(line.rstrip("\r\n") + "\n" for line in lines)


def _top_level_starts(text: str) -> frozenset[int]:
    """Lines where a module-level statement starts (decorators included): an import may go there."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return frozenset()
    starts = set()
    for node in tree.body:
        decorators = getattr(node, "decorator_list", [])
        starts.add(min([node.lineno, *(d.lineno for d in decorators)]))
    return frozenset(starts)


def _parses(text: str) -> bool:
    import libcst as cst

    try:
        cst.parse_module(text)
    except Exception:  # libcst raises ParserSyntaxError, and others on odd input
        return False
    return True


def _compiles(text: str, path: str) -> bool:
    try:
        compile(text, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


def _apply(old: str, replacement: _Replacement) -> str:
    a = split_lines(old)
    return "".join([*a[:replacement.first - 1], *replacement.lines, *a[replacement.last:]])


def _imports(lines: Sequence[str]) -> list[ast.Import | ast.ImportFrom] | None:
    try:
        body = ast.parse("".join(line.lstrip() for line in lines)).body
    except (SyntaxError, ValueError):
        return None
    if not all(isinstance(n, (ast.Import, ast.ImportFrom)) for n in body):
        return None
    return [n for n in body if isinstance(n, (ast.Import, ast.ImportFrom))]


def _added_imports(old: Sequence[str], new: Sequence[str]) -> list[str] | None:
    """The import statements a change of import lines adds, each as a line of its own
    (`from x import A` -> `from x import Session, A` adds `from x import Session`); None when
    the change is anything but added imports."""
    before, after = _imports(old), _imports(new)
    if before is None or after is None:
        return None
    had = {(type(n).__name__, getattr(n, "module", None), getattr(n, "level", 0), a.name, a.asname)
           for n in before for a in n.names}
    out = []
    for node in after:
        names = [a for a in node.names if (type(node).__name__, getattr(node, "module", None),
                                           getattr(node, "level", 0), a.name, a.asname) not in had]
        if not names:
            continue
        listed = ", ".join(f"{a.name} as {a.asname}" if a.asname else a.name for a in names)
        if isinstance(node, ast.ImportFrom):
            out.append(f"from {'.' * node.level}{node.module or ''} import {listed}\n")
        else:
            out.append(f"import {listed}\n")
    return out


def _moved_inserts(old: str, primary: _Replacement, others: Sequence[_Replacement],
                   hunk: Hunk) -> _Replacement | None:
    """Imports a fix adds outside the diff, moved to the nearest module-level statement start at
    or above the primary change within its hunk: one suggestion then carries both, and the file
    stays valid."""
    a = split_lines(old)
    inserted: list[str] = []
    for part in others:
        before, after = a[part.first - 1:part.last], list(part.lines)
        while before and after and before[0] == after[0]:  # the line a pure insertion keeps
            before, after = before[1:], after[1:]
        while before and after and before[-1] == after[-1]:
            before, after = before[:-1], after[:-1]
        added = _added_imports(before, after)
        if added is None:
            return None
        inserted.extend(added)
    candidates = [n for n in _top_level_starts(old) if hunk.start <= n <= primary.first]
    if not candidates:
        return None
    at = max(candidates)
    if inserted and a[at - 1].startswith(("def ", "async def ", "class ", "@")):
        inserted += ["\n", "\n"]  # the blank lines PEP 8 keeps between imports and a definition
    lines = [*inserted, *a[at - 1:primary.first - 1], *primary.lines]
    return _Replacement(at, primary.last, tuple(lines))


def _suggest(finding: Finding, old: str, hunks: Sequence[Hunk]) -> tuple[_Replacement | None, str]:
    """The one replacement that carries the finding's fix inside a hunk, or None and why not."""
    assert finding.fix is not None
    try:
        new = apply_edits(old, finding.fix.edits)
    except EditError as e:
        return None, f"its fix does not apply ({e})"
    parts = _replacements(old, new)
    if not parts:
        return None, "its fix changes nothing"
    inside = [p for p in parts if _hunk_of(hunks, p.first) and _hunk_of(hunks, p.last)]
    near = [p for p in inside if p.first <= finding.line <= p.last] or inside
    if not near:
        return None, "its fix changes lines outside the diff"
    primary = near[0]
    hunk = _hunk_of(hunks, primary.first)
    assert hunk is not None
    same = [p for p in parts if p.first in hunk and p.last in hunk]
    others = [p for p in parts if p not in same]
    joined = _joined(old, same)
    if others:
        moved = _moved_inserts(old, joined, others, hunk)
        if moved is None:
            return None, "its fix also changes lines outside the diff"
        joined = moved
    if not _parses(_apply(old, joined)):
        return None, "the suggested change does not parse"
    return joined, ""


def plan_review(items: Sequence[tuple[Finding, str]], texts: Mapping[str, str],
                hunks: Mapping[str, Sequence[Hunk]], max_comments: int) -> ReviewPlan:
    """Which findings become inline comments (with suggestions where a fix fits the diff) and
    which go to the review body; at most `max_comments` inline, errors first."""
    comments: list[InlineComment] = []
    leftovers: list[Leftover] = []
    ordered = sorted(items, key=lambda p: (_SEVERITY_RANK[p[0].severity], p[0].path, p[0].line,
                                           p[0].col, p[0].code, p[1]))
    for finding, fp in ordered:
        text, file_hunks = texts.get(finding.path), hunks.get(finding.path, ())
        anchor = _anchor(finding, file_hunks)
        patch = None
        if finding.fix is not None and text is not None:
            try:
                patch = unified_diff(finding.path, text, apply_edits(text, finding.fix.edits)) or None
            except EditError:
                patch = None
        if text is None or anchor is None:
            leftovers.append(Leftover(finding, fp, "outside the diff", patch))
            continue
        if finding.fix is not None:
            replacement, why = _suggest(finding, text, file_hunks)
            if replacement is None:
                leftovers.append(Leftover(finding, fp, f"no inline suggestion: {why}", patch))
                continue
            suggestion = _suggestion_text(replacement.lines)
            start = replacement.first if replacement.first < replacement.last else None
            comments.append(InlineComment(finding.path, replacement.last, start,
                                          _comment_body(finding, fp, suggestion), fp,
                                          finding.severity, suggestion))
        else:
            comments.append(InlineComment(finding.path, anchor, None,
                                          _comment_body(finding, fp, None), fp, finding.severity))
    findings = {fp: f for f, fp in items}
    for comment in list(comments):  # the last gate: what GitHub would refuse is never posted
        problem = comment_problem(comment, hunks.get(comment.path, ()))
        if problem is not None:
            comments.remove(comment)
            leftovers.append(Leftover(findings[comment.fingerprint], comment.fingerprint, problem))
    kept, clashing = _compatible(comments, texts)
    leftovers.extend(Leftover(findings[c.fingerprint], c.fingerprint, why) for c, why in clashing)
    inline, over = kept[:max(max_comments, 0)], kept[max(max_comments, 0):]
    leftovers.extend(Leftover(findings[c.fingerprint], c.fingerprint,
                              f"over the limit of {max_comments} inline comments") for c in over)
    return ReviewPlan(tuple(inline), tuple(leftovers))


def _compatible(comments: Sequence[InlineComment], texts: Mapping[str, str]
                ) -> tuple[list[InlineComment], list[tuple[InlineComment, str]]]:
    """Keep suggestions that can all be committed together: no two replace the same lines, and
    the file with all of them applied compiles. Comments without a suggestion always stay."""
    kept: list[InlineComment] = []
    dropped: list[tuple[InlineComment, str]] = []
    for comment in comments:
        if comment.suggestion is None:
            kept.append(comment)
            continue
        mine = [c for c in kept if c.path == comment.path and c.suggestion is not None]
        if any(c.first_line <= comment.line and comment.first_line <= c.line for c in mine):
            dropped.append((comment, "its suggestion overlaps another one's lines"))
            continue
        combined = apply_suggestions(texts[comment.path], [*mine, comment])
        if not _compiles(combined, comment.path):
            dropped.append((comment, "its suggestion does not compile beside the others"))
            continue
        kept.append(comment)
    return kept, dropped


def apply_suggestions(text: str, comments: Sequence[InlineComment]) -> str:
    """The file as GitHub's "commit suggestions" leaves it (non-overlapping suggestions)."""
    a = split_lines(text)
    newline = "\r\n" if a and a[0].endswith("\r\n") else "\n"
    for c in sorted((c for c in comments if c.suggestion is not None), key=lambda c: -c.line):
        assert c.suggestion is not None
        lines = [line + newline for line in c.suggestion.split("\n")[:-1]]
        a[c.first_line - 1:c.line] = lines
    return "".join(a)


def comment_problem(comment: InlineComment, hunks: Sequence[Hunk]) -> str | None:
    """Why GitHub would refuse this comment (422), or None."""
    hunk = _hunk_of(hunks, comment.line)
    if hunk is None:
        return f"{comment.path}:{comment.line} is not inside the diff"
    if comment.start_line is not None:
        if comment.start_line >= comment.line:
            return f"{comment.path}: start_line {comment.start_line} is not before line {comment.line}"
        if comment.start_line not in hunk:
            return f"{comment.path}:{comment.start_line}-{comment.line} crosses diff hunks"
    return None
