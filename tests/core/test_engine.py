import subprocess
import sys
from dataclasses import dataclass

import pytest

from remora_review.checks.base import CheckResult
from remora_review.config import Settings
from remora_review.engine import FileJob, Runtime, check_source, fix_source, remap_lines
from remora_review.findings import Edit, Finding, Fix


def test_remap_lines_follows_insertions_and_marks_written_lines():
    old = "a\nb\nc\n"
    new = "x\na\nb\nc\n"
    assert remap_lines(frozenset({2}), old, new) == {1, 3}
    assert remap_lines(None, old, new) is None


@dataclass
class _Rename:
    """A tiny check: `old_name` anywhere on a changed line becomes `new_name` (one fix per line)."""

    name: str = "rename"
    codes: tuple[str, ...] = ("T1",)
    needs_packs: bool = True

    def run(self, ctx):
        return CheckResult(tuple(self._findings(ctx)))

    def _findings(self, ctx):
        for number, line in enumerate(ctx.source.splitlines(), 1):
            col = line.find("old_name")
            if col >= 0 and ctx.touches(number, number):
                edit = Edit(number, col, number, col + len("old_name"), "new_name")
                yield Finding(ctx.path, number, col, number, col + 8, "T101", "rename",
                              fix=Fix("rename", (edit,)))


def _runtime(**settings):
    return Runtime(Settings(**settings), {"p": object()}, (_Rename(),), None, strict=True)


def test_fix_rounds_until_nothing_left_and_second_fix_is_a_no_op():
    source = "old_name = 1\nprint(old_name, old_name)\n"
    job = FileJob("m.py", source, None, ("p",))
    first = fix_source(job, _runtime())
    assert first.fixed_source == "new_name = 1\nprint(new_name, new_name)\n"
    assert first.findings == ()
    again = fix_source(FileJob("m.py", first.fixed_source, None, ("p",)), _runtime())
    assert again.fixed_source is None and again.fixes_applied == 0


def test_findings_outside_changed_lines_and_suppressed_ones_are_dropped():
    source = "old_name = 1\nold_name = 2  # remora: ignore[T1]\nold_name = 3\n"
    outcome = check_source(FileJob("m.py", source, frozenset({2, 3}), ("p",)), _runtime())
    assert [f.line for f in outcome.findings] == [3]
    assert check_source(FileJob("m.py", source, None, ("p",)), _runtime(ignore=("T",))).findings == ()


def test_syntax_error_is_one_finding_and_stops_other_checks():
    outcome = check_source(FileJob("m.py", "def f(:\n  old_name\n", None, ("p",)), _runtime())
    assert [f.code for f in outcome.findings] == ["RR001"]


@dataclass
class _Boom:
    name: str = "boom"
    codes: tuple[str, ...] = ("B1",)
    needs_packs: bool = True

    def run(self, ctx):
        raise RuntimeError("bug")


def test_broken_check_becomes_a_note_not_a_crash():
    runtime = Runtime(Settings(), {"p": object()}, (_Boom(), _Rename()), None)
    outcome = check_source(FileJob("m.py", "old_name = 1\n", None, ("p",)), runtime)
    assert [f.code for f in outcome.findings] == ["T101"]
    assert "check boom failed: RuntimeError: bug" in outcome.notes[0]


def test_a_strict_runtime_re_raises_what_a_check_raises():
    runtime = Runtime(Settings(), {"p": object()}, (_Boom(), _Rename()), None, strict=True)
    with pytest.raises(RuntimeError, match="bug"):
        check_source(FileJob("m.py", "old_name = 1\n", None, ("p",)), runtime)


def test_a_check_whose_codes_are_all_off_does_not_run():
    runtime = Runtime(Settings(ignore=("B",)), {"p": object()}, (_Boom(), _Rename()), None,
                      strict=True)
    outcome = check_source(FileJob("m.py", "old_name = 1\n", None, ("p",)), runtime)
    assert [f.code for f in outcome.findings] == ["T101"] and outcome.notes == ()


def test_a_pack_free_check_runs_on_a_file_with_no_pack():
    free = _Rename(name="free", needs_packs=False)
    runtime = Runtime(Settings(), {}, (free, _Boom()), None, strict=True)
    outcome = check_source(FileJob("m.py", "old_name = 1\n", None, ()), runtime)
    assert [f.code for f in outcome.findings] == ["T101"]  # _Boom needs packs: it never ran


def test_a_pack_free_check_that_reads_only_text_never_imports_libcst():
    script = """
import sys
from remora_review.checks.base import CheckResult
from remora_review.config import Settings
from remora_review.engine import FileJob, Runtime, check_source
from remora_review.findings import Finding

class Todo:
    name, codes, needs_packs = "todo", ("T2",), False
    def run(self, ctx):
        return CheckResult(tuple(Finding(ctx.path, n, 0, n, 1, "T201", "todo")
                                 for n, line in enumerate(ctx.source.splitlines(), 1)
                                 if "TODO" in line))

outcome = check_source(FileJob("m.py", "x = 1  # TODO\\n", None, ()),
                       Runtime(Settings(), {}, (Todo(),), None, strict=True))
print([f.code for f in outcome.findings], "libcst" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == ["['T201']", "False"]
