"""git.py against real repositories: the blob reader, tree entries, the one-call diff."""

from __future__ import annotations

from pathlib import Path

import pytest

from remora_review import git
from remora_review.errors import UserError

from .gitrepo import GitRepo


def test_blobs_reads_many_through_one_process(repo: GitRepo) -> None:
    repo.write("a.py", "a = 1\n")
    repo.write("b.py", "b = 2\n" * 3)
    repo.write("pkg/c.py", "")
    head = repo.commit()
    entries = {e.path: e for e in git.tree_entries(repo.root, head)}
    assert set(entries) == {"a.py", "b.py", "pkg/c.py"}
    with git.Blobs(repo.root) as blobs:
        assert blobs.read(entries["a.py"].object_id) == b"a = 1\n"
        assert blobs.read(entries["b.py"].object_id) == b"b = 2\n" * 3
        assert blobs.read(entries["pkg/c.py"].object_id) == b""  # an empty blob
        assert blobs.read(f"{head}:a.py") == b"a = 1\n"  # names git resolves work too
        assert blobs._batch is not None
        process = blobs._batch._proc
        assert blobs.read("0" * 40) is None  # missing: the process goes on
        assert blobs.read(head) is None  # a commit, not a blob
        assert blobs.read(entries["a.py"].object_id) == b"a = 1\n"
        assert blobs._batch._proc is process and process is not None  # the same process throughout
        with pytest.raises(git.BlobTooBig) as too_big:
            blobs.read(entries["b.py"].object_id, max_size=5)
        assert too_big.value.size == 18
        assert blobs.read(entries["a.py"].object_id, max_size=6) == b"a = 1\n"  # still in step
    assert process.returncode == 0  # closed with the context


def test_tree_entries_of_the_index_and_of_a_commit(repo: GitRepo) -> None:
    repo.write("a b.py", "x = 1\n")
    (repo.root / "link.py").symlink_to("a b.py")
    head = repo.commit()
    repo.write("new.py", "y = 2\n")
    repo.git("add", "new.py")
    staged = {e.path: e.mode for e in git.tree_entries(repo.root, ":")}
    assert staged == {"a b.py": "100644", "link.py": "120000", "new.py": "100644"}
    committed = {e.path for e in git.tree_entries(repo.root, head, ["a b.py", "nope.py"])}
    assert committed == {"a b.py"}
    assert not git.tree_entries(repo.root, ":", ["*.py"])  # literal paths, no globs


def test_project_index_of_a_commit_sees_its_modules(repo: GitRepo) -> None:
    """`check --diff A..B` reads the project as of B: `ls-tree -- '*.py'` matched nothing, so the
    commit's project index was empty."""
    from remora_review.project.scan import load_project_index

    repo.write("pkg/models.py", "class User:\n    def save(self, s: int) -> None: ...\n")
    head = repo.commit()
    repo.write("pkg/models.py", "")
    repo.git("add", "-A")
    for at in (head, ":", None):
        index = load_project_index(repo.root, at, None)
        assert "pkg.models" in index.modules, at


def test_diff_is_one_call_with_blob_ids_and_lines(repo: GitRepo) -> None:
    repo.write("a.py", "1\n2\n3\n")
    head = repo.commit()
    repo.write("a.py", "1\nnew\n2\n3\n")
    repo.write("b.py", "b\n")
    repo.git("add", "-A")
    raw, patch = git.diff(repo.root, [head], cached=True)
    records = raw.split(b"\0")
    assert records[0].endswith(b" M") and records[1] == b"a.py"
    assert records[2].endswith(b" A") and records[3] == b"b.py"
    new_id = records[2].split()[3].decode()
    with git.Blobs(repo.root) as blobs:
        assert blobs.read(new_id) == b"b\n"
    assert patch.startswith(b"diff --git a/a.py b/a.py") and b"+new\n" in patch


def test_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not inside a git repository"):
        git.repo_root(tmp_path)
    with pytest.raises(UserError, match=r"^git rev-parse failed: "):
        git.run(tmp_path, "rev-parse", "--show-toplevel")
