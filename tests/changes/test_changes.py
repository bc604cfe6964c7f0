"""changes.py against real git repositories: staged lines, ranges, renames, shallow clones."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from remora_review.changes import (
    ChangedFile,
    ChangeSet,
    all_files,
    python_files,
    range_changes,
    restrict,
    staged_changes,
    unstaged_paths,
)
from remora_review.errors import UserError
from remora_review.git import repo_root

from .gitrepo import GitRepo, numbered


def by_path(cs: ChangeSet) -> dict[str, ChangedFile]:
    return {f.path: f for f in cs.files}


def replace_line(text: str, number: int, new: str) -> str:
    lines = text.splitlines(keepends=True)
    lines[number - 1] = new + "\n"
    return "".join(lines)


def test_staged_lines_are_exactly_the_staged_ones(repo: GitRepo) -> None:
    original = numbered(20)
    repo.write("app.py", original)
    repo.commit()
    staged = replace_line(original, 2, "staged edit")
    repo.write("app.py", staged)
    repo.git("add", "app.py")
    repo.write("app.py", replace_line(staged, 15, "unstaged edit"))  # never staged

    cs = staged_changes(repo.root)
    (f,) = cs.files
    assert (f.path, f.status, f.old_path) == ("app.py", "modified", None)
    assert f.added_lines == {2}
    assert f.hunk_lines == {1, 2, 3, 4, 5}  # the staged line and 3 lines of context
    assert cs.base == repo.git("rev-parse", "HEAD") and cs.head is None
    assert cs.source_rev == ":"
    assert unstaged_paths(repo.root) == {"app.py"}


def test_added_lines_and_insertions_and_deletions(repo: GitRepo) -> None:
    repo.write("m.py", numbered(30))
    repo.commit()
    lines = numbered(30).splitlines(keepends=True)
    del lines[9]  # line 10 removed: no added line
    lines.insert(20, "new a\n")
    lines.insert(21, "new b\n")
    repo.write("m.py", "".join(lines))
    repo.git("add", "m.py")
    (f,) = staged_changes(repo.root).files
    assert f.added_lines == {21, 22}
    assert {7, 8, 9, 10, 11, 12} <= f.hunk_lines  # context around the deletion
    assert {18, 19, 20, 21, 22, 23, 24, 25} <= f.hunk_lines
    assert 1 not in f.hunk_lines and 30 not in f.hunk_lines


def test_rename_with_edits(repo: GitRepo) -> None:
    text = numbered(12)
    repo.write("pkg/old_name.py", text)
    repo.commit()
    repo.git("mv", "pkg/old_name.py", "pkg/new_name.py")
    repo.write("pkg/new_name.py", replace_line(text, 6, "edited"))
    repo.git("add", "pkg/new_name.py")
    (f,) = staged_changes(repo.root).files
    assert (f.path, f.status, f.old_path) == ("pkg/new_name.py", "renamed", "pkg/old_name.py")
    assert f.added_lines == {6}


def test_deletion_is_listed_without_lines_and_not_checked(repo: GitRepo) -> None:
    repo.write("gone.py", numbered(3))
    repo.write("kept.py", numbered(3))
    repo.commit()
    repo.git("rm", "-q", "gone.py")
    repo.write("kept.py", numbered(4))
    repo.git("add", "kept.py")
    cs = staged_changes(repo.root)
    files = by_path(cs)
    assert files["gone.py"].status == "deleted"
    assert files["gone.py"].added_lines == frozenset() == files["gone.py"].hunk_lines
    assert files["kept.py"].added_lines == {4}
    assert [f.path for f in python_files(cs)] == ["kept.py"]


def test_initial_commit_everything_is_added(repo: GitRepo) -> None:
    repo.write("first.py", numbered(3))
    repo.write("README.md", "hello\n")
    repo.git("add", "-A")
    cs = staged_changes(repo.root)
    assert cs.base is None
    files = by_path(cs)
    assert files["first.py"].status == "added"
    assert files["first.py"].added_lines == {1, 2, 3}
    assert [f.path for f in python_files(cs)] == ["first.py"]


def test_detached_head(repo: GitRepo) -> None:
    repo.write("a.py", numbered(5))
    first = repo.commit()
    repo.write("a.py", numbered(6))
    repo.commit()
    repo.git("checkout", "-q", "--detach", first)
    repo.write("a.py", replace_line(numbered(5), 3, "detached"))
    repo.git("add", "a.py")
    cs = staged_changes(repo.root)
    assert cs.base == first
    assert by_path(cs)["a.py"].added_lines == {3}


def test_paths_passed_by_pre_commit(repo: GitRepo) -> None:
    repo.write("a.py", numbered(3))
    repo.write("b.py", numbered(3))
    repo.write("tool", "#!/usr/bin/env python\n")
    repo.commit()
    repo.write("a.py", numbered(4))
    repo.write("tool", "#!/usr/bin/env python\nprint(1)\n")
    repo.git("add", "-A")
    cs = staged_changes(repo.root, ["./a.py", "b.py", "tool"])
    files = by_path(cs)
    assert set(files) == {"a.py", "b.py", "tool"}
    assert files["a.py"].added_lines == {4}
    assert files["b.py"] == ChangedFile("b.py", "modified")  # named, but nothing staged
    assert files["tool"].added_lines == {2}
    # an extension-less script that pre-commit identified as Python is kept
    assert [f.path for f in python_files(cs)] == ["a.py", "b.py", "tool"]


def test_odd_paths_binary_and_missing_final_newline(repo: GitRepo) -> None:
    names = ["with space.py", "ünïcödé/módulo.py", 'quote"d.py', "tab\there.py"]
    for name in names:
        repo.write(name, "a\nb")
    repo.write("blob.bin", b"\0\1\2")
    repo.commit()
    # Settings that would change git's output if changes.py did not pin them.
    for key, value in [("diff.noprefix", "true"), ("diff.mnemonicPrefix", "true"),
                       ("color.ui", "always"), ("diff.suppressBlankEmpty", "true"),
                       ("core.quotepath", "true"), ("diff.context", "0")]:
        repo.git("config", key, value)
    for name in names:
        repo.write(name, "a\n\nB\nc")  # blank line, edit, and still no final newline
    repo.write("blob.bin", b"\0\1\3")
    repo.git("add", "-A")
    files = by_path(staged_changes(repo.root))
    assert set(files) == {*names, "blob.bin"}
    for name in names:
        assert files[name].added_lines == {2, 3, 4}, name
        assert files[name].hunk_lines == {1, 2, 3, 4}, name
    assert files["blob.bin"].status == "modified"
    assert files["blob.bin"].added_lines == frozenset()


def _branches(repo: GitRepo) -> tuple[str, str, str]:
    """main: base → m2 (edits main.py); feature from base: edits feat.py."""
    repo.write("main.py", numbered(5))
    repo.write("feat.py", numbered(5))
    base = repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("feat.py", replace_line(numbered(5), 2, "feature work"))
    feature = repo.commit("feature")
    repo.git("checkout", "-q", "main")
    repo.write("main.py", replace_line(numbered(5), 4, "main moved on"))
    main = repo.commit("main")
    return base, main, feature


def test_two_dot_and_three_dot_ranges(repo: GitRepo) -> None:
    base, main, feature = _branches(repo)
    two = range_changes(repo.root, "main..feature")
    assert set(by_path(two)) == {"main.py", "feat.py"}  # plain diff of the two tips
    assert (two.base, two.head, two.source_rev) == (main, feature, feature)
    assert by_path(two)["main.py"].added_lines == {4}  # main's line 4, as feature has it
    three = range_changes(repo.root, "main...feature")
    assert set(by_path(three)) == {"feat.py"}  # only what the feature branch did
    assert by_path(three)["feat.py"].added_lines == {2}
    assert (three.base, three.head) == (base, feature)
    assert "merge-base" in three.description


def test_single_revision_compares_with_the_working_tree(repo: GitRepo) -> None:
    base, _, _ = _branches(repo)
    repo.write("feat.py", replace_line(numbered(5), 5, "uncommitted"))
    cs = range_changes(repo.root, base)
    files = by_path(cs)
    assert files["feat.py"].added_lines == {5}
    assert files["main.py"].added_lines == {4}
    assert cs.head is None and cs.source_rev is None


def test_unknown_revision(repo: GitRepo) -> None:
    repo.write("a.py", "x = 1\n")
    repo.commit()
    with pytest.raises(UserError, match="unknown base revision: nope"):
        range_changes(repo.root, "nope..HEAD")
    with pytest.raises(UserError, match="not a revision"):
        range_changes(repo.root, "--output=/tmp/x")


def test_shallow_clone_missing_base(repo: GitRepo, tmp_path: Path) -> None:
    base, _, feature = _branches(repo)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "1", "--no-single-branch",
                    f"file://{repo.root}", str(clone)], check=True)
    with pytest.raises(UserError, match=r"base revision .* is not in this clone \(shallow\?\).*"
                                        r"git fetch --deepen"):
        range_changes(clone, f"{base}..HEAD")
    # Both tips are here but their common history is not: no merge-base.
    with pytest.raises(UserError, match=r"no merge base .*shallow.*git fetch --deepen"):
        range_changes(clone, "origin/main...origin/feature")
    assert range_changes(clone, "origin/main..origin/feature").head == feature


def test_all_files(repo: GitRepo) -> None:
    repo.write("a.py", "x = 1\n")
    repo.write("docs/b.md", "b\n")
    repo.commit()
    cs = all_files(repo.root)
    assert {f.path for f in cs.files} == {"a.py", "docs/b.md"}
    assert all(f.whole_file for f in cs.files)
    assert [f.path for f in python_files(cs)] == ["a.py"]


def test_repo_root(repo: GitRepo, tmp_path: Path) -> None:
    sub = repo.root / "pkg" / "deep"
    sub.mkdir(parents=True)
    assert repo_root(sub) == repo.root.resolve()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    with pytest.raises(UserError, match="not inside a git repository"):
        repo_root(outside)


def test_restrict_a_range_to_the_files_pre_commit_passes(repo: GitRepo) -> None:
    # pre-commit's pre-push stage passes file names and PRE_COMMIT_FROM_REF / _TO_REF
    base, _, feature = _branches(repo)
    cs = restrict(range_changes(repo.root, f"{base}..{feature}"), ["feat.py", "main.py"])
    files = by_path(cs)
    assert files["feat.py"].added_lines == {2}
    assert files["main.py"] == ChangedFile("main.py", "modified")
    assert cs.explicit == {"feat.py", "main.py"} and cs.head == feature
