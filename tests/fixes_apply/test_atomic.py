"""atomic.py: the one writer every file of the product goes through."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from remora_review.atomic import TEMP_SUFFIX, atomic_writer, write_atomic


def test_replaces_content_keeping_the_mode(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("old")
    path.chmod(0o751)
    write_atomic(path, b"new")
    assert path.read_bytes() == b"new"
    assert path.stat().st_mode & 0o777 == 0o751
    write_atomic(path, b"x", 0o644)
    assert path.stat().st_mode & 0o777 == 0o644


def test_a_new_file_gets_what_open_would_give_it(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        write_atomic(tmp_path / "deep" / "new.txt", b"1", make_parents=True)
    finally:
        os.umask(umask)
    assert (tmp_path / "deep" / "new.txt").stat().st_mode & 0o777 == 0o644


def test_symlinks_followed_or_replaced(tmp_path: Path) -> None:
    real = tmp_path / "real.txt"
    real.write_text("r")
    link = tmp_path / "link.txt"
    link.symlink_to(real.name)
    write_atomic(link, b"through")  # a fixed source file: its target is written
    assert link.is_symlink() and real.read_bytes() == b"through"
    write_atomic(link, b"own", follow_symlinks=False)  # a hook: the link itself is replaced
    assert not link.is_symlink() and link.read_bytes() == b"own"
    assert real.read_bytes() == b"through"


def test_an_error_leaves_the_target_and_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "keep.txt"
    path.write_bytes(b"original")
    with pytest.raises(RuntimeError), atomic_writer(path) as fh:
        fh.write(b"half of it")
        raise RuntimeError("disk full")
    assert path.read_bytes() == b"original"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
    assert not list(tmp_path.glob(f"*{TEMP_SUFFIX}"))
