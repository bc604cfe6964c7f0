"""Which class an annotation names: one rule, read from `ast` (project facts) or libcst (usage
profiles, remora-train) trees, each caller saying what a name means in its module.

`Optional[Session]`, `Session | None`, `Annotated[Session, ...]` and `"Session"` name Session; a
generic class names itself (`Select[tuple[int]]` is a Select); a container names nothing
(`list[Session]` is no Session), nor does a union of several classes. libcst is imported only
inside `from_cst`, whose callers have loaded it already: project facts read with `ast` alone.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import libcst as cst

_UNION_HEADS = frozenset({"Optional", "Union"})
# Subscripted names whose value is not an instance of the name itself (`list[Session]`,
# `Callable[..., Session]`); any other subscripted class is that class (`Select[tuple[int]]`).
_CONTAINERS = frozenset({
    "list", "dict", "set", "frozenset", "tuple", "type", "List", "Dict", "Set", "FrozenSet",
    "Tuple", "Type", "Sequence", "MutableSequence", "Mapping", "MutableMapping", "Iterable",
    "Iterator", "AsyncIterable", "AsyncIterator", "Collection", "Callable", "Awaitable",
    "Coroutine", "Generator", "AsyncGenerator", "Literal", "ClassVar", "Final", "Deque",
    "DefaultDict", "OrderedDict", "Counter", "ChainMap", "AbstractSet", "MutableSet",
    "ContextManager", "AsyncContextManager", "Required", "NotRequired", "TypeGuard", "Unpack",
})

@dataclass(frozen=True)
class Named:
    """A name or attribute chain (`Session`, `sa.orm.Session`): the caller says what it names."""

    written: str  # as written: "sa.orm.Session"
    node: Any  # the tree's node, for callers that resolve names by node (libcst's scopes)
    quoted: bool  # read out of a string annotation: `node` is an `ast` node of the string's text


@dataclass(frozen=True)
class Quoted:
    text: str  # a string annotation's value, read as an expression


@dataclass(frozen=True)
class Subscripted:
    head: Named | None  # None when the subscripted value is no name
    elements: tuple[Form, ...]


@dataclass(frozen=True)
class Joined:
    members: tuple[Form, ...]  # `A | B`


@dataclass(frozen=True)
class NoneForm:
    """`None` in a union."""


@dataclass(frozen=True)
class Other:
    """Anything else: a call, a literal, `...`."""


Form = Named | Quoted | Subscripted | Joined | NoneForm | Other
Qualify = Callable[[Named], str | None]  # the dotted path a name stands for, or None


def named_class(form: Form, qualify: Qualify) -> str | None:
    """The dotted path of the one class an annotation names, or None."""
    classes = list(_classes(form, qualify))
    return classes[0] if len(classes) == 1 else None


def _classes(form: Form, qualify: Qualify) -> Iterator[str | None]:
    """Each class a form may stand for; None for a member that names none (so a union with it
    names no one class)."""
    if isinstance(form, NoneForm):
        return
    if isinstance(form, Quoted):
        try:
            inner = ast.parse(form.text, mode="eval").body
        except SyntaxError:
            yield None
            return
        yield from _classes(from_ast(inner, quoted=True), qualify)
    elif isinstance(form, Joined):
        for member in form.members:
            yield from _classes(member, qualify)
    elif isinstance(form, Subscripted):
        head = (qualify(form.head) or "") if form.head is not None else ""
        last = head.rsplit(".", 1)[-1]
        if last in _UNION_HEADS:
            for element in form.elements:
                yield from _classes(element, qualify)
        elif last == "Annotated" and form.elements:
            yield from _classes(form.elements[0], qualify)
        elif last in _CONTAINERS or not last:
            yield None  # a container: list[Session] is not a Session
        else:
            yield head  # a generic class: Select[tuple[int]] is a Select
    elif isinstance(form, Named):
        yield qualify(form)
    else:
        yield None


def from_ast(node: ast.expr, quoted: bool = False) -> Form:
    """An `ast` annotation expression as the forms the rule reads."""
    if isinstance(node, ast.Constant):
        if node.value is None:
            return NoneForm()
        return Quoted(node.value) if isinstance(node.value, str) else Other()
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return Joined((from_ast(node.left, quoted), from_ast(node.right, quoted)))
    if isinstance(node, ast.Subscript):
        elements = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        head = _named_ast(node.value, quoted)
        return Subscripted(head, tuple(from_ast(e, quoted) for e in elements))
    return _named_ast(node, quoted) or Other()


def _named_ast(node: ast.expr, quoted: bool) -> Named | None:
    written = dotted(node)
    return Named(written, node, quoted) if written is not None else None


def from_cst(node: cst.BaseExpression) -> Form:
    """A libcst annotation expression as the forms the rule reads; its string parts are read
    with `ast` (`Named.quoted`)."""
    import libcst as cst

    if isinstance(node, cst.Name) and node.value == "None":
        return NoneForm()
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return Quoted(value) if isinstance(value, str) else Other()
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
        return Joined((from_cst(node.left), from_cst(node.right)))
    if isinstance(node, cst.Subscript):
        elements = tuple(from_cst(e.slice.value) for e in node.slice
                         if isinstance(e.slice, cst.Index))
        return Subscripted(_named_cst(node.value), elements)
    return _named_cst(node) or Other()


def _named_cst(node: cst.BaseExpression) -> Named | None:
    written = cst_dotted(node)
    return Named(written, node, False) if written is not None else None


def cst_dotted(node: cst.BaseExpression) -> str | None:
    """`a.b.C` as written in a libcst tree, or None for anything but a name or attribute chain."""
    import libcst as cst

    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = cst_dotted(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None


def dotted(node: ast.expr) -> str | None:
    """`a.b.C` as written, or None for anything but a name or attribute chain."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None
