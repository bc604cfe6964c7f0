"""Folding blank runs changes nothing the type-hint check reads: profiles and positions are the
same as on the slice, and text inside strings is never touched."""

from __future__ import annotations

import ast
from pathlib import Path

import libcst as cst
import libcst.metadata as meta
import pytest
import sqlalchemy

from remora_review.checks.folded import fold_blank_runs
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


def test_blank_lines_inside_strings_and_short_runs_stay() -> None:
    source = ('x = """\n\n\n\n\n"""\n\n\n\n\n'
              "class A:\n\ty = 1\n\n\n\n\n\tdef f(self):\n\t\treturn '''\n\n\n\n'''\n")
    folded = fold_blank_runs(source)
    assert folded == ('x = """\n\n\n\n\n"""\n"""\n\n\n"""\n'
                      "class A:\n\ty = 1\n\t\"\"\"\n\n\n\"\"\"\n\tdef f(self):\n"
                      "\t\treturn '''\n\n\n\n'''\n")
    compile(folded, "<folded>", "exec")
    assert fold_blank_runs("def f(:\n\n\n\n\nx") == "def f(:\n\n\n\n\nx"  # not Python: as it is
