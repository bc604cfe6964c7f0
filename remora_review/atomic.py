"""The one atomic file writer: a temp file beside the target, flushed, then renamed over it.

A reader (a concurrent run, an editor, git) sees the old file or the new one, never half of one; on
any error the target is untouched and the temp file is gone. Fixes, hooks, pack files and
archives, caches, training outputs and the server's files all write through here; `atomic_directory`
does the same for a directory of files (a saved adapter or model).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

TEMP_SUFFIX = ".remora-tmp"


def _default_mode(target: Path) -> int:
    """The target's own mode bits, or what a plain `open()` would give a new file (0666 - umask)."""
    try:
        return os.stat(target).st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextlib.contextmanager
def atomic_writer(path: Path, mode: int | None = None, *, follow_symlinks: bool = True,
                  make_parents: bool = False) -> Iterator[BinaryIO]:
    """A binary file to write `path`'s new content into; it replaces `path` when the block ends
    without an error.

    `mode`: the new file's permission bits (default: keep the old file's, else 0666 - umask).
    `follow_symlinks`: a symlink at `path` has its target written (a fixed source file), else the
    link itself is replaced (a hook).
    """
    target = Path(os.path.realpath(path)) if follow_symlinks else Path(path)
    if make_parents:
        target.parent.mkdir(parents=True, exist_ok=True)
    bits = _default_mode(target) if mode is None else mode
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
            os.fchmod(fh.fileno(), bits)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(target.parent)


def write_atomic(path: Path, data: bytes, mode: int | None = None, *,
                 follow_symlinks: bool = True, make_parents: bool = False) -> None:
    """Replace `path`'s content with `data` atomically (see atomic_writer)."""
    with atomic_writer(path, mode, follow_symlinks=follow_symlinks,
                       make_parents=make_parents) as fh:
        fh.write(data)


@contextlib.contextmanager
def atomic_directory(path: Path) -> Iterator[Path]:
    """An empty directory beside `path` to fill; it replaces `path` (and whatever was there) when
    the block ends without an error, and is removed when it raises (a saved model's files)."""
    import shutil  # only writers of directories pay for it

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (a crash right after must not bring the old file back)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
