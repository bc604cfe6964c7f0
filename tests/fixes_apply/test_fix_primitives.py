"""fixes.py: applying and merging edits, edits from two texts, atomic writes, diffs."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from remora_review.findings import Edit, Fix
from remora_review.fixes import (
    EditError,
    apply_edits,
    edits_between,
    merge_fixes,
    unified_diff,
    write_atomic,
)

SOURCE = "import os\n\ndef f(s):\n    s.add(x)\n    s.commit()\n"
IMPORT = Edit(1, 0, 1, 0, "from sqlalchemy.orm import Session\n")


def test_apply_edits_golden() -> None:
    edits = [Edit(3, 6, 3, 7, "s: Session"), IMPORT]  # any order in, applied back to front
    assert apply_edits(SOURCE, edits) == (
        "from sqlalchemy.orm import Session\nimport os\n\ndef f(s: Session):\n"
        "    s.add(x)\n    s.commit()\n")
    assert apply_edits(SOURCE, []) == SOURCE
    # deleting whole lines, and inserting at the very end (the line after the last newline)
    assert apply_edits(SOURCE, [Edit(1, 0, 3, 0, ""), Edit(6, 0, 6, 0, "f(1)\n")]) == (
        "def f(s):\n    s.add(x)\n    s.commit()\nf(1)\n")
    # columns count code points, not bytes
    assert apply_edits("é = 'ü'\n", [Edit(1, 5, 1, 6, "u")]) == "é = 'u'\n"


def test_same_point_insertions_keep_their_order() -> None:
    a, b = Edit(2, 0, 2, 0, "A\n"), Edit(2, 0, 2, 0, "B\n")
    assert apply_edits("x\ny\n", [a, b]) == "x\nA\nB\ny\n"
    assert apply_edits("x\ny\n", [b, a]) == "x\nB\nA\ny\n"


def test_bad_edits_raise() -> None:
    with pytest.raises(EditError, match="overlapping"):
        apply_edits("abcdef\n", [Edit(1, 0, 1, 3, "x"), Edit(1, 2, 1, 4, "y")])
    with pytest.raises(EditError, match="outside"):
        apply_edits("a\n", [Edit(5, 0, 5, 0, "x")])
    with pytest.raises(EditError, match="past the end"):
        apply_edits("ab\ncd\n", [Edit(1, 3, 1, 3, "x")])  # column 3 would be the newline


def test_merge_fixes_dedupes_keeps_insertions_and_skips_conflicts() -> None:
    hint_s = Fix("annotate s", (IMPORT, Edit(3, 6, 3, 7, "s: Session")))
    hint_again = Fix("annotate s differently", (Edit(3, 6, 3, 7, "s: object"),))  # overlaps
    same_import = Fix("another hint", (IMPORT, Edit(5, 4, 5, 14, "s.flush()")))
    other_insert = Fix("another import", (Edit(1, 0, 1, 0, "import typing\n"),))
    text, applied = merge_fixes(SOURCE, [hint_s, hint_again, same_import, other_insert])
    assert applied == [0, 2, 3]
    assert text == (
        "from sqlalchemy.orm import Session\nimport typing\nimport os\n\n"
        "def f(s: Session):\n    s.add(x)\n    s.flush()\n")
    bad = Fix("bad position", (Edit(99, 0, 99, 0, "x"),))
    assert merge_fixes(SOURCE, [bad]) == (SOURCE, [])


def test_edits_between_golden() -> None:
    old = "a\nb\nc\n"
    assert edits_between(old, old) == ()
    assert edits_between(old, "a\nB\nc\n") == (Edit(2, 0, 3, 0, "B\n"),)
    assert edits_between("a\nb", "a\nb\nc") == (Edit(2, 0, 2, 1, "b\nc"),)
    assert edits_between("", "x\n") == (Edit(1, 0, 1, 0, "x\n"),)


texts = st.text(alphabet=st.sampled_from(list("ab \n\r\té")), max_size=40)


@settings(max_examples=300, deadline=None)
@given(old=texts, new=texts)
def test_edits_between_round_trips(old: str, new: str) -> None:
    assert apply_edits(old, edits_between(old, new)) == new


@st.composite
def text_and_fixes(draw: st.DrawFn) -> tuple[str, list[Fix]]:
    """A text and fixes whose edits touch pairwise-distinct, non-adjacent spans."""
    lines = draw(st.lists(st.text(alphabet="abcxyz", max_size=8), min_size=1, max_size=8))
    text = "\n".join(lines) + "\n"
    spans = []
    for number, line in enumerate(lines, start=1):
        if draw(st.booleans()):
            start = draw(st.integers(0, len(line)))
            end = draw(st.integers(start, len(line)))
            spans.append(Edit(number, start, number, end, draw(st.text("XYZ\n", max_size=4))))
    groups = draw(st.lists(st.integers(0, 3), min_size=len(spans), max_size=len(spans)))
    fixes = [Fix(f"fix {g}", tuple(e for e, k in zip(spans, groups) if k == g))
             for g in sorted(set(groups))]
    return text, fixes


@settings(max_examples=200, deadline=None)
@given(case=text_and_fixes(), data=st.data())
def test_merging_disjoint_fixes_is_order_independent(case: tuple[str, list[Fix]],
                                                    data: st.DataObject) -> None:
    text, fixes = case
    all_edits = [e for f in fixes for e in f.edits]
    expected = apply_edits(text, all_edits)
    shuffled = data.draw(st.permutations(fixes))
    merged, applied = merge_fixes(text, shuffled)
    assert merged == expected
    assert applied == list(range(len(fixes)))


def test_write_atomic_keeps_mode_and_newline(tmp_path: Path) -> None:
    path = tmp_path / "tool.py"
    path.write_bytes(b"old\r\n")
    path.chmod(0o751)
    write_atomic(path, "new\nlines\n", "\r\n")
    assert path.read_bytes() == b"new\r\nlines\r\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o751
    write_atomic(path, "x\n", "\n", bom=True)
    assert path.read_bytes() == b"\xef\xbb\xbfx\n"
    assert [p.name for p in tmp_path.iterdir()] == ["tool.py"]  # no temp file left behind


def test_write_atomic_follows_symlinks_and_leaves_nothing_on_failure(tmp_path: Path) -> None:
    real = tmp_path / "real.py"
    real.write_text("a\n")
    link = tmp_path / "link.py"
    os.symlink("real.py", link)
    write_atomic(link, "b\n", "\n")
    assert link.is_symlink() and real.read_text() == "b\n"
    with pytest.raises(UnicodeEncodeError):
        write_atomic(real, "bad \udcff surrogate\n", "\n")
    assert real.read_text() == "b\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.py", "real.py"]


def test_unified_diff_matches_git_apply(tmp_path: Path) -> None:
    old = "a\nb\nc\nd\ne\nf\ng\nh\ni\nend"
    new = "a\nB\nc\nd\ne\nf\ng\nh\ni\nend\n"
    diff = unified_diff("sub dir/m.py", old, new)
    assert diff.startswith("--- a/sub dir/m.py\t\n+++ b/sub dir/m.py\t\n@@ ")
    assert "\\ No newline at end of file\n" in diff
    assert unified_diff("m.py", old, old) == ""
    # `git apply` accepts it and produces the new text, also for lines that look like headers
    (tmp_path / "sub dir").mkdir()
    for before, after in [(old, new), ("-- x\n++ y\nq", "--- x\n++ y\nq\n"), ("", "new\n")]:
        (tmp_path / "sub dir" / "m.py").write_text(before)
        patch = unified_diff("sub dir/m.py", before, after)
        subprocess.run(["git", "apply", "-"], input=patch, text=True, cwd=tmp_path, check=True)
        assert (tmp_path / "sub dir" / "m.py").read_text() == after
