"""Reading a changed file's text, or saying plainly why it is skipped (binary, not UTF-8, too big...)."""

from __future__ import annotations

import codecs
import re
import stat
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

from remora_review.changes import run_git

_BINARY_PROBE = 8192
_NEWLINE = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class SourceFile:
    """A file's text with newlines turned into "\\n"; `newline` is the file's own (its first one)."""

    path: str
    text: str
    newline: str = "\n"
    bom: bool = False  # the file starts with a UTF-8 byte order mark (kept when a fix is written)


@dataclass(frozen=True)
class Skipped:
    """A file that is not checked, and the reason, e.g. "binary file" or "over 1000000 bytes"."""

    path: str
    reason: str


def decode_source(path: str, data: bytes) -> SourceFile | Skipped:
    """Turn a file's bytes into a SourceFile, or Skipped("binary file" | "not UTF-8")."""
    if b"\0" in data[:_BINARY_PROBE]:
        return Skipped(path, "binary file")
    bom = data.startswith(codecs.BOM_UTF8)
    try:
        text = data[len(codecs.BOM_UTF8) if bom else 0:].decode("utf-8")
    except UnicodeDecodeError:
        return Skipped(path, "not UTF-8")
    first = _NEWLINE.search(text)
    newline = first.group() if first else "\n"
    if "\r" in text:
        text = _NEWLINE.sub("\n", text)
    return SourceFile(path, text, newline, bom)


def read_source(root: Path, path: str, max_size: int, *, at: str | None = None) -> SourceFile | Skipped:
    """Read `path` (repository-relative) from the working tree, or from git when `at` is given.

    `at` is ChangeSet.source_rev: ":" reads the staged text, a commit id reads that commit's.
    Skip reasons: "missing", "a symlink", "not a regular file", "over N bytes", "binary file",
    "not UTF-8".
    """
    if at is not None:
        return _read_blob(root, path, max_size, at)
    full = root / path
    try:
        info = full.lstat()
    except FileNotFoundError:
        return Skipped(path, "missing")
    except OSError as e:
        return Skipped(path, f"unreadable: {e.strerror}")
    if stat.S_ISLNK(info.st_mode):
        return Skipped(path, "a symlink")
    if not stat.S_ISREG(info.st_mode):
        return Skipped(path, "not a regular file")
    if info.st_size > max_size:
        return Skipped(path, f"over {max_size} bytes")
    try:
        with open(full, "rb") as fh:
            data = fh.read(max_size + 1)
    except OSError as e:
        return Skipped(path, f"unreadable: {e.strerror}")
    if len(data) > max_size:  # grew since lstat
        return Skipped(path, f"over {max_size} bytes")
    return decode_source(path, data)


def _read_blob(root: Path, path: str, max_size: int, at: str) -> SourceFile | Skipped:
    if at == ":":
        _, out, _ = run_git(root, "--literal-pathspecs", "ls-files", "-s", "-z", "--", path)
    else:
        _, out, _ = run_git(root, "--literal-pathspecs", "ls-tree", "-z", at, "--", path)
    entry = _exact_entry(out, path)
    if entry is None:
        return Skipped(path, "missing")
    mode, sha = entry
    if mode == "120000":
        return Skipped(path, "a symlink")
    if not mode.startswith("100"):
        return Skipped(path, "not a regular file")
    _, size, _ = run_git(root, "cat-file", "-s", sha)
    if int(size.strip() or 0) > max_size:
        return Skipped(path, f"over {max_size} bytes")
    _, data, _ = run_git(root, "cat-file", "blob", sha)
    return decode_source(path, data)


def read_existing(root: Path, paths: Collection[str], max_size: int, *,
                  at: str | None = None) -> dict[str, str]:
    """The texts of those `paths` that exist as readable files (as `read_source` reads them, `at`
    alike); the rest, usually most of them, are left out. Git is asked once for which exist and
    through one `cat-file` process for their contents, so probing many candidates stays cheap."""
    if not paths:
        return {}
    if at is None:
        read = (read_source(root, p, max_size) for p in paths if (root / p).is_file())
        return {f.path: f.text for f in read if isinstance(f, SourceFile)}
    import git  # gitpython keeps one `cat-file --batch` process for all the blobs

    if at == ":":
        _, out, _ = run_git(root, "--literal-pathspecs", "ls-files", "-s", "-z", "--", *paths)
    else:
        _, out, _ = run_git(root, "--literal-pathspecs", "ls-tree", "-z", at, "--", *paths)
    repo_git = git.Git(str(root))
    texts = {}
    for entry in tree_entries(out):
        if not entry.mode.startswith("100") or entry.stage != "0" or entry.path not in paths:
            continue
        _, _, size, data = repo_git.get_object_data(entry.object_id)
        if size <= max_size:
            found = decode_source(entry.path, bytes(data))
            if isinstance(found, SourceFile):
                texts[entry.path] = found.text
    return texts


@dataclass(frozen=True)
class TreeEntry:
    path: str
    mode: str  # e.g. 100644; 120000 for a symlink
    object_id: str
    stage: str  # "0" unless the index holds a merge conflict


def tree_entries(listing: bytes) -> Iterator[TreeEntry]:
    """The entries of `git ls-files -s -z` or `git ls-tree -z` output."""
    for entry in listing.split(b"\0"):
        meta, sep, name = entry.partition(b"\t")
        parts = meta.decode().split()
        if not sep or len(parts) != 3:
            continue
        path = name.decode("utf-8", "surrogateescape")
        # ls-files -s: mode sha stage; ls-tree: mode type sha
        if parts[1] in ("blob", "tree", "commit"):
            yield TreeEntry(path, parts[0], parts[2], "0")
        else:
            yield TreeEntry(path, parts[0], parts[1], parts[2])


def _exact_entry(listing: bytes, path: str) -> tuple[str, str] | None:
    """(mode, object id) for `path` in `ls-files -s -z` or `ls-tree -z` output (stage 0 first)."""
    found = [e for e in tree_entries(listing) if e.path == path]
    if not found:
        return None
    entry = min(found, key=lambda e: e.stage)
    return entry.mode, entry.object_id

