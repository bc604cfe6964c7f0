"""suppression.py: `# remora: ignore[...]` on a line, on a def line, and file-wide."""

from __future__ import annotations

from remora_review.findings import Finding
from remora_review.suppression import parse_suppressions


def finding(line: int, code: str = "RR101", related: tuple[int, int] | None = None) -> Finding:
    return Finding("m.py", line, 0, line, 1, code, "message", related=related)


SOURCE = '''\
import os
def f(s):  # remora: ignore[RR101]
    s.add(x)  # remora: ignore
    s.commit()  # noqa: E501  # remora: ignore[rr2, RR3]
    text = "# remora: ignore"
def g(
    session,
):  # remora: ignore[RR1]
    return session  # remora: ignored
'''


def test_line_forms() -> None:
    sup = parse_suppressions(SOURCE)
    assert sup.suppresses(finding(2, "RR101"))
    assert not sup.suppresses(finding(2, "RR102"))  # only the listed codes
    assert sup.suppresses(finding(3, "RR999"))  # bare form: every code
    assert sup.suppresses(finding(4, "RR201"))  # prefix, case-insensitive, after another comment
    assert sup.suppresses(finding(4, "RR301"))
    assert not sup.suppresses(finding(4, "RR101"))
    assert not sup.suppresses(finding(5))  # inside a string: not a comment
    assert not sup.suppresses(finding(9))  # "ignored" is not the directive
    assert not sup.suppresses(finding(1))


def test_related_span_start_carries_the_comment() -> None:
    sup = parse_suppressions(SOURCE)
    # a type-hint finding at the parameter (line 7) that belongs to `def g(` (lines 6-8)
    assert not sup.suppresses(finding(7, "RR101", related=(6, 8)))
    sup_def = parse_suppressions(SOURCE.replace("def g(\n", "def g(  # remora: ignore[RR101]\n"))
    assert sup_def.suppresses(finding(7, "RR101", related=(6, 8)))
    assert not sup_def.suppresses(finding(7, "RR201", related=(6, 8)))


def test_file_level() -> None:
    text = "# remora: ignore-file[RR2]\nimport os\nx = 1  # remora: ignore-file\n"
    sup = parse_suppressions(text)
    assert sup.suppresses(finding(2, "RR201"))
    assert sup.suppresses(finding(40, "RR250"))
    assert not sup.suppresses(finding(2, "RR101"))  # the trailing ignore-file has no effect
    assert parse_suppressions("x = 1\n    # remora: ignore-file\n").suppresses(finding(1, "ANY1"))


def test_syntax_errors_fall_back_to_a_line_scan() -> None:
    text = "def f(:\n    x = (  # remora: ignore[RR1]\n# remora: ignore-file[RR9]\n"
    sup = parse_suppressions(text)
    assert sup.suppresses(finding(2, "RR100"))
    assert sup.suppresses(finding(1, "RR901"))
    assert not sup.suppresses(finding(1, "RR100"))


def test_nothing_to_find() -> None:
    sup = parse_suppressions("x = 1\n")
    assert not sup.suppresses(finding(1))
    assert not sup.lines and not sup.file
