"""Review comments from findings and hunks: anchored inside the diff, suggestions that parse."""

from __future__ import annotations

from remora_review.findings import Edit, Finding, Fix, Severity
from remora_review.github.suggestions import (
    Hunk,
    InlineComment,
    apply_suggestions,
    comment_problem,
    fence_for,
    hunks_from_lines,
    markers_in,
    plan_review,
)

SOURCE = (
    "import os\n"                      # 1
    "\n"                               # 2
    "\n"                               # 3
    "def keep():\n"                    # 4
    "    return os.sep\n"              # 5
    "\n"                               # 6
    "\n"                               # 7
    "def save(s, user):\n"             # 8
    "    s.add(user)\n"                # 9
    "    s.commit()\n"                 # 10
    "\n"                               # 11
    "\n"                               # 12
    "class Repo:\n"                    # 13
    "    def put(self, s, row):\n"     # 14
    "        s.add(row)\n"             # 15
)


def _hint(line: int, col: int, name: str, import_at: int | None = 1, fp: str = "a" * 16) -> Finding:
    edits = [Edit(line, col, line, col + len(name), f"{name}: Session")]
    if import_at is not None:
        edits.insert(0, Edit(import_at, 0, import_at, 0, "from sqlalchemy.orm import Session\n"))
    return Finding("app.py", line, col, line, col + len(name), "RR101",
                   f"parameter `{name}` is used as Session", pack="sqlalchemy",
                   fix=Fix(f"annotate `{name}: Session`", tuple(edits)), data={"parameter": name})


def test_hunks_are_runs_of_consecutive_lines() -> None:
    assert hunks_from_lines({3, 4, 5, 9, 10, 20}) == (Hunk(3, 5), Hunk(9, 10), Hunk(20, 20))
    assert hunks_from_lines(()) == ()


def test_import_outside_the_diff_moves_into_one_suggestion_at_the_def() -> None:
    plan = plan_review([(_hint(8, 9, "s"), "a" * 16)], {"app.py": SOURCE},
                       {"app.py": [Hunk(6, 11)]}, max_comments=10)
    assert plan.leftovers == ()
    (comment,) = plan.comments
    assert (comment.start_line, comment.line) == (None, 8)
    assert comment.suggestion == "from sqlalchemy.orm import Session\n\n\ndef save(s: Session, user):\n"
    assert "```suggestion\nfrom sqlalchemy.orm import Session\n" in comment.body
    assert markers_in(comment.body) == {"a" * 16}
    assert comment_problem(comment, [Hunk(6, 11)]) is None
    fixed = apply_suggestions(SOURCE, plan.comments)
    compile(fixed, "app.py", "exec")
    assert "def save(s: Session, user):" in fixed


def test_a_fix_whose_import_cannot_move_into_the_hunk_goes_to_the_body_with_its_patch() -> None:
    # The method's hunk holds no module-level statement: the import has nowhere valid to go.
    plan = plan_review([(_hint(14, 18, "s"), "b" * 16)], {"app.py": SOURCE},
                       {"app.py": [Hunk(14, 15)]}, max_comments=10)
    assert plan.comments == ()
    (left,) = plan.leftovers
    assert "outside the diff" in left.reason
    assert left.patch is not None and "+from sqlalchemy.orm import Session" in left.patch


def test_a_fix_inside_the_hunk_spans_lines_of_one_hunk() -> None:
    plan = plan_review([(_hint(14, 18, "s", import_at=13), "c" * 16)], {"app.py": SOURCE},
                       {"app.py": [Hunk(12, 15)]}, max_comments=10)
    (comment,) = plan.comments
    # The import goes before `class Repo:` (line 13), the annotation on line 14: lines 13..14.
    assert (comment.start_line, comment.line) == (13, 14)
    assert comment_problem(comment, [Hunk(12, 15)]) is None
    compile(apply_suggestions(SOURCE, plan.comments), "app.py", "exec")


def test_findings_outside_the_diff_and_over_the_limit_go_to_the_body() -> None:
    outside = Finding("app.py", 5, 4, 5, 6, "RR900", "far away")
    first = Finding("app.py", 9, 4, 9, 5, "RR900", "one", severity=Severity.ERROR)
    second = Finding("app.py", 10, 4, 10, 5, "RR900", "two")
    plan = plan_review([(outside, "1" * 16), (second, "3" * 16), (first, "2" * 16)],
                       {"app.py": SOURCE}, {"app.py": [Hunk(8, 11)]}, max_comments=1)
    assert [c.fingerprint for c in plan.comments] == ["2" * 16]  # errors first
    assert {x.fingerprint: x.reason for x in plan.leftovers} == {
        "1" * 16: "outside the diff", "3" * 16: "over the limit of 1 inline comments"}


def test_overlapping_suggestions_keep_the_first() -> None:
    a = _hint(8, 9, "s", import_at=None, fp="d" * 16)
    b = Finding("app.py", 8, 12, 8, 16, "RR101", "user", fix=Fix("annotate", (
        Edit(8, 12, 8, 16, "user: User"),)))
    plan = plan_review([(a, "d" * 16), (b, "e" * 16)], {"app.py": SOURCE},
                       {"app.py": [Hunk(6, 11)]}, max_comments=10)
    assert [c.fingerprint for c in plan.comments] == ["d" * 16]
    assert plan.leftovers[0].fingerprint == "e" * 16
    assert "overlaps" in plan.leftovers[0].reason


def test_a_suggestion_that_does_not_parse_is_not_posted() -> None:
    broken = Finding("app.py", 9, 4, 9, 5, "RR900", "bad fix",
                     fix=Fix("break it", (Edit(9, 4, 9, 15, "s.add(("),)))
    plan = plan_review([(broken, "f" * 16)], {"app.py": SOURCE}, {"app.py": [Hunk(8, 11)]}, 10)
    assert plan.comments == ()
    assert "does not parse" in plan.leftovers[0].reason


def test_fences_outgrow_backticks_in_the_code() -> None:
    assert fence_for("x = 1\n") == "```"
    assert fence_for('doc = """```py\n````\n"""\n') == "`````"
    code = 'DOC = "````"\n'
    text = "x = 1\n" + code
    finding = Finding("d.py", 2, 0, 2, 3, "RR900", "doc", fix=Fix("f", (Edit(2, 0, 2, 3, "DOCS"),)))
    (comment,) = plan_review([(finding, "9" * 16)], {"d.py": text}, {"d.py": [Hunk(1, 2)]}, 5).comments
    assert "`````suggestion\nDOCS = \"````\"\n`````" in comment.body


def test_message_cannot_forge_a_marker() -> None:
    finding = Finding("app.py", 9, 0, 9, 1, "RR900",
                      "<!-- remora-review fingerprint: 0123456789abcdef -->")
    (comment,) = plan_review([(finding, "7" * 16)], {"app.py": SOURCE},
                             {"app.py": [Hunk(8, 11)]}, 5).comments
    assert markers_in(comment.body) == {"7" * 16}


def test_comment_problems_follow_githubs_rules() -> None:
    hunks = [Hunk(3, 6), Hunk(10, 12)]

    def problem(line: int, start: int | None = None) -> str | None:
        return comment_problem(InlineComment("a.py", line, start, "b", "0" * 16,
                                             Severity.WARNING), hunks)

    assert problem(4) is None and problem(6, 3) is None
    assert "not inside the diff" in (problem(8) or "")
    assert "not before" in (problem(5, 5) or "")
    assert "crosses" in (problem(11, 5) or "")
