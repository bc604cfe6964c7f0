"""`Scopes` gives what libcst's `ScopeProvider` gives, on real modules: this is what breaks first
if a libcst upgrade changes the visitors it runs."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import libcst.metadata as meta
import pytest
import sqlalchemy

from remora_review.pysource.scopes import Scopes

SQLALCHEMY = Path(sqlalchemy.__file__).parent

_SAMPLE = '''
from __future__ import annotations
import os
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from sqlalchemy.orm import Session

x = [i for i in range(3) if i]

class A:
    y: "Session"
    def f(self, s: "Session", *args, k=os.sep, **kw) -> "list[A]":
        global x
        del kw
        lam = lambda q: q + x
        try:
            pass
        except ValueError as e:
            print(e, lam)
        with open("f") as fh, open("g") as (gh):
            for a, *b in fh:
                y = a
        match s:
            case {"k": v}:
                return [v]
        return [self]
'''


def _described(scopes: object) -> tuple[list[tuple[str, int | None]], list[tuple[object, ...]]]:
    """Each node's kind with its scope's number, and each scope by what a reader of it sees: its
    kind and name, what it binds and what it reads (with where each read resolves)."""
    numbers: dict[int, int] = {}
    nodes: list[tuple[str, int | None]] = []
    described: list[tuple[object, ...]] = []
    for node, scope in scopes.items():  # type: ignore[attr-defined]
        if scope is not None and id(scope) not in numbers:
            numbers[id(scope)] = len(described)
            reads = sorted(
                (cst.Module([]).code_for_node(a.node),
                 sorted(str(getattr(r, "name", "")) for r in a.referents))
                for a in scope.accesses)
            described.append((type(scope).__name__, getattr(scope, "name", None),
                              sorted(a.name for a in scope.assignments), reads))
        nodes.append((type(node).__name__, None if scope is None else numbers[id(scope)]))
    return nodes, described


@pytest.mark.parametrize("rel", [
    None, "orm/session.py", "sql/selectable.py", "engine/base.py", "ext/asyncio/session.py",
])
def test_scopes_are_libcsts_scope_providers(rel: str | None) -> None:
    source = _SAMPLE if rel is None else (SQLALCHEMY / rel).read_text("utf-8")
    module = cst.parse_module(source)
    theirs = meta.MetadataWrapper(module, unsafe_skip_copy=True).resolve(meta.ScopeProvider)
    ours = meta.MetadataWrapper(module, unsafe_skip_copy=True).resolve(Scopes)
    # The same nodes of the module (string annotations are parsed into new nodes each time).
    assert [n for n in theirs if n in ours] == [n for n in ours if n in theirs]
    assert len(theirs) == len(ours)
    assert _described(theirs) == _described(ours)
