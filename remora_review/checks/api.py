"""RR2xx: calls and attribute reads that the installed library version's API does not have.

Only receivers whose class is certain are checked: parameters and variables annotated with a
library class, locals bound to a library constructor or to a library call with a declared return
(also through `with ... as`, `await` and `except ... as`), and chains of those. A finding must be
right by the pack's API table whatever the runtime value is, so a class is left alone wherever it,
or a subclass the value might be, answers unknown attributes (`__getattr__`) or has the member.
"""

from __future__ import annotations

import bisect
import difflib
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import libcst as cst
import libcst.matchers as m
import libcst.metadata as meta

from remora_review.api_table import ApiTable, ClassInfo, Member, Param
from remora_review.checks.base import CheckResult, FileContext
from remora_review.checks.registry import CheckEnv
from remora_review.findings import Edit, Finding, Fix, Severity
from remora_review.pysource.annotations import cst_dotted
from remora_review.pysource.def_positions import DefPositions
from remora_review.pysource.scopes import Scopes
from remora_review.pysource.walk import ReadOnlyWalk
from remora_review.pysource.wrapper import wrap

UNKNOWN_ATTRIBUTE = "RR201"
UNKNOWN_KEYWORD = "RR202"
TOO_MANY_POSITIONAL = "RR203"
DEPRECATED = "RR204"

_DYNAMIC = ("__getattr__", "__getattribute__")
_CALLABLE_KINDS = frozenset({"method", "classmethod", "staticmethod"})
_MAX_DEPTH = 8  # how far a value's class is followed through names and calls
# Exceptions whose handler makes a read a probe: `try: x.new_api() except AttributeError: ...`.
_PROBES = frozenset({"AttributeError", "TypeError", "Exception", "BaseException"})
# "use `x` instead", "renamed to x", "in favor of x": the library names the one replacement.
_REPLACEMENT = re.compile(
    r"\b(?:use|renamed to|now named|replaced by|in favou?r of)\s+`?([A-Za-z_][\w.]*)(?:\(\))?`?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Known:
    """A value's class, and the table that describes it."""

    table: ApiTable
    cls: ClassInfo


@dataclass(frozen=True)
class _Hierarchy:
    """A table's classes with the subclasses each may be at run time."""

    table: ApiTable
    subclasses: Mapping[str, tuple[ClassInfo, ...]]
    names: tuple[str, ...]  # every name `table.canonical` knows, sorted

    @classmethod
    def of(cls, table: ApiTable) -> _Hierarchy:
        below: dict[str, list[ClassInfo]] = {}
        for info in table.classes.values():
            for base in info.bases:
                below.setdefault(base, []).append(info)
        names = tuple(sorted({*table.classes, *table.functions, *table.aliases}))
        return cls(table, {k: tuple(v) for k, v in below.items()}, names)

    def family(self, info: ClassInfo) -> tuple[ClassInfo, ...]:
        return (info, *self.subclasses.get(info.name, ()))

    def reaches(self, dotted: str) -> bool:
        """Whether the table knows `dotted` or a name below it (`sqlalchemy.orm`)."""
        at = bisect.bisect_left(self.names, dotted)
        return at < len(self.names) and (self.names[at] == dotted
                                         or self.names[at].startswith(dotted + "."))


@dataclass
class _File:
    """What one file's check resolves once."""

    ctx: FileContext | None  # None where only values are resolved (returned_classes)
    wrapper: meta.MetadataWrapper
    hierarchies: Sequence[_Hierarchy]
    scopes: Mapping[cst.CSTNode, meta.Scope | None]
    seen: _Collector
    cache: dict[cst.CSTNode, _Known | None] = field(default_factory=dict)
    judged: int = 0

    @property
    def parents(self) -> Mapping[cst.CSTNode, cst.CSTNode]:
        return self.seen.parents

    @cached_property
    def positions(self) -> Mapping[cst.CSTNode, meta.CodeRange]:
        """Resolved when first read: a whole-file run reads them for its findings only (the
        provider generates the module's whole code)."""
        return self.wrapper.resolve(meta.PositionProvider)

    def in_scope(self, node: cst.CSTNode, first_line_only: bool = False) -> bool:
        """Whether the node lies on a line the run reports on."""
        assert self.ctx is not None
        if self.ctx.changed_lines is None:
            return True  # every node of the module has a position, and every line is in scope
        span = self.positions.get(node)
        return span is not None and self.ctx.touches(
            span.start.line, span.start.line if first_line_only else span.end.line)


@dataclass
class ApiCheck:
    """Attributes, methods, keywords and positional arguments the library version lacks."""

    name: str = "api"
    codes: Sequence[str] = (UNKNOWN_ATTRIBUTE, UNKNOWN_KEYWORD, TOO_MANY_POSITIONAL, DEPRECATED)
    needs_packs: bool = True
    # Hierarchies are built once per table and shared by every file of a run.
    _hierarchies: dict[int, _Hierarchy] = field(default_factory=dict, repr=False)
    # Uses of a library class or function the check could judge, over the run (for the bench:
    # a check that stays quiet should be seen to have looked).
    judged: int = 0

    def run(self, ctx: FileContext) -> CheckResult:
        tables = [p.api_table for p in ctx.packs if p.kind == "library"]
        if not tables:
            return CheckResult()
        hierarchies = [self._hierarchy(t) for t in tables]
        if not _may_reach(*ctx.trees.facts(ctx.source).imports, hierarchies):
            return CheckResult()  # nothing here can name a table's class: no scope analysis
        # The type-hint check resolves the same scopes on the same wrapper: one cost.
        wrapper = ctx.analysed
        seen = _Collector()
        wrapper.module.visit(seen)
        file = _File(
            ctx=ctx,
            wrapper=wrapper,
            hierarchies=hierarchies,
            scopes=wrapper.resolve(Scopes),
            seen=seen,
        )
        found = tuple(_findings(file))
        self.judged += file.judged
        return CheckResult(found)

    def _hierarchy(self, table: ApiTable) -> _Hierarchy:
        key = id(table)
        if key not in self._hierarchies:
            self._hierarchies[key] = _Hierarchy.of(table)
        return self._hierarchies[key]


# --- what the file does ------------------------------------------------------------------------


def _may_reach(imports: Sequence[str], star_import: bool,
               hierarchies: Sequence[_Hierarchy]) -> bool:
    """Whether some import of the module could lead to a table's class or function: every value
    the check judges starts from a name whose qualified name comes from an import (libcst's
    QualifiedNameSource.IMPORT), and that name is the import's own (`import a.b` binds `a`) or
    one below it (`a.b.Session`); a star import binds names no scope analysis lists. Read with
    `ast` (checks/trees.py, TextFacts), whose parse costs a fraction of the scope analysis it
    spares on modules that import nothing of the library."""
    return star_import or any(h.reaches(name) for h in hierarchies for name in imports)


class _Collector(ReadOnlyWalk):
    """One pass over the module: the attribute reads and calls to look at, and what tells a read
    apart from an API use the table must know."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[tuple[cst.Attribute, bool]] = []  # (read, inside a probing `try`)
        self.calls: list[cst.Call] = []
        # Attribute names the file assigns on any object or names to hasattr/getattr/setattr:
        # the project may add them to library objects, or guard for versions that have them.
        self.dynamic_names: set[str] = set()
        self._stores: set[cst.CSTNode] = set()
        self._probing = 0  # how many `try` bodies around, whose handlers catch a failed probe
        # The parent of each node whose parent a value's class is read through (a called
        # attribute, a binding's statement): only those, in this same pass, where libcst's
        # ParentNodeProvider would map every node of the module in one more.
        self.parents: dict[cst.CSTNode, cst.CSTNode] = {}

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node not in self._stores:
            self.reads.append((node, self._probing > 0))

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node)
        self.parents[node.func] = node
        if m.matches(node.func, m.Name("hasattr") | m.Name("getattr") | m.Name("setattr")
                     | m.Name("delattr")) and len(node.args) >= 2:
            value = node.args[1].value
            if isinstance(value, cst.SimpleString) and isinstance(value.evaluated_value, str):
                self.dynamic_names.add(value.evaluated_value)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self.parents[target] = node

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self.parents[node.target] = node
        self._store(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self.parents[node.target] = node
        self._store(node.target)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self.parents[node.target] = node

    def visit_AsName(self, node: cst.AsName) -> None:
        self.parents[node.name] = node

    def visit_With(self, node: cst.With) -> None:
        for item in node.items:
            self.parents[item] = node

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self.parents[node.asname] = node

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None:
            self.parents[node.name] = node

    def visit_Parameters(self, node: cst.Parameters) -> None:
        for star in (node.star_arg, node.star_kwarg):
            if isinstance(star, cst.Param):
                self.parents[star] = node

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._store(node.target)

    def visit_Del(self, node: cst.Del) -> None:
        self._store(node.target)

    def _store(self, target: cst.BaseExpression) -> None:
        for element in _targets(target):
            if isinstance(element, cst.Attribute):
                self._stores.add(element)
                self.dynamic_names.add(element.attr.value)

    def visit_Try(self, node: cst.Try) -> bool:
        # Only the body probes: handlers, else and finally are checked as usual.
        if any(_catches_probe(h.type) for h in node.handlers):
            self._probing += 1
            node.body.visit(self)
            self._probing -= 1
        else:
            node.body.visit(self)
        for part in (*node.handlers, node.orelse, node.finalbody):
            if part is not None:
                part.visit(self)
        return False


def _targets(node: cst.BaseExpression) -> Iterator[cst.BaseExpression]:
    if isinstance(node, (cst.Tuple, cst.List)):
        for element in node.elements:
            yield from _targets(element.value)
    else:
        yield node


def _catches_probe(kind: cst.BaseExpression | None) -> bool:
    if kind is None:
        return True
    if isinstance(kind, cst.Tuple):
        return any(_catches_probe(e.value) for e in kind.elements)
    name = kind.attr.value if isinstance(kind, cst.Attribute) else getattr(kind, "value", "")
    return name in _PROBES


# --- findings ----------------------------------------------------------------------------------


def _findings(file: _File) -> Iterator[Finding]:
    for node, probing in file.seen.reads:
        attr = node.attr.value
        if probing or attr.startswith("_"):
            continue  # API tables list public members only
        if not file.in_scope(node.attr):
            continue
        known = _value_class(file, node.value, 0)
        if known is not None:
            file.judged += 1
            yield from _check_member(file, known, node, _called(file, node))
    for call in file.seen.calls:
        if file.in_scope(call, first_line_only=True):
            yield from _check_library_call(file, call)


def _called(file: _File, node: cst.Attribute) -> cst.Call | None:
    parent = file.parents.get(node)
    return parent if isinstance(parent, cst.Call) and parent.func is node else None


def _check_member(file: _File, known: _Known, node: cst.Attribute,
                  call: cst.Call | None) -> Iterator[Finding]:
    attr = node.attr.value
    hierarchy = next(h for h in file.hierarchies if h.table is known.table)
    family = hierarchy.family(known.cls)
    member = known.cls.members.get(attr)
    if member is None:
        if attr in file.seen.dynamic_names or any(
            attr in c.members or any(d in c.members for d in _DYNAMIC) for c in family
        ):
            return
        yield _unknown_attribute(file, known, node)
        return
    if member.deprecated is not None:
        yield _deprecated(file, known, node, member, call)
    if call is None or member.kind not in _CALLABLE_KINDS:
        return
    # The value may be a subclass that overrides the method: only a call none of them takes.
    overrides = [c.members[attr] for c in family if attr in c.members]
    problem = _misfit(call, overrides)
    if problem is not None:
        yield _misfit_finding(file, known.table, f"{_short(known.cls.name)}.{attr}()",
                              call, member, problem, f"{known.cls.name}.{attr}")


def _check_library_call(file: _File, call: cst.Call) -> Iterator[Finding]:
    """A library function or class called by name: its keywords, positional count, deprecation."""
    qualified = _imported_name(file, call.func)
    if qualified is None:
        return
    for hierarchy in file.hierarchies:
        table = hierarchy.table
        name = table.canonical(qualified)
        if name is None:
            continue
        file.judged += 1
        if name in table.functions:
            function = table.functions[name]
            label = f"{_short(name)}()"
            params, deprecated = function.params, function.deprecated
        else:
            cls = table.classes[name]
            init = cls.members.get("__init__")
            if init is None:
                return
            label = f"{_short(name)}()"
            params, deprecated = init.params, init.deprecated
        signature = Member(label, "method", params)
        if deprecated is not None:
            yield _finding(file, call.func, DEPRECATED,
                           _deprecation_message(label, table, deprecated), table, {"callee": name})
        problem = _misfit(call, [signature])
        if problem is not None:
            yield _misfit_finding(file, table, label, call, signature, problem, name)
        return


def _misfit(call: cst.Call, members: Sequence[Member]) -> tuple[str, str | int] | None:
    """What no signature among `members` takes: ("keyword", name) or ("positional", count)."""
    if not members:
        return None
    starred = any(a.star == "*" for a in call.args)
    keywords = [a.keyword.value for a in call.args if a.keyword is not None]
    positional = sum(1 for a in call.args if a.keyword is None and not a.star)
    for keyword in keywords:
        if not any(_takes_keyword(mem.params, keyword) for mem in members):
            return ("keyword", keyword)
    if not starred and not any(_takes_positional(mem.params, positional) for mem in members):
        return ("positional", positional)
    return None


def _takes_keyword(params: Sequence[Param], keyword: str) -> bool:
    return any(p.kind == "var_keyword" for p in params) or any(
        p.name == keyword and p.kind in ("positional_or_keyword", "keyword_only") for p in params
    )


def _takes_positional(params: Sequence[Param], count: int) -> bool:
    if any(p.kind == "var_positional" for p in params):
        return True
    return count <= sum(1 for p in params if p.kind in ("positional_only", "positional_or_keyword"))


# --- a value's class ---------------------------------------------------------------------------


def _value_class(file: _File, node: cst.BaseExpression, depth: int) -> _Known | None:
    if depth > _MAX_DEPTH:
        return None
    if node in file.cache:
        return file.cache[node]
    file.cache[node] = None  # a cycle (`x = x.next()`) resolves to nothing
    found = _resolve_value(file, node, depth)
    file.cache[node] = found
    return found


def _resolve_value(file: _File, node: cst.BaseExpression, depth: int) -> _Known | None:
    if isinstance(node, cst.Name):
        return _name_class(file, node, depth)
    if isinstance(node, cst.Await) and isinstance(node.expression, cst.Call):
        return _call_result(file, node.expression, depth, awaited=True)
    if isinstance(node, cst.Call):
        return _call_result(file, node, depth, awaited=False)
    if isinstance(node, cst.Attribute) and not node.attr.value.startswith("_"):
        owner = _value_class(file, node.value, depth + 1)
        if owner is None:
            return None
        member = owner.cls.members.get(node.attr.value)
        if member is None or member.kind not in ("property", "attribute"):
            return None
        return _lookup(file, member.returns, owner.table)
    return None


def _call_result(file: _File, call: cst.Call, depth: int, awaited: bool) -> _Known | None:
    func = call.func
    if isinstance(func, cst.Attribute):
        owner = _value_class(file, func.value, depth + 1)
        if owner is not None:
            member = owner.cls.members.get(func.attr.value)
            if member is None or member.kind not in _CALLABLE_KINDS or member.is_async != awaited:
                return None
            return _lookup(file, member.returns, owner.table)
    if awaited:
        return None
    qualified = _imported_name(file, func)
    if qualified is None:
        return None
    for hierarchy in file.hierarchies:
        name = hierarchy.table.canonical(qualified)
        if name is None:
            continue
        if name in hierarchy.table.classes:
            return _Known(hierarchy.table, hierarchy.table.classes[name])
        function = hierarchy.table.functions[name]
        return None if function.is_async else _lookup(file, function.returns, hierarchy.table)
    return None


def _lookup(file: _File, name: str | None, table: ApiTable) -> _Known | None:
    if name is None:
        return None
    info = table.classes.get(name)
    return _Known(table, info) if info is not None else None


def _name_class(file: _File, node: cst.Name, depth: int) -> _Known | None:
    """The class every binding of a name gives it, when they all agree."""
    scope = file.scopes.get(node)
    if scope is None:
        return None
    referents: set[meta.BaseAssignment] = set()
    for access in scope.accesses[node]:
        referents |= set(access.referents)
    if not referents:
        return None
    found: list[_Known] = []
    for assignment in referents:
        if not isinstance(assignment, meta.Assignment):
            return None  # an import, a builtin: a module or a class, not an instance
        known = _binding_class(file, assignment.node, depth)
        if known is None:
            return None
        found.append(known)
    first = found[0]
    return first if all(k.cls is first.cls for k in found) else None


def _binding_class(file: _File, node: cst.CSTNode, depth: int) -> _Known | None:
    if isinstance(node, cst.Param):
        parent = file.parents.get(node)
        if node.annotation is None or (
            isinstance(parent, cst.Parameters) and node in (parent.star_arg, parent.star_kwarg)
        ):
            return None  # `*args: X` holds a tuple of X
        return _annotation_class(file, node.annotation.annotation)
    if not isinstance(node, cst.Name):
        return None
    parent = file.parents.get(node)
    if isinstance(parent, cst.AnnAssign) and parent.target is node:
        return _annotation_class(file, parent.annotation.annotation)
    if isinstance(parent, cst.AssignTarget) and parent.target is node:
        assign = file.parents.get(parent)
        return _value_class(file, assign.value, depth + 1) if isinstance(assign, cst.Assign) else None
    if isinstance(parent, cst.NamedExpr) and parent.target is node:
        return _value_class(file, parent.value, depth + 1)
    if isinstance(parent, cst.AsName) and parent.name is node:
        holder = file.parents.get(parent)
        if isinstance(holder, cst.WithItem):
            return _entered(file, holder, depth)
        if isinstance(holder, cst.ExceptHandler) and holder.type is not None:
            return _class_named(file, holder.type)
    return None


def _entered(file: _File, item: cst.WithItem, depth: int) -> _Known | None:
    """`with X(...) as x`: what the context manager's `__enter__` returns."""
    manager = _value_class(file, item.item, depth + 1)
    if manager is None:
        return None
    statement = file.parents.get(item)
    asynchronous = isinstance(statement, cst.With) and statement.asynchronous is not None
    enter = manager.cls.members.get("__aenter__" if asynchronous else "__enter__")
    return _lookup(file, enter.returns, manager.table) if enter is not None else None


def _annotation_class(file: _File, node: cst.BaseExpression) -> _Known | None:
    """The one library class an annotation names: `Session`, `sa.orm.Session`, `Optional[X]`,
    `X | None`, `Annotated[X, ...]`, a generic `Result[Any]`, or a string of those."""
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
        sides = [s for s in (node.left, node.right) if not m.matches(s, m.Name("None"))]
        return _annotation_class(file, sides[0]) if len(sides) == 1 else None
    if isinstance(node, cst.Subscript):
        form = _imported_name(file, node.value)
        items = [e.slice.value for e in node.slice if isinstance(e.slice, cst.Index)]
        if form in ("typing.Optional", "typing.Annotated", "typing_extensions.Annotated"):
            return _annotation_class(file, items[0]) if items else None
        if form == "typing.Union":
            rest = [i for i in items if not m.matches(i, m.Name("None"))]
            return _annotation_class(file, rest[0]) if len(rest) == 1 else None
        return _class_named(file, node.value)  # a generic of a library class
    if isinstance(node, cst.SimpleString):
        return _string_annotation(file, node)
    return _class_named(file, node)


def _string_annotation(file: _File, node: cst.SimpleString) -> _Known | None:
    value = node.evaluated_value
    if not isinstance(value, str):
        return None
    try:
        parsed = cst.parse_expression(value.strip())
    except cst.ParserSyntaxError:
        return None
    dotted = cst_dotted(parsed)
    scope = file.scopes.get(node)
    if dotted is None or scope is None:
        return None
    head, _, rest = dotted.partition(".")
    names = {q.name for q in scope.get_qualified_names_for(head)
             if q.source is meta.QualifiedNameSource.IMPORT}
    if len(names) != 1:
        return None
    qualified = f"{names.pop()}.{rest}" if rest else names.pop()
    return _table_class(file, qualified)


def _class_named(file: _File, node: cst.BaseExpression) -> _Known | None:
    qualified = _imported_name(file, node)
    return _table_class(file, qualified) if qualified is not None else None


def _table_class(file: _File, qualified: str) -> _Known | None:
    for hierarchy in file.hierarchies:
        name = hierarchy.table.canonical(qualified)
        if name is not None and name in hierarchy.table.classes:
            return _Known(hierarchy.table, hierarchy.table.classes[name])
    return None


def _imported_name(file: _File, node: cst.BaseExpression) -> str | None:
    """The dotted name an expression refers to through the module's imports, when it is one."""
    if not isinstance(node, (cst.Name, cst.Attribute)):
        return None
    scope = file.scopes.get(node)
    if scope is None:
        return None
    names = {q.name for q in scope.get_qualified_names_for(node)
             if q.source is meta.QualifiedNameSource.IMPORT}
    return names.pop() if len(names) == 1 else None


# --- what a function gives its callers ---------------------------------------------------------


def returned_classes(module: cst.Module, tables: Sequence[ApiTable],
                     lines: Collection[int]) -> dict[str, tuple[str | None, ...]]:
    """For each function whose `def` line is among `lines`, the library class each of its
    `return` values certainly is (None where that is not known), by the same rules as the
    check's receivers: what a rewrite of the function must keep, since its callers use it."""
    wrapper = wrap(module)
    wrapper.resolve_many((Scopes, DefPositions))  # one walk of the module for both
    seen = _Collector()
    wrapper.module.visit(seen)
    file = _File(None, wrapper, [_Hierarchy.of(t) for t in tables],
                 wrapper.resolve(Scopes), seen)
    returns = _Returns()
    wrapper.module.visit(returns)
    defs = wrapper.resolve(DefPositions)
    out: dict[str, tuple[str | None, ...]] = {}
    for function, values in returns.found:
        if defs[function.name].start.line in lines:
            known = [_value_class(file, v, 0) for v in values]
            out[function.name.value] = out.get(function.name.value, ()) + tuple(
                k.cls.name if k is not None else None for k in known)
    return out


class _Returns(ReadOnlyWalk):
    """Each function with the values its own `return` statements give (not its nested ones')."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[cst.FunctionDef, list[cst.BaseExpression]]] = []
        self._open: list[list[cst.BaseExpression]] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._open.append([])
        self.found.append((node, self._open[-1]))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._open.pop()

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_Return(self, node: cst.Return) -> None:
        if self._open and node.value is not None:
            self._open[-1].append(node.value)


# --- finding values ----------------------------------------------------------------------------


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _version(table: ApiTable) -> str:
    return f"{table.library} {table.version}"


def _finding(file: _File, node: cst.CSTNode, code: str, message: str, table: ApiTable,
             data: Mapping[str, object], fix: Fix | None = None) -> Finding:
    span = file.positions[node]
    assert file.ctx is not None
    return Finding(
        path=file.ctx.path, line=span.start.line, col=span.start.column,
        end_line=span.end.line, end_col=span.end.column, code=code, message=message,
        severity=Severity.WARNING if code == DEPRECATED else Severity.ERROR,
        pack=next((p.name for p in file.ctx.packs if p.api_table is table), None),
        fix=fix, data=data,
    )


def _unknown_attribute(file: _File, known: _Known, node: cst.Attribute) -> Finding:
    attr = node.attr.value
    short = _short(known.cls.name)
    public = [n for n in known.cls.members if not n.startswith("_")]
    close = difflib.get_close_matches(attr, public, n=1)
    hint = f"; did you mean `{close[0]}`?" if close else ""
    return _finding(
        file, node.attr, UNKNOWN_ATTRIBUTE,
        f"`{short}` has no attribute `{attr}` in {_version(known.table)}{hint}",
        known.table, {"class": known.cls.name, "callee": f"{known.cls.name}.{attr}"},
    )


def _misfit_finding(file: _File, table: ApiTable, label: str, call: cst.Call, member: Member,
                    problem: tuple[str, str | int], target: str) -> Finding:
    kind, value = problem
    if kind == "keyword":
        node: cst.CSTNode = next(a.keyword for a in call.args
                                 if a.keyword is not None and a.keyword.value == value)
        message = f"`{label}` takes no keyword `{value}` in {_version(table)}"
        code = UNKNOWN_KEYWORD
    else:
        node = call
        most = sum(1 for p in member.params if p.kind in ("positional_only", "positional_or_keyword"))
        message = (f"`{label}` takes at most {most} positional argument{'s' * (most != 1)}, "
                   f"{value} given, in {_version(table)}")
        code = TOO_MANY_POSITIONAL
    # `target`: the qualified name, which a pack's `rewrites` entry names (packs/manifest.py).
    return _finding(file, node, code, message, table,
                    {"callee": label, "target": target, kind: value})


def _deprecated(file: _File, known: _Known, node: cst.Attribute, member: Member,
                call: cst.Call | None) -> Finding:
    label = f"{_short(known.cls.name)}.{member.name}" + ("()" if call is not None else "")
    replacement = _replacement(known.cls, member)
    fix = None
    if replacement is not None:
        span = file.positions[node.attr]
        fix = Fix(f"use `{replacement}`", (Edit(span.start.line, span.start.column,
                                                 span.end.line, span.end.column, replacement),))
    return _finding(
        file, node.attr, DEPRECATED,
        _deprecation_message(label, known.table, member.deprecated or ""),
        known.table, {"class": known.cls.name, "callee": f"{known.cls.name}.{member.name}"}, fix,
    )


def _deprecation_message(label: str, table: ApiTable, notice: str) -> str:
    if notice.startswith("deprecated"):  # the table's own "deprecated since 2.0: ..."
        return f"`{label}` is {notice} ({_version(table)})"
    return f"`{label}` is deprecated in {_version(table)}: {notice}"


def _replacement(cls: ClassInfo, member: Member) -> str | None:
    """The member the notice names instead, when using it is a rename: one public member of the
    same class, itself not deprecated, of the same kind and with the same parameters."""
    names = {found.rsplit(".", 1)[-1] for found in _REPLACEMENT.findall(member.deprecated or "")}
    if len(names) != 1:
        return None
    name = names.pop()
    other = cls.members.get(name)
    if other is None or name == member.name or name.startswith("_") or other.deprecated:
        return None
    same_kind = (other.kind in _CALLABLE_KINDS) == (member.kind in _CALLABLE_KINDS)
    return name if same_kind and other.params == member.params else None


def build(env: CheckEnv) -> ApiCheck:
    """The check for one run (checks/registry.py)."""
    return ApiCheck()
