"""Usage profiles: how a function uses one of its parameters, built alike at train and check time."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import libcst as cst
import libcst.matchers as matchers
import libcst.metadata as meta

from remora_review.pysource.annotations import Named, cst_dotted, from_cst, named_class
from remora_review.pysource.def_positions import DefPositions
from remora_review.pysource.imports import bindings
from remora_review.pysource.scopes import Scopes
from remora_review.pysource.walk import ReadOnlyWalk
from remora_review.pysource.wrapper import wrap

_OPERATORS: Mapping[type[cst.CSTNode], str] = {
    cst.Add: "+", cst.Subtract: "-", cst.Multiply: "*", cst.Divide: "/", cst.FloorDivide: "//",
    cst.Modulo: "%", cst.Power: "**", cst.BitAnd: "&", cst.BitOr: "|", cst.BitXor: "^",
    cst.LeftShift: "<<", cst.RightShift: ">>", cst.MatrixMultiply: "@",
    cst.LessThan: "<", cst.GreaterThan: ">", cst.LessThanEqual: "<=", cst.GreaterThanEqual: ">=",
    cst.In: "in", cst.NotIn: "not in",
}


@dataclass(frozen=True, order=True)
class MethodCall:
    name: str
    n_args: int
    keywords: tuple[str, ...] = ()
    awaited: bool = False

    def text(self) -> str:
        kw = "".join(f", {k}=" for k in self.keywords)
        return f"{'await ' if self.awaited else ''}{self.name}({self.n_args}{kw})"


@dataclass(frozen=True)
class UsageProfile:
    """What a function does with one parameter: the evidence type inference works from."""

    name: str
    function: str
    attributes: frozenset[str] = frozenset()  # read, not called
    assigned: frozenset[str] = frozenset()  # attributes written
    calls: tuple[MethodCall, ...] = ()
    protocols: frozenset[str] = frozenset()  # with, async_with, for, async_for, await, call, getitem, ...
    operators: frozenset[str] = frozenset()
    passed_to: tuple[tuple[str, str], ...] = ()  # (callee qualified name, position "0" or keyword)
    isinstance_of: frozenset[str] = frozenset()
    default: str | None = None
    is_async_function: bool = False
    returned: bool = False  # the function returns the value as it is
    related: tuple[str, ...] = field(default=(), compare=False)  # names of sibling parameters
    # Values that stand in for it where it is None or empty (`p or make()`, `X if p is None else
    # p`, `if p is None: p = X`): a call written `callee()`, an attribute of the instance
    # `self.attr`, a literal's builtin `builtins.dict`. Declarations, not uses (infer/declared.py).
    fallbacks: tuple[str, ...] = ()
    # The other names the code gives the value: the instance attributes it is stored as
    # (`self.connection = conn`). Where the parameter's own name says nothing, they speak for it
    # (scoring.spoken_name). Not the locals bound to it: `pipe = pipeline or self.connection`
    # names either (fresh packs, rq: four sure wrong answers, a `Redis` for a `Pipeline`).
    other_names: tuple[str, ...] = ()

    @property
    def members(self) -> frozenset[str]:
        """Every member name the parameter is used through."""
        return self.attributes | self.assigned | {c.name for c in self.calls}

    @property
    def only_passed_on(self) -> bool:
        """Whether the function does nothing with the value but pass it to calls."""
        return bool(self.passed_to) and not (self.members or self.protocols or self.operators
                                             or self.isinstance_of)

    @property
    def has_evidence(self) -> bool:
        return bool(self.members or self.protocols or self.passed_to or self.isinstance_of)

    def with_uses_of(self, other: UsageProfile) -> UsageProfile:
        """This profile with the method calls and protocol uses of another parameter it is passed
        on to. Attributes stay out: `.name` or `.type` on a helper's parameter says too little
        about what every caller passes (on the dev set they cost precision)."""
        return replace(
            self,
            calls=tuple(sorted(set(self.calls) | set(other.calls))),
            protocols=self.protocols | other.protocols,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "function": self.function,
            "attributes": sorted(self.attributes),
            "assigned": sorted(self.assigned),
            "calls": [[c.name, c.n_args, list(c.keywords), c.awaited] for c in self.calls],
            "protocols": sorted(self.protocols),
            "operators": sorted(self.operators),
            "passed_to": [list(p) for p in self.passed_to],
            "isinstance_of": sorted(self.isinstance_of),
            "default": self.default,
            "is_async_function": self.is_async_function,
            "returned": self.returned,
            "fallbacks": list(self.fallbacks),
            "other_names": list(self.other_names),
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> UsageProfile:
        return cls(
            name=raw["name"],
            function=raw["function"],
            attributes=frozenset(raw["attributes"]),
            assigned=frozenset(raw["assigned"]),
            calls=tuple(MethodCall(n, a, tuple(k), w) for n, a, k, w in raw["calls"]),
            protocols=frozenset(raw["protocols"]),
            operators=frozenset(raw["operators"]),
            passed_to=tuple((c, p) for c, p in raw["passed_to"]),
            isinstance_of=frozenset(raw["isinstance_of"]),
            default=raw.get("default"),
            is_async_function=raw.get("is_async_function", False),
            returned=raw.get("returned", False),
            fallbacks=tuple(raw.get("fallbacks", ())),
            other_names=tuple(raw.get("other_names", ())),
        )

    def text(self, with_name: bool = True) -> str:
        """A canonical rendering for the embedding model: same shape for mined and queried usages."""
        parts = []
        if with_name:
            kind = "async def" if self.is_async_function else "def"
            parts.append(f"parameter {self.name} of {kind} {self.function}")
        if self.calls:
            parts.append("calls " + ", ".join(c.text() for c in sorted(set(self.calls))))
        if self.attributes:
            parts.append("reads " + ", ".join(sorted(self.attributes)))
        if self.assigned:
            parts.append("sets " + ", ".join(sorted(self.assigned)))
        if self.protocols:
            parts.append("used with " + ", ".join(sorted(self.protocols)))
        if self.operators:
            parts.append("operators " + " ".join(sorted(self.operators)))
        if self.passed_to:
            parts.append("passed to " + ", ".join(f"{c}[{p}]" for c, p in sorted(set(self.passed_to))))
        if self.isinstance_of:
            parts.append("isinstance " + ", ".join(sorted(self.isinstance_of)))
        return "; ".join(parts)


@dataclass(frozen=True)
class ParameterSite:
    """An unannotated or annotated parameter of a function, with where it sits and how it is used."""

    function: cst.FunctionDef
    param: cst.Param
    profile: UsageProfile
    annotation: cst.Annotation | None


class UseCollector:
    """Accumulates one parameter's uses from its scope references."""

    def __init__(self) -> None:
        self.attributes: set[str] = set()
        self.assigned: set[str] = set()
        self.calls: list[MethodCall] = []
        self.protocols: set[str] = set()
        self.operators: set[str] = set()
        self.passed_to: list[tuple[str, str]] = []
        self.isinstance_of: set[str] = set()
        self.returned = False
        self.stored: set[str] = set()  # instance attributes the value is assigned to
        self.fallbacks: set[str] = set()
        self.aliases: set[str] = set()  # local names found to hold the value

    def profile(self, name: str, function: str, is_async_function: bool, default: str | None = None,
                related: tuple[str, ...] = ()) -> UsageProfile:
        """The uses collected, as the profile of `name` in `function`."""
        return UsageProfile(
            name=name,
            function=function,
            attributes=frozenset(self.attributes - self.assigned - {c.name for c in self.calls}),
            assigned=frozenset(self.assigned),
            calls=tuple(sorted(set(self.calls))),
            protocols=frozenset(self.protocols),
            operators=frozenset(self.operators),
            passed_to=tuple(sorted(set(self.passed_to))),
            isinstance_of=frozenset(self.isinstance_of),
            default=default,
            is_async_function=is_async_function,
            returned=self.returned,
            related=related,
            fallbacks=tuple(sorted(self.fallbacks)),
            other_names=tuple(sorted(self.stored - {name})),
        )


@dataclass(frozen=True)
class _Receivers:
    """Names whose class is known in a function: `self.m(x)` calls the method `m` of the class
    being defined, `view.m(x)` that of `view`'s annotated class (`view: BaseModelView`)."""

    owner: Mapping[str, str]  # name -> class, as `_callee` reads it: Outer.Inner, pkg.mod.C, .mod.C
    self_name: str | None = None  # the bound first parameter of a method

    def callee(self, func: cst.BaseExpression) -> str | None:
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            owner = self.owner.get(func.value.value)
            if owner is not None:
                return f"{owner}.{func.attr.value}"
        return None


def _call_shape(call: cst.Call) -> tuple[int, tuple[str, ...]]:
    n_args = sum(1 for a in call.args if a.keyword is None and a.star == "")
    keywords = tuple(sorted(a.keyword.value for a in call.args if a.keyword is not None))
    return n_args, keywords


class _Parents:
    """Each node's parent, worked out for one top-level function or class at a time, when a
    question first reaches into it; the whole module only for a node outside all of them."""

    def __init__(self, module: cst.Module, scopes: Mapping[cst.CSTNode, meta.Scope | None]) -> None:
        self._module = module
        self._scopes = scopes
        self._links: dict[cst.CSTNode, cst.CSTNode] = {s: module for s in module.body}
        self._walked: set[cst.CSTNode] = set()

    def get(self, node: cst.CSTNode) -> cst.CSTNode | None:
        if node is self._module:
            return None  # asking would walk the whole module for a parent it cannot have
        found = self._links.get(node)
        for root in (self._root(node), self._module):  # its own top-level block, else all
            if found is not None or self._module in self._walked:
                break
            if root not in self._walked:
                self._walked.add(root)
                root.visit(_LinkRecorder(self._links))
                found = self._links.get(node)
        return found

    def _root(self, node: cst.CSTNode) -> cst.CSTNode:
        """The top-level function or class the node lies in (by its scopes), else the module."""
        scope = self._scopes.get(node)
        top: Any = None
        while scope is not None and not isinstance(scope, (meta.GlobalScope, meta.BuiltinScope)):
            top, scope = scope, scope.parent  # a function's, class's or comprehension's scope
        owner = getattr(top, "node", None)
        return owner if owner is not None and self._links.get(owner) is self._module else self._module


class _LinkRecorder(ReadOnlyWalk):
    def __init__(self, links: dict[cst.CSTNode, cst.CSTNode]) -> None:
        super().__init__()
        self._links = links
        self._open: list[cst.CSTNode] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self._open:
            self._links[node] = self._open[-1]
        self._open.append(node)
        return super().on_visit(node)  # walks the children

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self._open.pop()


class ProfileBuilder:
    """Builds usage profiles for the parameters of every function in one module.

    The module is resolved once; both the checker and remora-train call `sites()`.
    """

    def __init__(self, wrapper: meta.MetadataWrapper) -> None:
        self.wrapper = wrapper
        # Scopes only: parents and qualified names are read for the few nodes the profiles
        # reach (_Parents; Scope.get_qualified_names_for), where libcst's ParentNodeProvider and
        # QualifiedNameProvider each walk the whole module (a fifth of a warm hook's review).
        self.scopes = wrapper.resolve(Scopes)
        self.parents = _Parents(wrapper.module, self.scopes)
        self._imports: dict[str, str] | None = None
        self._receivers_of: dict[cst.FunctionDef, _Receivers] = {}
        self._sites_of: dict[cst.FunctionDef, tuple[ParameterSite, ...]] = {}

    @cached_property
    def positions(self) -> Mapping[cst.CSTNode, meta.CodeRange]:
        """Where each function and its parameters' names lie (a finding's place, the lines a
        change touches): every position the checker reads of a function."""
        return self.wrapper.resolve(DefPositions)

    def imports(self) -> Mapping[str, str]:
        """Module-level import bindings: local name -> dotted path (relative imports left out:
        the module's name is not known here)."""
        if self._imports is None:
            self._imports = {}
            for stmt in self.wrapper.module.body:
                if not isinstance(stmt, cst.SimpleStatementLine):
                    continue
                for small in stmt.body:
                    if isinstance(small, (cst.Import, cst.ImportFrom)):
                        parsed = ast.parse(self.wrapper.module.code_for_node(small)).body[0]
                        assert isinstance(parsed, (ast.Import, ast.ImportFrom))
                        self._imports.update(bindings(parsed, None))
        return self._imports

    def functions(self) -> Iterator[cst.FunctionDef]:
        for node in self.scopes:
            if isinstance(node, cst.FunctionDef):
                yield node

    def owns(self, node: cst.CSTNode) -> bool:
        """Whether the node is one of this module's (with a scope)."""
        return node in self.scopes

    def qualified(self, node: cst.CSTNode) -> str | None:
        scope = self.scopes.get(node)
        names = scope.get_qualified_names_for(node) if scope is not None else set()
        # Names through locals (`s.add` on a parameter) say nothing about the callee's type.
        best = sorted(n.name for n in names if "<locals>" not in n.name)
        return best[0] if best else None

    def sites(self, function: cst.FunctionDef) -> list[ParameterSite]:
        """Each parameter's site (worked out once: propagation and the check both ask)."""
        found = self._sites_of.get(function)
        if found is None:
            found = self._sites_of[function] = tuple(self._new_sites(function))
        return list(found)

    def _new_sites(self, function: cst.FunctionDef) -> list[ParameterSite]:
        params = function.params
        plain = [*params.posonly_params, *params.params, *params.kwonly_params]
        skip_first = self._bound_class(function) is not None
        names = [p.name.value for p in plain]
        out = []
        for i, param in enumerate(plain):
            if skip_first and i == 0:
                continue
            profile = self.profile(function, param, tuple(n for n in names if n != param.name.value))
            out.append(ParameterSite(function, param, profile, param.annotation))
        return out

    def implementation(self, function: cst.FunctionDef) -> cst.FunctionDef | None:
        """The def an `@overload` stub declares: the same name, undecorated by `overload`, in the
        same block. Its body is the only evidence of how the stub's parameters are used."""
        if not _is_overload(function):
            return None
        block = self.parents.get(function)
        body = getattr(block, "body", ())
        return next((s for s in reversed(body) if isinstance(s, cst.FunctionDef)
                     and s.name.value == function.name.value and not _is_overload(s)), None)

    def _bound_class(self, function: cst.FunctionDef) -> cst.ClassDef | None:
        """The class whose instances (or itself) a method's first parameter is bound to."""
        owner = self._enclosing_class(function)
        decorators = {cst_dotted(d.decorator) for d in function.decorators}
        if not isinstance(owner, cst.ClassDef) or "staticmethod" in decorators:
            return None
        return owner

    def _enclosing_class(self, node: cst.CSTNode) -> cst.CSTNode | None:
        parent = self.parents.get(node)
        while parent is not None and not isinstance(parent, (cst.ClassDef, cst.FunctionDef)):
            parent = self.parents.get(parent)
        return parent

    def profile(
        self, function: cst.FunctionDef, param: cst.Param, related: tuple[str, ...] = ()
    ) -> UsageProfile:
        name = param.name.value
        acc = UseCollector()
        acc.aliases.add(name)
        receivers = self._receivers(function)
        for ref in self._references(function, param):
            self._use(ref, acc, receivers)
        self._reassigned_when_none(function, param, acc, receivers)
        owner = self._bound_class(function) if acc.stored else None
        if owner is not None:
            self._stored_uses(owner, acc)
        default = None
        if param.default is not None:
            default = cst.Module([]).code_for_node(param.default)[:40]
        return acc.profile(name, function.name.value, function.asynchronous is not None, default,
                           related)

    def _references(self, function: cst.FunctionDef, param: cst.Param) -> Iterator[cst.Name]:
        """Where a parameter's value is read in its function's body."""
        scope = self.scopes.get(function.body)
        if scope is None:
            return
        for assignment in scope.assignments[param.name.value]:
            if getattr(assignment, "node", None) is not param:
                continue
            for ref in assignment.references:
                if isinstance(ref.node, cst.Name):
                    yield ref.node

    def _stored_uses(self, owner: cst.ClassDef, acc: UseCollector) -> None:
        """A value stored on the instance (`self.dialect = dialect`) is used wherever the class's
        methods read that attribute back: those uses are the parameter's too."""
        stored = set(acc.stored)
        for method in owner.body.body:
            if not isinstance(method, cst.FunctionDef) or self._bound_class(method) is None:
                continue
            params = [*method.params.posonly_params, *method.params.params]
            if not params:
                continue
            receivers = self._receivers(method)
            for ref in self._references(method, params[0]):
                read = self.parents.get(ref)
                if (isinstance(read, cst.Attribute) and read.value is ref
                        and read.attr.value in stored
                        and not isinstance(self.parents.get(read), cst.AssignTarget)):
                    self._use(read, acc, receivers, store=False)

    def _receivers(self, function: cst.FunctionDef) -> _Receivers:
        """Computed once per function: every parameter's profile and every stored attribute's
        uses read them."""
        found = self._receivers_of.get(function)
        if found is None:
            found = self._receivers_of[function] = self._find_receivers(function)
        return found

    def _find_receivers(self, function: cst.FunctionDef) -> _Receivers:
        owner = self._bound_class(function)
        params = [*function.params.posonly_params, *function.params.params]
        out = {}
        for param in [*params, *function.params.kwonly_params]:
            cls = annotation_class(self, param.annotation) if param.annotation else None
            if cls is not None:
                out[param.name.value] = cls
        qualified = self.qualified(owner.name) if owner is not None and params else None
        if qualified is not None:
            out[params[0].name.value] = qualified
        receivers = _Receivers({**self._enclosing_receivers(function), **out},
                               params[0].name.value if owner is not None and params else None)
        return _Receivers({**receivers.owner, **self._call_locals(function, receivers), **out},
                          receivers.self_name)

    def _enclosing_receivers(self, function: cst.FunctionDef) -> dict[str, str]:
        """A closure's view of the function it is defined in: its names whose class is known
        (the method's `self`, `crud = self._crud_for(policy)`) are the same values inside, where
        the closure binds no name of its own over them (a route factory's endpoint)."""
        outer = self._enclosing_class(function)
        if not isinstance(outer, cst.FunctionDef):
            return {}
        scope = self.scopes.get(function.body)
        own = {a.name for a in scope.assignments} if scope is not None else set()
        return {n: c for n, c in self._receivers(outer).owner.items() if n not in own}

    def _call_locals(self, function: cst.FunctionDef, receivers: _Receivers) -> dict[str, str]:
        """Locals bound once, to what a call returns (`view = self._find_view(name)`): written
        `callee()`, which the project index resolves to a class when it can."""
        scope = self.scopes.get(function.body)
        if scope is None:
            return {}
        bound: dict[str, list[cst.CSTNode]] = {}
        for assignment in scope.assignments:
            node = getattr(assignment, "node", None)
            if node is not None:
                bound.setdefault(assignment.name, []).append(node)
        out = {}
        for name, nodes in bound.items():
            target = self.parents.get(nodes[0]) if len(nodes) == 1 else None
            statement = self.parents.get(target) if isinstance(target, cst.AssignTarget) else None
            if not isinstance(statement, cst.Assign) or len(statement.targets) != 1:
                continue
            value = statement.value
            call = value.expression if isinstance(value, cst.Await) else value
            if not isinstance(call, cst.Call):
                continue
            callee = self.qualified(call.func) or receivers.callee(call.func) or (
                call.func.value if isinstance(call.func, cst.Name) else None)
            if callee is not None and not callee.startswith("builtins."):
                out[name] = f"{callee}()"
        return out

    def _use(self, node: cst.Name | cst.Attribute, acc: UseCollector,
             receivers: _Receivers | None = None, store: bool = True) -> None:
        """`store`: record `self.x = value` (off for uses of a stored attribute itself)."""
        parent = self.parents.get(node)
        if isinstance(parent, cst.Attribute) and parent.value is node:
            attr = parent.attr.value
            grand = self.parents.get(parent)
            if isinstance(grand, cst.Call) and grand.func is parent:
                n_args, keywords = _call_shape(grand)
                awaited = isinstance(self.parents.get(grand), cst.Await)
                acc.calls.append(MethodCall(attr, n_args, keywords, awaited))
            elif isinstance(grand, (cst.AssignTarget, cst.AugAssign)) or (
                isinstance(grand, cst.AnnAssign) and grand.target is parent
            ):
                acc.assigned.add(attr)
            else:
                acc.attributes.add(attr)
        elif isinstance(parent, cst.Call) and parent.func is node:
            acc.protocols.add("call")
        elif isinstance(parent, cst.Arg) and parent.value is node:
            call = self.parents.get(parent)
            if isinstance(call, cst.Call):
                self._argument(call, parent, acc, receivers)
        elif isinstance(parent, cst.Return):
            acc.returned = True
        elif isinstance(parent, cst.Assign) and parent.value is node:
            self._assigned(parent, acc, receivers, store)
        elif isinstance(parent, (cst.IfExp, cst.BooleanOperation)) and isinstance(node, cst.Name):
            self._alternative(parent, node, acc, receivers, store)
        elif isinstance(parent, cst.Await):
            acc.protocols.add("await")
        elif isinstance(parent, cst.WithItem) and parent.item is node:
            with_node = self.parents.get(parent)
            is_async = isinstance(with_node, cst.With) and with_node.asynchronous is not None
            acc.protocols.add("async_with" if is_async else "with")
        elif isinstance(parent, (cst.For, cst.CompFor)) and parent.iter is node:
            acc.protocols.add("async_for" if parent.asynchronous is not None else "for")
        elif isinstance(parent, cst.Subscript) and parent.value is node:
            grand = self.parents.get(parent)
            is_store = isinstance(grand, cst.AssignTarget)
            acc.protocols.add("setitem" if is_store else "getitem")
        elif isinstance(parent, cst.BinaryOperation):
            acc.operators.add(_OPERATORS.get(type(parent.operator), "?"))
        elif isinstance(parent, cst.ComparisonTarget):
            op = _OPERATORS.get(type(parent.operator))
            if op in ("in", "not in"):
                acc.protocols.add("contains")
            elif op:
                acc.operators.add(op)
        elif isinstance(parent, cst.Comparison) and parent.left is node:
            for target in parent.comparisons:
                op = _OPERATORS.get(type(target.operator))
                if op and op not in ("in", "not in"):
                    acc.operators.add(op)

    def _assigned(self, assign: cst.Assign, acc: UseCollector, receivers: _Receivers | None,
                  store: bool) -> None:
        """The value assigned: to the instance (`self.x = v`, its uses where the class reads
        `self.x`), or to a local, whose uses are the value's (`resolved = v`)."""
        if store and receivers is not None and receivers.self_name is not None:
            acc.stored.update(
                t.target.attr.value for t in assign.targets
                if isinstance(t.target, cst.Attribute) and isinstance(t.target.value, cst.Name)
                and t.target.value.value == receivers.self_name
            )
        if len(assign.targets) == 1 and isinstance(assign.targets[0].target, cst.Name):
            self._alias(assign.targets[0].target, acc, receivers, store)

    def _alias(self, target: cst.Name, acc: UseCollector, receivers: _Receivers | None,
               store: bool) -> None:
        """Every read of a local that holds the value is a use of it, its later values too
        where each is made from the last (`stmt = stmt.where(...)`, `stmt = apply(stmt)`); a
        local bound to anything else as well holds other values (`result = effect()`)."""
        name = target.value
        scope = self.scopes.get(target)
        if name in acc.aliases or scope is None or len(acc.aliases) > _MAX_ALIASES:
            return
        for assignment in scope.assignments[name]:
            node = getattr(assignment, "node", None)
            if node is target:
                continue
            bound = self.parents.get(node) if node is not None else None
            assign = self.parents.get(bound) if isinstance(bound, cst.AssignTarget) else None
            if not isinstance(assign, cst.Assign) or not matchers.findall(
                    assign.value, matchers.Name(name)):
                return
        acc.aliases.add(name)
        for access in scope.accesses[name]:
            if isinstance(access.node, cst.Name):
                self._use(access.node, acc, receivers, store)

    def _alternative(self, expr: cst.IfExp | cst.BooleanOperation, node: cst.Name,
                     acc: UseCollector, receivers: _Receivers | None, store: bool) -> None:
        """`node or other`, `other if node is None else node` (and `node if node is not None
        else other`): `other` stands in for the value, and the whole is used as the value is."""
        if isinstance(expr, cst.BooleanOperation):
            if not isinstance(expr.operator, cst.Or) or expr.left is not node:
                return
            other: cst.BaseExpression = expr.right
        else:
            tested = _none_test(expr.test)
            if tested is None or tested[0] != node.value:
                return
            is_none = tested[1]
            if (expr.orelse if is_none else expr.body) is not node:
                return
            other = expr.body if is_none else expr.orelse
        value = self._value_text(other, receivers)
        if value is not None:
            acc.fallbacks.add(value)
        parent = self.parents.get(expr)
        if isinstance(parent, cst.Assign) and parent.value is expr:
            self._assigned(parent, acc, receivers, store)
        elif isinstance(parent, cst.Return):
            acc.returned = True
        elif isinstance(parent, cst.Arg) and parent.value is expr:
            call = self.parents.get(parent)
            if isinstance(call, cst.Call):
                self._argument(call, parent, acc, receivers)

    def _reassigned_when_none(self, function: cst.FunctionDef, param: cst.Param,
                              acc: UseCollector, receivers: _Receivers) -> None:
        """`if p is None: p = X` (or `if not p:`): X stands in for the value."""
        scope = self.scopes.get(function.body)
        if scope is None:
            return
        for assignment in scope.assignments[param.name.value]:
            node = getattr(assignment, "node", None)
            target = self.parents.get(node) if isinstance(node, cst.Name) else None
            assign = self.parents.get(target) if isinstance(target, cst.AssignTarget) else None
            if not isinstance(assign, cst.Assign) or len(assign.targets) != 1:
                continue
            line = self.parents.get(assign)
            block = self.parents.get(line) if line is not None else None
            branch = self.parents.get(block) if block is not None else None
            tested = _none_test(branch.test) if isinstance(branch, cst.If) else None
            if tested is not None and tested == (param.name.value, True):
                value = self._value_text(assign.value, receivers)
                if value is not None:
                    acc.fallbacks.add(value)

    def _value_text(self, node: cst.BaseExpression, receivers: _Receivers | None) -> str | None:
        """A fallback value as the profile writes it (see UsageProfile.fallbacks)."""
        if isinstance(node, cst.Await):
            node = node.expression
        if isinstance(node, cst.Call):
            callee = self.qualified(node.func) or (
                receivers.callee(node.func) if receivers is not None else None) or (
                node.func.value if isinstance(node.func, cst.Name) else None)
            return f"{callee}()" if callee is not None else None
        if (isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name)
                and receivers is not None and node.value.value == receivers.self_name):
            return f"self.{node.attr.value}"
        for kind, builtin in _LITERALS:
            if isinstance(node, kind):
                return builtin
        return None

    def _argument(self, call: cst.Call, arg: cst.Arg, acc: UseCollector,
                  receivers: _Receivers | None = None) -> None:
        callee = self.qualified(call.func)
        if callee is None and isinstance(call.func, cst.Name):
            callee = call.func.value
        if callee is None and receivers is not None:
            callee = receivers.callee(call.func)
        if callee is None:
            return
        if callee in ("builtins.isinstance", "isinstance") and call.args and call.args[0] is arg:
            if len(call.args) > 1:
                acc.isinstance_of.update(self._type_names(call.args[1].value))
            return
        if callee in ("builtins.len", "len"):
            acc.protocols.add("len")
            return
        if callee.startswith("builtins."):
            return
        if arg.keyword is not None:
            acc.passed_to.append((callee, arg.keyword.value))
        elif arg.star == "":
            positional = [a for a in call.args if a.keyword is None and a.star == ""]
            acc.passed_to.append((callee, str(positional.index(arg))))

    def _type_names(self, node: cst.BaseExpression) -> list[str]:
        if isinstance(node, cst.Tuple):
            return [n for el in node.elements for n in self._type_names(el.value)]
        name = self.qualified(node) or cst_dotted(node)
        return [name] if name else []


_MAX_ALIASES = 8  # locals followed per parameter: a bound on the work, rarely reached
_LITERALS: tuple[tuple[type[cst.CSTNode], str], ...] = (
    (cst.BaseString, "builtins.str"), (cst.Dict, "builtins.dict"), (cst.List, "builtins.list"),
    (cst.Integer, "builtins.int"), (cst.Float, "builtins.float"), (cst.Set, "builtins.set"),
    (cst.Tuple, "builtins.tuple"))


def _none_test(test: cst.BaseExpression) -> tuple[str, bool] | None:
    """(name, whether the branch taken is the name's None or empty case) for `name is None`,
    `name is not None`, `not name` and `name`."""
    if isinstance(test, cst.Name):
        return test.value, False
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not) \
            and isinstance(test.expression, cst.Name):
        return test.expression.value, True
    if (isinstance(test, cst.Comparison) and isinstance(test.left, cst.Name)
            and len(test.comparisons) == 1
            and isinstance(test.comparisons[0].comparator, cst.Name)
            and test.comparisons[0].comparator.value == "None"):
        operator = test.comparisons[0].operator
        if isinstance(operator, cst.Is):
            return test.left.value, True
        if isinstance(operator, cst.IsNot):
            return test.left.value, False
    return None


def _is_overload(function: cst.FunctionDef) -> bool:
    return any((cst_dotted(d.decorator) or "").rsplit(".", 1)[-1] == "overload"
               for d in function.decorators)


def parse_profiles(source: str) -> tuple[ProfileBuilder, Sequence[ParameterSite]]:
    """Parse a module and profile every parameter of every function in it."""
    wrapper = wrap(cst.parse_module(source), source)
    builder = ProfileBuilder(wrapper)
    sites = [s for f in builder.functions() for s in builder.sites(f)]
    return builder, sites


def annotation_class(builder: ProfileBuilder, annotation: cst.Annotation) -> str | None:
    """The one class an annotation names (pysource.annotations), as a dotted path through the
    module's names; string annotations are resolved through the module's imports."""
    def qualify(name: Named) -> str | None:
        if not name.quoted and builder.owns(name.node):
            return builder.qualified(name.node)
        head, _, rest = name.written.partition(".")
        imported = builder.imports().get(head)
        if imported is None:
            return None
        return f"{imported}.{rest}" if rest else imported

    return named_class(from_cst(annotation.annotation), qualify)
