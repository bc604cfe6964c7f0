"""`ReadOnlyWalk` makes the calls libcst's own walk makes, in the same order, and rebuilds nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import libcst as cst
import pytest
import sqlalchemy

from remora_review.pysource.walk import ReadOnlyWalk

SQLALCHEMY = Path(sqlalchemy.__file__).parent

_SAMPLE = '''
from os import *
from . import (a as b, c)
import x.y as z
type Alias[T: int = str] = list[T]
def generic[**P, *Ts](f: Callable[P, int], *a: *Ts) -> None: ...
@decorate(1)
class K[T](Base, metaclass=Meta):
    attr: int = 3
    async def m(self, /, x, *, y=lambda q: q, **kw) -> "K":
        global g
        async with open(x) as (f, h):
            async for i in f:
                print(f"{i!r:>{width}} {x=} {{}}", rb"raw" b"more", "a" f"b{c}")
        while (n := len(x)) > 0:
            del x[n - 1]
        try:
            pass
        except* (ValueError, TypeError) as e:
            raise RuntimeError from e
        else:
            yield from (j async for j in y if j if not j)
        finally:
            return {k: v for k, v in kw.items()}, {*x}, [*x], x[1:2, ...]
    def n(self):
        def inner():
            nonlocal inner
        match self:
            case K(attr=3) | [1, *rest] if rest: ...
            case {"k": str() as v, **others}: ...
            case _: ...
        assert self, "message"; x = y = 1; x += 2 if y else 3; print(not x, -y, x @ y)
'''


class _Events(cst.CSTVisitor):
    """Every call libcst makes of a visitor: each node by its place among the events."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, str, int]] = []

    def _mark(self, kind: str, node: cst.CSTNode, extra: str = "") -> None:
        self.events.append((kind, f"{type(node).__name__}{extra}", id(node)))

    def on_visit(self, node: cst.CSTNode) -> bool:
        self._mark("visit", node)
        return not isinstance(node, cst.Lambda)  # a pruned subtree, too

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self._mark("leave", original_node)

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        self._mark("visit", node, f".{attribute}")

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        self._mark("leave", original_node, f".{attribute}")


class _WalkedEvents(ReadOnlyWalk, _Events):
    pass


def _hooked(base: type[cst.CSTVisitor]) -> type[Any]:
    """A visitor with libcst's named hooks for every node class, and a few attribute hooks,
    recording each call: what `visit_<Node>` and friends see."""
    def hook(name: str, answer: bool | None = None) -> Any:
        def record(self: Any, node: cst.CSTNode) -> bool | None:
            self.events.append((name, id(node)))
            return answer
        return record

    names: dict[str, Any] = {}
    for node_class in _node_classes():
        n = node_class.__name__
        names[f"visit_{n}"] = hook(f"visit_{n}", False if n == "Lambda" else None)
        names[f"leave_{n}"] = hook(f"leave_{n}")
    for attribute in ("ClassDef_bases", "FunctionDef_body", "FormattedStringExpression_format_spec",
                      "ImportFrom_names", "Module_body"):
        names[f"visit_{attribute}"] = hook(f"visit_{attribute}")
        names[f"leave_{attribute}"] = hook(f"leave_{attribute}")
    names["__init__"] = lambda self: setattr(self, "events", [])
    return type(f"Hooked{base.__name__}", (base,), names)


def _node_classes() -> set[type[cst.CSTNode]]:
    found: set[type[cst.CSTNode]] = set()
    pending: list[type[cst.CSTNode]] = [cst.CSTNode]
    while pending:
        for sub in pending.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                pending.append(sub)
    return found


_HOOKED = _hooked(cst.CSTVisitor)
_WALKED_HOOKED = type("WalkedHooked", (ReadOnlyWalk, _HOOKED), {})


def _source(rel: str | None) -> str:
    return _SAMPLE if rel is None else (SQLALCHEMY / rel).read_text("utf-8")


@pytest.mark.parametrize("rel", [None, "orm/session.py", "sql/selectable.py", "engine/base.py"])
def test_a_read_only_walk_makes_libcsts_calls_in_its_order(rel: str | None) -> None:
    module = cst.parse_module(_source(rel))
    for theirs, ours in ((_Events(), _WalkedEvents()), (_HOOKED(), _WALKED_HOOKED())):
        assert module.visit(theirs) is module
        assert module.visit(ours) is module
        assert ours.events == theirs.events
        assert len(theirs.events) > 1000


def test_a_read_only_walk_rebuilds_no_node(monkeypatch: pytest.MonkeyPatch) -> None:
    module = cst.parse_module(_SAMPLE)
    rebuilt: list[str] = []
    for node_class in _node_classes():
        own = node_class.__dict__.get("_visit_and_replace_children")
        if own is not None:
            def counting(self: Any, visitor: Any, own: Any = own) -> Any:
                rebuilt.append(type(self).__name__)
                return own(self, visitor)
            monkeypatch.setattr(node_class, "_visit_and_replace_children", counting)
    module.visit(_Events())
    assert len(rebuilt) > 100  # libcst's walk rebuilds every node it descends into
    rebuilt.clear()
    module.visit(_WalkedEvents())
    assert rebuilt == []


def test_libcsts_own_walk_takes_over_where_a_nodes_children_are_not_known(monkeypatch):
    # Every node class of the installed libcst is walked here; a later release whose
    # `_visit_and_replace_children` does something else leaves that node class to libcst.
    from remora_review.pysource import walk

    assert [c.__name__ for c in _node_classes() if any(
        "_visit_and_replace_children" in k.__dict__ for k in c.__mro__)
        and walk.children(c) is None] == []

    class Looped:
        def _visit_and_replace_children(self, visitor: Any) -> Any:
            return {f: visit(self, f, getattr(self, f), visitor) for f in ("a", "b")}

    def visit(*args: Any) -> None: ...

    assert walk.children(Looped) is None  # type: ignore[arg-type]
    known = walk.children
    monkeypatch.setattr(walk, "children", lambda c: None if c in (cst.Attribute, cst.Call)
                        else known(c))
    module = cst.parse_module(_source("orm/session.py"))
    for theirs, ours in ((_Events(), type("Fallback", (ReadOnlyWalk, _Events), {})()),
                         (_HOOKED(), type("HookedFallback", (ReadOnlyWalk, _HOOKED), {})())):
        module.visit(theirs)
        module.visit(ours)
        assert ours.events == theirs.events
