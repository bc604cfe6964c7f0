"""A read-only walk for libcst visitors: the same calls in the same order, with no tree rebuilt.

`CSTNode.visit` rebuilds every node it passes (`_visit_and_replace_children` makes a new node
from the visited children, validating it), even for a `CSTVisitor`, whose result it throws away
("TODO: provide traversal where children are not replaced", libcst/_nodes/base.py). A visitor
that mixes in `ReadOnlyWalk` walks a node's children itself from `on_visit` and answers False,
so libcst neither rebuilds the node nor descends again; a `node.visit(self)` the visitor makes
itself (libcst's scope visitor makes many) takes the same path.

libcst's `on_visit`, `on_leave` and attribute calls look a method up by a name built for every
node; the walk looks each up once per node class and leaves out libcst's no-op stubs (the ones
`mark_no_op` marks). Each node class's children, in visiting order, are read once from its own
`_visit_and_replace_children`. tests/pysource/test_walk.py compares every call with libcst's
walk on real modules.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import libcst as cst

_HELPERS = frozenset({"visit_required", "visit_optional", "visit_sentinel", "visit_iterable",
                      "visit_sequence", "visit_body_iterable", "visit_body_sequence"})
_SEQUENCES = (tuple, list)

Hook = Callable[[Any, cst.CSTNode], Any]


@cache
def children(node_class: type[cst.CSTNode]) -> tuple[tuple[str, bool], ...] | None:
    """The fields libcst visits, in its order, each with whether libcst skips it when it is None
    (a field read into a local first and visited only when set, as `format_spec`; the others
    are visited, attribute calls and all, even when None or a sentinel). None where the method
    does anything else with the visitor (another libcst release): libcst walks those nodes."""
    method = next(k.__dict__["_visit_and_replace_children"] for k in node_class.__mro__
                  if "_visit_and_replace_children" in k.__dict__)
    tree = ast.parse(textwrap.dedent(inspect.getsource(method)))
    locals_ = {t.id: ast.unparse(n.value) for n in ast.walk(tree) if isinstance(n, ast.Assign)
               for t in n.targets if isinstance(t, ast.Name)}
    fields: dict[str, bool] = {}
    calls = sorted((n for n in ast.walk(tree) if isinstance(n, ast.Call)),
                   key=lambda n: (n.lineno, n.col_offset))
    for call in calls:
        given = [*call.args, *(k.value for k in call.keywords)]
        if not any(isinstance(a, ast.Name) and a.id == "visitor" for a in given):
            continue
        if not (isinstance(call.func, ast.Name) and call.func.id in _HELPERS
                and len(call.args) == 4 and ast.unparse(call.args[0]) == "self"
                and isinstance(call.args[1], ast.Constant) and isinstance(call.args[1].value, str)):
            return None
        field = call.args[1].value
        value = ast.unparse(call.args[2])
        guarded = locals_.get(value) == f"self.{field}"  # visited only when set
        if value != f"self.{field}" and not guarded:
            return None
        fields.setdefault(field, guarded)
    return tuple(fields.items())


@dataclass(frozen=True)
class _NodePlan:
    """How one visitor class walks one node class."""

    visit: Hook | None  # the `visit_<Node>` libcst's `on_visit` would call; None: no call
    leave: Hook | None  # the `leave_<Node>` libcst's `on_leave` would call
    # (field, skipped when None, attribute calls); None: libcst walks the node's children
    fields: tuple[tuple[str, bool, bool], ...] | None


class _Plan:
    """Each node class's `_NodePlan` for one visitor class, made on the first node of it."""

    def __init__(self, visitor_class: type[cst.CSTVisitor]) -> None:
        self._class = visitor_class
        # Where the class leaves a call to libcst, the walk makes libcst's lookups itself.
        self.own_visit = _below(visitor_class, "on_visit") is cst.CSTVisitor.on_visit
        self.own_leave = _below(visitor_class, "on_leave") is cst.CSTVisitor.on_leave
        # Whether the class's `on_visit` and `on_leave` are the mix-in's, which the walk can
        # then make without calling them.
        self.direct_visit = visitor_class.on_visit is ReadOnlyWalk.on_visit
        self.direct_leave = visitor_class.on_leave is ReadOnlyWalk.on_leave and self.own_leave
        self._own_attributes = (
            visitor_class.on_visit_attribute is cst.CSTVisitor.on_visit_attribute
            and visitor_class.on_leave_attribute is cst.CSTVisitor.on_leave_attribute)
        self._nodes: dict[type[cst.CSTNode], _NodePlan] = {}

    def of(self, node_class: type[cst.CSTNode]) -> _NodePlan:
        found = self._nodes.get(node_class)
        if found is None:
            found = self._nodes[node_class] = self._new(node_class)
        return found

    def _hook(self, name: str) -> Hook | None:
        found = getattr(self._class, name, None)
        return None if found is None or getattr(found, "_is_no_op", False) else found

    def _new(self, node_class: type[cst.CSTNode]) -> _NodePlan:
        name = node_class.__name__
        found = children(node_class)
        fields = None if found is None else tuple(
            (field, guarded, not self._own_attributes
             or self._hook(f"visit_{name}_{field}") is not None
             or self._hook(f"leave_{name}_{field}") is not None)
            for field, guarded in found)
        return _NodePlan(self._hook(f"visit_{name}"), self._hook(f"leave_{name}"), fields)


def _below(visitor_class: type[cst.CSTVisitor], name: str) -> object:
    """The method the mix-in's own one defers to: the next class after it that has one."""
    mro = visitor_class.__mro__
    return next(k.__dict__[name] for k in mro[mro.index(ReadOnlyWalk) + 1:] if name in k.__dict__)


@cache
def _plan(visitor_class: type[cst.CSTVisitor]) -> _Plan:
    return _Plan(visitor_class)


class ReadOnlyWalk(cst.CSTVisitor):
    """Mix in before the visitor class: `class V(ReadOnlyWalk, SomeVisitor)`. A class that
    overrides `on_leave` can end it with `leave_hook` in place of libcst's `on_leave`."""

    def on_visit(self, node: cst.CSTNode) -> bool:
        # Walked here, libcst neither descends nor rebuilds `node`; where the walk does not know
        # the node's children, libcst walks them, each child coming back here.
        return self._visit(node, _plan(type(self)))

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if _plan(type(self)).own_leave:
            self.leave_hook(original_node)
        else:
            super().on_leave(original_node)

    def leave_hook(self, node: cst.CSTNode) -> None:
        """libcst's `CSTVisitor.on_leave`: the class's `leave_<Node>`, if it has one."""
        leave = _plan(type(self)).of(type(node)).leave
        if leave is not None:
            leave(self, node)

    def _visit(self, node: cst.CSTNode, plan: _Plan) -> bool:
        """`on_visit` with what it defers to libcst done here, then the children; whether libcst
        is to walk them."""
        found = plan.of(type(node))
        if plan.own_visit:
            go = found.visit is None or found.visit(self, node) is not False
        else:
            go = super().on_visit(node)
        if not go or found.fields is None:
            return go
        for field, guarded, heard in found.fields:
            value = getattr(node, field)
            if value is None and guarded:
                continue
            if heard:
                self.on_visit_attribute(node, field)
            if isinstance(value, _SEQUENCES):  # what parsed trees hold
                for child in value:
                    self._child(child, plan)
            elif value is not None and value is not cst.MaybeSentinel.DEFAULT:
                self._child(value, plan)
            if heard:
                self.on_leave_attribute(node, field)
        return False

    def _child(self, node: cst.CSTNode, plan: _Plan) -> None:
        """What libcst's `node.visit(self)` calls, without the calls that would only come back
        here: the class's own `on_visit` or `on_leave` where it has one."""
        if plan.of(type(node)).fields is None:
            node.visit(self)  # libcst's walk, which calls on_visit and on_leave
            return
        if plan.direct_visit:
            self._visit(node, plan)
        else:
            self.on_visit(node)
        if plan.direct_leave:
            leave = plan.of(type(node)).leave
            if leave is not None:
                leave(self, node)
        else:
            self.on_leave(node)
