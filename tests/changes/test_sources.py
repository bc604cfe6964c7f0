"""sources.py: reading changed files from disk, the index or a commit, and the skip reasons."""

from __future__ import annotations

import os

from remora_review.sources import Skipped, SourceFile, read_source

from .gitrepo import GitRepo


def test_plain_file_and_newlines(repo: GitRepo) -> None:
    repo.write("unix.py", "a = 1\nb = 2\n")
    repo.write("dos.py", "a = 1\r\nb = 2\r\n")
    repo.write("bom.py", "\ufeffx = 'é'\n")
    assert read_source(repo.root, "unix.py", 1000) == SourceFile("unix.py", "a = 1\nb = 2\n", "\n")
    assert read_source(repo.root, "dos.py", 1000) == SourceFile("dos.py", "a = 1\nb = 2\n", "\r\n")
    assert read_source(repo.root, "bom.py", 1000) == SourceFile("bom.py", "x = 'é'\n", "\n", bom=True)


def test_skip_reasons(repo: GitRepo) -> None:
    repo.write("bin.py", b"x = 1\n\0\0\0")
    repo.write("latin.py", "# -*- coding: latin-1 -*-\nname = 'café'\n".encode("latin-1"))
    repo.write("big.py", "x = 1\n" * 100)
    repo.write("target.py", "x = 1\n")
    os.symlink("target.py", repo.root / "link.py")
    (repo.root / "adir.py").mkdir()
    expect = {
        "bin.py": "binary file",
        "latin.py": "not UTF-8",
        "big.py": "over 500 bytes",
        "gone.py": "missing",
        "link.py": "a symlink",
        "adir.py": "not a regular file",
    }
    for path, reason in expect.items():
        assert read_source(repo.root, path, 500) == Skipped(path, reason)
    assert isinstance(read_source(repo.root, "big.py", 600), SourceFile)


def test_reads_the_index_and_commits(repo: GitRepo) -> None:
    repo.write("a.py", "committed = 1\n")
    first = repo.commit()
    repo.write("a.py", "staged = 2\n")
    repo.git("add", "a.py")
    repo.write("a.py", "unstaged = 3\n")
    assert read_source(repo.root, "a.py", 1000, at=":").text == "staged = 2\n"  # type: ignore[union-attr]
    assert read_source(repo.root, "a.py", 1000, at=first).text == "committed = 1\n"  # type: ignore[union-attr]
    assert read_source(repo.root, "a.py", 1000).text == "unstaged = 3\n"  # type: ignore[union-attr]
    assert read_source(repo.root, "nope.py", 1000, at=":") == Skipped("nope.py", "missing")
    assert read_source(repo.root, "a.py", 5, at=":") == Skipped("a.py", "over 5 bytes")


def test_git_side_skip_reasons(repo: GitRepo) -> None:
    repo.write("target.py", "x = 1\n")
    os.symlink("target.py", repo.root / "link.py")
    repo.write("bin.py", b"\0binary")
    repo.write("dir/inner.py", "y = 2\n")
    head = repo.commit()
    for at in (":", head):
        assert read_source(repo.root, "link.py", 100, at=at) == Skipped("link.py", "a symlink")
        assert read_source(repo.root, "bin.py", 100, at=at) == Skipped("bin.py", "binary file")
        assert read_source(repo.root, "dir/inner.py", 100, at=at) == SourceFile(
            "dir/inner.py", "y = 2\n")
    # a directory is not a prefix match for a file of the same name
    assert read_source(repo.root, "dir", 100, at=head) == Skipped("dir", "not a regular file")
