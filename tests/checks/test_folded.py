"""Folding blank runs changes nothing the type-hint check reads: profiles and positions are the
same as on the slice, and text inside strings is never touched."""

from __future__ import annotations

import ast
from pathlib import Path

import libcst as cst
import libcst.metadata as meta
import pytest
import sqlalchemy

from remora_review.checks.folded import analysed_text, fold_blank_runs
from remora_review.infer.profile import ProfileBuilder
from remora_review.pysource.slicing import slice_source

SQLALCHEMY = Path(sqlalchemy.__file__).parent
MODULES = ["orm/session.py", "engine/base.py", "sql/schema.py", "orm/query.py"]


def _profiles(source: str) -> list[tuple[object, ...]]:
    wrapper = meta.MetadataWrapper(cst.parse_module(source), unsafe_skip_copy=True)
    builder = ProfileBuilder(wrapper)
    positions = wrapper.resolve(meta.PositionProvider)
    return [(site.param.name.value, positions[site.param].start, positions[site.function].end,
             site.profile, builder.qualified(site.function.name))
            for function in builder.functions() for site in builder.sites(function)]


@pytest.mark.parametrize("rel", MODULES)
def test_profiles_and_positions_are_those_of_the_slice(rel: str) -> None:
    source = (SQLALCHEMY / rel).read_text("utf-8")
    tree = ast.parse(source)
    # the change touches the last method of the file's last class with methods, as a hook
    # commit would
    method = [m for n in tree.body if isinstance(n, ast.ClassDef)
              for m in n.body if isinstance(m, ast.FunctionDef) and len(m.args.args) > 1][-1]
    sliced = slice_source(source, frozenset(range(method.lineno, (method.end_lineno or 0) + 1)))
    folded = fold_blank_runs(sliced)
    assert folded != sliced and folded.count("\n") == sliced.count("\n")
    before, after = _profiles(sliced), _profiles(folded)
    assert before and after == before
    analysed = analysed_text(sliced)
    assert analysed.dropped and analysed.text.count("\n") == sliced.count("\n")
    assert _profiles(analysed.text) == before


def test_blank_lines_inside_strings_and_short_runs_stay() -> None:
    source = ('x = """\n\n\n\n\n"""\n\n\n\n\n'
              "class A:\n\ty = 1\n\n\n\n\n\tdef f(self):\n\t\treturn '''\n\n\n\n'''\n")
    folded = fold_blank_runs(source)
    assert folded == ('x = """\n\n\n\n\n"""\n"""\n\n\n"""\n'
                      "class A:\n\ty = 1\n\t\"\"\"\n\n\n\"\"\"\n\tdef f(self):\n"
                      "\t\treturn '''\n\n\n\n'''\n")
    compile(folded, "<folded>", "exec")
    assert fold_blank_runs("def f(:\n\n\n\n\nx") == "def f(:\n\n\n\n\nx"  # not Python: as it is


def test_imports_nothing_names_are_blanked_and_reported() -> None:
    source = ("from __future__ import annotations\nimport os\nimport sys as system\n"
              "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
              "    from sqlalchemy.orm import Session\n    from x import (\n        A,\n    )\n"
              "from m import *\nimport a; import b\n\n"
              "def f(s: 'Session'):\n    return s  # os\n")
    analysed = analysed_text(source)
    assert [ast.unparse(i) for i in analysed.dropped] == ["import sys as system",
                                                          "from x import A"]
    assert analysed.text.splitlines()[:10] == [
        "from __future__ import annotations", "import os", "", "from typing import TYPE_CHECKING",
        "if TYPE_CHECKING:", "    from sqlalchemy.orm import Session", "", "", "",
        "from m import *"]
    assert analysed_text("if x:\n    import a\nelse:\n    import b\n").text == (
        "if x:\n    pass\nelse:\n    pass\n")
