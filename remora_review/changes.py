"""What changed: files and line sets from git (the index, a revision range, or every tracked file)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePath

from remora_review import git
from remora_review.diff_records import parse_raw
from remora_review.errors import UserError

_HUNK = re.compile(rb"^@@ -\d+(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_PY_SUFFIXES = (".py", ".pyi")


@dataclass(frozen=True)
class ChangedFile:
    """One file of a change. Line numbers are in the new version of the file."""

    path: str  # repository-relative, with '/'
    status: str  # "added" | "modified" | "renamed" | "copied" | "deleted"
    old_path: str | None = None  # for renames and copies
    added_lines: frozenset[int] = frozenset()  # lines the change adds or modifies
    hunk_lines: frozenset[int] = frozenset()  # added lines plus 3 lines of context around hunks
    whole_file: bool = False  # True for --all: every line is in scope
    # The new side's blob and mode as git's diff reports them (None: the working tree's text, or
    # not known), so the text is read by id without another lookup.
    object_id: str | None = None
    mode: str | None = None


@dataclass(frozen=True)
class ChangeSet:
    """The files of one change, and where their new text lives."""

    root: Path
    files: tuple[ChangedFile, ...]
    base: str | None  # the commit compared against (None: the empty tree or no comparison)
    head: str | None  # the commit holding the new side (None: the index or the working tree)
    description: str
    # Where the new side's text is: None = the working tree, ":" = the index, else a commit id.
    # Read it with `sources.read_source(root, path, max_size, at=changeset.source_rev)`.
    source_rev: str | None = None
    # Paths named explicitly (pre-commit passes them): python_files() keeps them whatever the suffix.
    explicit: frozenset[str] = frozenset()


def _require(root: Path, rev: str, role: str) -> str:
    sha = git.rev(root, rev)
    if sha is not None:
        return sha
    if git.is_shallow(root):
        raise UserError(f"{role} revision {rev} is not in this clone (shallow?); fetch more history: "
                        "git fetch --deepen=100 (or git fetch --unshallow)")
    raise UserError(f"unknown {role} revision: {rev}")


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


_ESCAPES = {ord("a"): 7, ord("b"): 8, ord("t"): 9, ord("n"): 10, ord("v"): 11, ord("f"): 12,
            ord("r"): 13, ord('"'): 34, ord("\\"): 92}


def _unquote(raw: bytes) -> bytes:
    """Undo git's C-style quoting of a path (`"a/t\\tab"`); unquoted paths pass through."""
    if not (raw.startswith(b'"') and raw.endswith(b'"') and len(raw) >= 2):
        return raw
    body, out, i = raw[1:-1], bytearray(), 0
    while i < len(body):
        c = body[i]
        if c == 92 and i + 1 < len(body):  # backslash
            nxt = body[i + 1]
            digits = body[i + 1:i + 4]
            if len(digits) == 3 and all(48 <= d <= 55 for d in digits):  # \ooo: one raw byte
                out.append(int(digits, 8) & 0xFF)
                i += 4
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return bytes(out)


def _new_path(line: bytes) -> str | None:
    """The path on a `+++ b/path` line, or None for /dev/null."""
    name = line[4:]
    if name.endswith(b"\t"):  # git appends a tab when the name contains a space
        name = name[:-1]
    name = _unquote(name)
    if name == b"/dev/null":
        return None
    return _decode(name[2:] if name.startswith(b"b/") else name)


def _parse_patch(raw: bytes) -> dict[str, tuple[frozenset[int], frozenset[int]]]:
    """`git diff -U3` → {new path: (added lines, hunk lines)}; sections without hunks are absent."""
    result: dict[str, tuple[set[int], set[int]]] = {}
    lines = raw.split(b"\n")
    i, path = 0, None
    while i < len(lines):
        line = lines[i]
        i += 1
        if line.startswith(b"diff --git "):
            path = None
        elif line.startswith(b"+++ ") and path is None:
            path = _new_path(line)
        elif line.startswith(b"@@ ") and (m := _HUNK.match(line)):
            old_left = int(m.group(1)) if m.group(1) is not None else 1
            new_no = int(m.group(2))
            new_left = int(m.group(3)) if m.group(3) is not None else 1
            added, hunk = result.setdefault(path, (set(), set())) if path else (set(), set())
            while (old_left > 0 or new_left > 0) and i < len(lines):
                body = lines[i]
                i += 1
                tag = body[:1]
                if tag == b"+":
                    added.add(new_no)
                    hunk.add(new_no)
                    new_no, new_left = new_no + 1, new_left - 1
                elif tag == b"-":
                    old_left -= 1
                elif tag == b"\\":  # "\ No newline at end of file"
                    continue
                else:  # context (a blank line is context too)
                    hunk.add(new_no)
                    new_no, new_left, old_left = new_no + 1, new_left - 1, old_left - 1
    return {p: (frozenset(a), frozenset(h)) for p, (a, h) in result.items()}


def _diff(root: Path, revs: Sequence[str], cached: bool = False) -> list[ChangedFile]:
    """Files and lines of `git diff [--cached] <revs>`."""
    raw, patch = git.diff(root, revs, cached=cached)
    lines = _parse_patch(patch)
    out = []
    for status, path, old, new_id, mode in parse_raw(raw):
        added, hunk = lines.get(path, (frozenset(), frozenset())) if status != "deleted" else (
            frozenset(), frozenset())
        out.append(ChangedFile(path, status, old, added, hunk, object_id=new_id, mode=mode))
    return out


def _normalise(path: str) -> str:
    return PurePath(path).as_posix()  # drops "./"; on Windows turns "\\" into "/"


def restrict(changeset: ChangeSet, paths: Sequence[str]) -> ChangeSet:
    """Keep only the named files (pre-commit passes them); a named file the change does not touch
    is kept as "modified" with no lines. Named files count as Python for python_files()."""
    explicit = frozenset(_normalise(p) for p in paths)
    by_path = {f.path: f for f in changeset.files if f.path in explicit}
    files = tuple(by_path.get(p, ChangedFile(p, "modified")) for p in sorted(explicit))
    return replace(changeset, files=files, explicit=explicit)


def staged_changes(root: Path, paths: Sequence[str] | None = None) -> ChangeSet:
    """The index against HEAD (the empty tree before the first commit), as a commit would record it.

    `paths` (pre-commit passes them, relative to root) limits the result: see restrict().
    """
    head = git.rev(root, "HEAD")
    files = _diff(root, [head or git.empty_tree(root)], cached=True)
    what = "staged changes" if head else "staged changes (initial commit)"
    changeset = ChangeSet(root, tuple(files), head, None, what, source_rev=":")
    return changeset if paths is None else restrict(changeset, paths)


def _split_spec(spec: str) -> tuple[str, str | None, bool]:
    """"A...B" → (A, B, True); "A..B" → (A, B, False); "A" → (A, None, False)."""
    for sep, merge_base in (("...", True), ("..", False)):
        if sep in spec:
            base, head = spec.split(sep, 1)
            return base or "HEAD", head or "HEAD", merge_base
    return spec, None, False


def range_changes(root: Path, spec: str) -> ChangeSet:
    """Changes of a revision range.

    "BASE": BASE against the working tree (like `git diff BASE`); "BASE..HEAD": BASE against HEAD;
    "BASE...HEAD": the merge-base of the two against HEAD (a pull request's view).
    """
    spec = spec.strip()
    if not spec:
        raise UserError("empty revision range")
    base_rev, head_rev, merge_base = _split_spec(spec)
    base = _require(root, base_rev, "base")
    if head_rev is None:
        files = _diff(root, [base])
        return ChangeSet(root, tuple(files), base, None, f"changes since {base_rev} (working tree)")
    head = _require(root, head_rev, "head")
    what = f"changes in {spec}"
    if merge_base:
        found = git.merge_base(root, base, head)
        if found is None:
            if git.is_shallow(root):
                raise UserError(f"no merge base of {base_rev} and {head_rev} in this clone (shallow?); "
                                "fetch more history: git fetch --deepen=100 (or git fetch --unshallow)")
            raise UserError(f"{base_rev} and {head_rev} have no common ancestor")
        base = found
        what += f" (since merge-base {base[:12]})"
    files = _diff(root, [base, head])
    return ChangeSet(root, tuple(files), base, head, what, source_rev=head)


def all_files(root: Path) -> ChangeSet:
    """Every tracked file (submodules left out), each wholly in scope."""
    seen: dict[str, None] = {}
    for entry in git.tree_entries(root, ":"):
        if entry.mode != "160000":
            seen.setdefault(entry.path, None)  # unmerged paths appear once per stage
    files = tuple(ChangedFile(p, "modified", whole_file=True) for p in seen)
    return ChangeSet(root, files, None, None, "all tracked files")


def unstaged_paths(root: Path) -> frozenset[str]:
    """Files whose working-tree text differs from the index: --fix must not write those in staged mode."""
    return git.unstaged_paths(root)


def is_python_path(path: str) -> bool:
    return path.endswith(_PY_SUFFIXES)


def python_files(changeset: ChangeSet) -> tuple[ChangedFile, ...]:
    """Files to check: *.py / *.pyi and any path named explicitly; deletions are left out."""
    return tuple(_python(changeset.files, changeset.explicit))


def _python(files: Iterable[ChangedFile], explicit: frozenset[str]) -> Iterator[ChangedFile]:
    for f in files:
        if f.status != "deleted" and (is_python_path(f.path) or f.path in explicit):
            yield f
