"""Reading a changed file's text, or saying plainly why it is skipped (binary, not UTF-8, too big...)."""

from __future__ import annotations

import stat
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from remora_review import git, source_bytes


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
    decoded = source_bytes.decode(data)
    if isinstance(decoded, str):
        return Skipped(path, decoded)
    return SourceFile(path, *decoded)


def read_source(root: Path, path: str, max_size: int, *, at: str | None = None,
                blobs: git.Blobs | None = None, entry: git.TreeEntry | None = None,
                ) -> SourceFile | Skipped:
    """Read `path` (repository-relative) from the working tree, or from git when `at` is given.

    `at` is ChangeSet.source_rev: ":" reads the staged text, a commit id reads that commit's.
    `blobs` is the run's blob reader (one is opened for this call when it is None); `entry`, when
    the caller already knows the path's mode and blob id (a diff reports them), spares the lookup.
    Skip reasons: "missing", "a symlink", "not a regular file", "over N bytes", "binary file",
    "not UTF-8".
    """
    if at is not None:
        if blobs is None:
            with git.Blobs(root) as own:
                return _read_blob(root, path, max_size, at, own, entry)
        return _read_blob(root, path, max_size, at, blobs, entry)
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


def _read_blob(root: Path, path: str, max_size: int, at: str, blobs: git.Blobs,
               entry: git.TreeEntry | None) -> SourceFile | Skipped:
    if entry is None:
        found = [e for e in git.tree_entries(root, at, [path]) if e.path == path]
        if not found:
            return Skipped(path, "missing")
        entry = min(found, key=lambda e: e.stage)  # stage 0 first
    if entry.mode == "120000":
        return Skipped(path, "a symlink")
    if not entry.is_file:
        return Skipped(path, "not a regular file")
    try:
        data = blobs.read(entry.object_id, max_size)
    except git.BlobTooBig:
        return Skipped(path, f"over {max_size} bytes")
    if data is None:
        return Skipped(path, "missing")
    return decode_source(path, data)


def read_existing(root: Path, paths: Collection[str], max_size: int, *,
                  at: str | None = None, blobs: git.Blobs | None = None) -> dict[str, str]:
    """The texts of those `paths` that exist as readable files (as `read_source` reads them, `at`
    alike); the rest, usually most of them, are left out. Git is asked once for which exist and
    through the run's one `cat-file` process for their contents, so probing many candidates stays
    cheap."""
    if not paths:
        return {}
    if at is None:
        read = (read_source(root, p, max_size) for p in paths if (root / p).is_file())
        return {f.path: f.text for f in read if isinstance(f, SourceFile)}
    if blobs is None:
        with git.Blobs(root) as own:
            return read_existing(root, paths, max_size, at=at, blobs=own)
    texts = {}
    for entry in git.tree_entries(root, at, sorted(paths)):
        if not entry.is_file or entry.stage != "0" or entry.path not in paths:
            continue
        found = _read_blob(root, entry.path, max_size, at, blobs, entry)
        if isinstance(found, SourceFile):
            texts[entry.path] = found.text
    return texts
