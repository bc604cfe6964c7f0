"""What one module of the user's project declares: annotated signatures, class bases and typed call
arguments, read with `ast` (cheap enough for every file of a repository) and kept as plain data."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from remora_review.project.injected import (
    FRAMEWORKS,
    compiled,
    injected,
    listened,
    may_listen,
    may_register,
)
from remora_review.pysource.annotations import Named, from_ast, named_class
from remora_review.pysource.imports import bindings

# Builtin annotations kept as evidence: a value passed on as `str` is not a library class.
_BUILTIN_TYPES = frozenset({"str", "bytes", "int", "float", "bool", "dict", "list", "set", "tuple"})

@dataclass(frozen=True)
class Parameter:
    name: str
    kind: str  # "p" positional or keyword, "o" positional only, "k" keyword only
    annotation: str | None  # dotted class path (builtins.str for builtins), None when unknown
    # The annotation is a sure prediction (infer/propagation.py), not written in the code.
    assumed: bool = False


@dataclass(frozen=True)
class Function:
    params: tuple[Parameter, ...]  # without self / cls
    returns: str | None = None

    def slots(self) -> dict[str, str]:
        """Position ("0", "1", ...) and keyword -> annotation, as call sites address parameters."""
        out: dict[str, str] = {}
        position = 0
        for p in self.params:
            if p.kind in ("o", "p"):
                if p.annotation:
                    out[str(position)] = p.annotation
                position += 1
            if p.kind in ("p", "k") and p.annotation:
                out[p.name] = p.annotation
        return out

    def slot_of(self, name: str) -> list[str]:
        """The slots a parameter is reachable by: its position and, unless positional-only, its name."""
        out = []
        position = 0
        for p in self.params:
            if p.kind in ("o", "p"):
                if p.name == name:
                    out.append(str(position))
                position += 1
            if p.name == name and p.kind in ("p", "k"):
                out.append(name)
        return out


# The callee of a method called on a value whose class is unknown (`field.parse_obj(request)`
# with `field` from a loop): this prefix and the method's name. The project index resolves it
# by the name alone where one of the project's class hierarchies defines the method.
BY_NAME = "?."


@dataclass(frozen=True)
class TypedArgument:
    """A call in the project that passes a value of a declared type: `f(session)` in a function
    whose `session` parameter is annotated."""

    callee: str  # absolute dotted path of the called function, method or class
    slot: str  # position "0", "1", ... or keyword
    annotation: str


@dataclass(frozen=True)
class ModuleFacts:
    module: str  # dotted module name, e.g. pkg.sub.mod
    functions: Mapping[str, Function]  # local qualname ("f", "C.m") -> signature
    classes: Mapping[str, tuple[str, ...]]  # local qualname -> bases as absolute dotted paths
    arguments: tuple[TypedArgument, ...] = ()
    imports: Mapping[str, str] = field(default_factory=dict)  # bound name -> dotted (re-exports)
    # local class qualname -> its data attributes: class-level names and `self.x = ...` in methods
    attributes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # local class qualname -> its annotated class-level fields, in order: a dataclass's (or a
    # pydantic model's) constructor parameters
    fields: Mapping[str, tuple[Parameter, ...]] = field(default_factory=dict)
    dataclasses: frozenset[str] = frozenset()  # local qualnames of classes decorated @dataclass
    # pytest fixture name -> the class of its value (a call's written `callee()`, as arguments),
    # None where it is not known
    fixtures: Mapping[str, str | None] = field(default_factory=dict)
    # function local name -> the (construct, dialect or None) pairs `@compiles` registers it for
    # (project/injected.py): SQLAlchemy passes it the construct and the dialect's compiler
    compiled: Mapping[str, tuple[tuple[str, str | None], ...]] = field(default_factory=dict)
    # (class, the members used through it) of each parameter annotated with a class that is not
    # a builtin, as written: how this project uses the classes it declares (TypeInferer._used)
    usages: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # local class qualname -> attribute -> the class of what its methods store there
    # (`self.statement = select(m)`: a call's written `callee()`, as arguments), where every
    # value stored that says anything says the same
    stored: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # (function's dotted path, event name) for each function the module registers for a
    # SQLAlchemy event (project/injected.py)
    listened: tuple[tuple[str, str], ...] = ()
    # what a framework passes the functions the module registers with it (a Starlette route's
    # endpoint is given the request): project/injected.py
    injected: tuple[TypedArgument, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "module": self.module,
            "functions": {n: [[[p.name, p.kind, p.annotation] for p in f.params], f.returns]
                          for n, f in self.functions.items()},
            "classes": {n: list(b) for n, b in self.classes.items()},
            "arguments": [[a.callee, a.slot, a.annotation] for a in self.arguments],
            "imports": dict(self.imports),
            "attributes": {n: list(a) for n, a in self.attributes.items()},
            "fields": {n: [[p.name, p.kind, p.annotation] for p in f] for n, f in self.fields.items()},
            "dataclasses": sorted(self.dataclasses),
            "fixtures": dict(self.fixtures),
            "compiled": {n: [list(c) for c in cs] for n, cs in self.compiled.items()},
            "usages": [[c, list(m)] for c, m in self.usages],
            "stored": {n: dict(a) for n, a in self.stored.items()},
            "listened": [list(e) for e in self.listened],
            "injected": [[a.callee, a.slot, a.annotation] for a in self.injected],
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ModuleFacts:
        return cls(
            module=raw["module"],
            functions={n: Function(tuple(Parameter(*p) for p in params), returns)
                       for n, (params, returns) in raw["functions"].items()},
            classes={n: tuple(b) for n, b in raw["classes"].items()},
            arguments=tuple(TypedArgument(*a) for a in raw["arguments"]),
            imports=dict(raw["imports"]),
            attributes={n: tuple(a) for n, a in raw["attributes"].items()},
            fields={n: tuple(Parameter(*p) for p in f) for n, f in raw["fields"].items()},
            dataclasses=frozenset(raw["dataclasses"]),
            fixtures=dict(raw["fixtures"]),
            compiled={n: tuple((c, d) for c, d in cs) for n, cs in raw["compiled"].items()},
            usages=tuple((c, tuple(m)) for c, m in raw["usages"]),
            stored={n: dict(a) for n, a in raw["stored"].items()},
            listened=tuple((f, e) for f, e in raw["listened"]),
            injected=tuple(TypedArgument(*a) for a in raw["injected"]),
        )


class _Names:
    """Resolves names in one module to absolute dotted paths, through its imports and definitions."""

    def __init__(self, tree: ast.Module, module: str, is_package: bool) -> None:
        self.module = module
        self.bound: dict[str, str] = {}
        self.imported: dict[str, str] = {}
        for stmt in _top_level(tree.body):
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                self.imported.update(bindings(stmt, module, is_package))
            elif isinstance(stmt, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                self.bound[stmt.name] = f"{module}.{stmt.name}"
        self.bound = {**self.imported, **self.bound}

    def dotted(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            if node.id in self.bound:
                return self.bound[node.id]
            if node.id in _BUILTIN_TYPES:
                return f"builtins.{node.id}"
            return None
        if isinstance(node, ast.Attribute):
            base = self.dotted(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    def annotation(self, node: ast.expr | None) -> str | None:
        """The one class an annotation names (pysource.annotations)."""
        return named_class(from_ast(node), self._qualify) if node is not None else None

    def _qualify(self, name: Named) -> str | None:
        return self.dotted(name.node)


def _top_level(body: Sequence[ast.stmt]) -> Iterator[ast.stmt]:
    """Module-level statements, looking into `if TYPE_CHECKING:` and `try:` blocks."""
    for stmt in body:
        if isinstance(stmt, ast.If):
            yield from _top_level(stmt.body)
            yield from _top_level(stmt.orelse)
        elif isinstance(stmt, ast.Try):
            yield from _top_level(stmt.body)
            for handler in stmt.handlers:
                yield from _top_level(handler.body)
        else:
            yield stmt


def _decorators(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    return {ast.unparse(d) for d in node.decorator_list}


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef, names: _Names,
               is_method: bool, assumed: Mapping[str, str]) -> Function:
    args = node.args
    ordered = [*((a, "o") for a in args.posonlyargs), *((a, "p") for a in args.args),
               *((a, "k") for a in args.kwonlyargs)]
    if is_method and "staticmethod" not in _decorators(node) and ordered and ordered[0][1] != "k":
        ordered = ordered[1:]
    params = []
    for a, kind in ordered:
        written = names.annotation(a.annotation)
        if written is None and a.arg in assumed:
            params.append(Parameter(a.arg, kind, assumed[a.arg], assumed=True))
        else:
            params.append(Parameter(a.arg, kind, written))
    return Function(tuple(params), names.annotation(node.returns))


class _Extractor:
    def __init__(self, names: _Names, assumed: Mapping[str, Mapping[str, str]]) -> None:
        self.names = names
        self.assumed = assumed
        self.functions: dict[str, Function] = {}
        self.classes: dict[str, tuple[str, ...]] = {}
        self.arguments: list[TypedArgument] = []
        self.attributes: dict[str, tuple[str, ...]] = {}
        self.fields: dict[str, tuple[Parameter, ...]] = {}
        self.dataclasses: set[str] = set()
        self.fixtures: dict[str, str | None] = {}
        self.usages: list[tuple[str, tuple[str, ...]]] = []
        # class qualname -> attribute -> what is stored there (None: values that disagree or
        # cannot be typed)
        self.stored: dict[str, dict[str, str | None]] = {}
        # index into arguments -> (class qualname, the attribute called through, the attribute
        # passed) of each argument of a call `self.attr.m(...)` or passed as `self.attr`: what
        # the class stores there is known once the whole class is read (through())
        self._through: dict[int, tuple[str, str | None, str | None]] = {}

    def body(self, body: Sequence[ast.stmt], prefix: str, in_class: str | None) -> None:
        for stmt in _top_level(body):
            if isinstance(stmt, ast.ClassDef):
                qualname = f"{prefix}{stmt.name}"
                self.classes[qualname] = tuple(
                    b for b in (self.names.dotted(base) for base in stmt.bases) if b)
                self.attributes[qualname] = _data_attributes(stmt)
                keyword_only = self._dataclass(stmt)
                if keyword_only is not None:
                    self.dataclasses.add(qualname)
                fields = self._fields(stmt, bool(keyword_only))
                if fields:
                    self.fields[qualname] = fields
                self.body(stmt.body, f"{qualname}.", qualname)
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                qualname = f"{prefix}{stmt.name}"
                function = _signature(stmt, self.names, in_class is not None,
                                      self.assumed.get(qualname, {}))
                self.functions.setdefault(qualname, function)
                self._calls(stmt, function, in_class)
                self.usages.extend(_usages(stmt, function))
                if in_class is None:
                    self._fixture(stmt, function)

    def _fixture(self, node: ast.FunctionDef | ast.AsyncFunctionDef, function: Function) -> None:
        """A pytest fixture's name and the class of its value: its return annotation, else the
        one value it returns or yields (`return Client()`, `with Session(e) as s: yield s`)."""
        name = None
        for decorator in node.decorator_list:
            call = decorator if isinstance(decorator, ast.Call) else None
            if (self.names.dotted(call.func if call else decorator) or "").endswith("fixture"):
                name = next((k.value.value for k in (call.keywords if call else ())
                             if k.arg == "name" and isinstance(k.value, ast.Constant)
                             and isinstance(k.value.value, str)), node.name)
        if name is None:
            return
        yields = [n for n in ast.walk(node) if isinstance(n, (ast.Yield, ast.YieldFrom))]
        if function.returns is not None and not yields:
            self.fixtures[name] = function.returns
            return
        local = self._locals(node, None, None, {})
        values = {self._returned(v, None, None, {})
                  or (local.get(v.id) if isinstance(v, ast.Name) else None)
                  for n in ast.walk(node) if isinstance(n, (ast.Return, ast.Yield))
                  and (v := n.value) is not None}
        self.fixtures[name] = values.pop() if len(values) == 1 else None

    def _dataclass(self, node: ast.ClassDef) -> bool | None:
        """None unless `@dataclass` (or `@dataclass(...)`) decorates the class; else whether its
        fields are keyword-only."""
        for decorator in node.decorator_list:
            call = decorator if isinstance(decorator, ast.Call) else None
            name = self.names.dotted(call.func if call else decorator) or ""
            if name.rsplit(".", 1)[-1] == "dataclass":
                return any(k.arg == "kw_only" and isinstance(k.value, ast.Constant)
                           and k.value.value is True for k in (call.keywords if call else ()))
        return None

    def _fields(self, node: ast.ClassDef, keyword_only: bool) -> tuple[Parameter, ...]:
        """Annotated class-level names, as constructor parameters (ClassVar and init=False left
        out; pydantic models take them by keyword, which the index decides)."""
        out = []
        for stmt in node.body:
            if not isinstance(stmt, ast.AnnAssign) or not isinstance(stmt.target, ast.Name):
                continue
            head = stmt.annotation.value if isinstance(stmt.annotation, ast.Subscript) \
                else stmt.annotation
            if (self.names.dotted(head) or ast.unparse(head)).rsplit(".", 1)[-1] == "ClassVar":
                continue
            if isinstance(stmt.value, ast.Call) and any(
                    k.arg == "init" and isinstance(k.value, ast.Constant) and k.value.value is False
                    for k in stmt.value.keywords):
                continue
            out.append(Parameter(stmt.target.id, "k" if keyword_only else "p",
                                 self.names.annotation(stmt.annotation)))
        return tuple(out)

    def _calls(self, node: ast.FunctionDef | ast.AsyncFunctionDef, function: Function,
               in_class: str | None) -> None:
        params = {p.name: p.annotation for p in function.params if p.annotation}
        first = [*node.args.posonlyargs, *node.args.args][:1]
        receiver = first[0].arg if in_class is not None and first else None
        typed = {**self._locals(node, receiver, in_class, params), **params}
        if in_class is not None and receiver is not None:
            self._stores(node, function, receiver, in_class, typed)
        for call in _calls_in(node):
            callee = self._callee(call.func, receiver, in_class, typed)
            # `self.calls.record(...)`: called through the attribute `calls`
            attribute = _receiver_attribute(call.func.value, receiver) \
                if in_class is not None and isinstance(call.func, ast.Attribute) \
                and not call.func.attr.startswith("__") else None
            if callee is None and not (isinstance(call.func, ast.Attribute)
                                       and isinstance(call.func.value, ast.Name)
                                       and call.func.value.id in typed):
                callee = self._by_name(call.func)
            if callee is None:
                continue
            positional = [a for a in call.args if not isinstance(a, ast.Starred)]
            passed = [(str(i), arg) for i, arg in enumerate(positional)] \
                if len(positional) == len(call.args) else []  # after a *args, positions are unknown
            passed += [(kw.arg, kw.value) for kw in call.keywords if kw.arg]
            for slot, arg in passed:
                # a typed name, a literal (`write("plain")`: whatever else `write` is given, it
                # takes a str), or a call made in place (`add(Column("x"))`), as a local bound
                # to it would be
                value = typed.get(arg.id) if isinstance(arg, ast.Name) else \
                    _literal(arg) or self._returned(arg, receiver, in_class, typed)
                passed_attribute = _receiver_attribute(arg, receiver) \
                    if in_class is not None and value is None else None
                if value is not None or passed_attribute is not None:
                    if attribute is not None or passed_attribute is not None:
                        self._through[len(self.arguments)] = (in_class or "", attribute,
                                                              passed_attribute)
                    # a passed attribute's class is filled in by through()
                    self.arguments.append(TypedArgument(callee, slot, value or ""))

    def through(self) -> tuple[TypedArgument, ...]:
        """The typed arguments, as what the class stores in its attributes makes them: a call
        `self.calls.record(...)` calls the method of what the class stores in `calls`
        (`self.calls = CallList()`: `CallList().record`), else it is made by the method's name;
        `f(self.templates)` passes what it stores in `templates`, else nothing that is known."""
        out = []
        for index, arg in enumerate(self.arguments):
            if index in self._through:
                cls, called, passed = self._through[index]
                owner = attribute_type(self.fields, self.stored, cls, called) if called else None
                if owner is not None:
                    arg = replace(arg, callee=f"{owner}.{arg.callee.rpartition('.')[2]}")
                if passed is not None:
                    value = attribute_type(self.fields, self.stored, cls, passed)
                    if value is None:
                        continue
                    arg = replace(arg, annotation=value)
            out.append(arg)
        return tuple(out)

    def _stores(self, node: ast.FunctionDef | ast.AsyncFunctionDef, function: Function,
                receiver: str, in_class: str, typed: Mapping[str, str]) -> None:
        """What the method stores on `receiver.x`: a typed name's class or a call's `callee()`.
        None says nothing, nor does one of the method's own unannotated parameters (the value
        that is being inferred, `self.statement = select(m) if statement is None else
        statement`); any other value, or two that disagree, leave the attribute untyped."""
        untyped = {p.name for p in function.params if p.annotation is None}
        found = self.stored.setdefault(in_class, {})
        for stmt in _statements_in(node):
            targets: list[ast.expr]
            if isinstance(stmt, ast.AnnAssign):
                targets, value = [stmt.target], None
                annotation = self.names.annotation(stmt.annotation)
            elif isinstance(stmt, ast.Assign):
                targets, value, annotation = stmt.targets, stmt.value, None
            else:
                continue
            for target in targets:
                if not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                        and target.value.id == receiver):
                    continue
                values = {annotation} if annotation is not None else set(
                    self._stored_values(value, receiver, in_class, typed, untyped)
                    if value is not None else (None,))
                values.discard("")
                for v in values:
                    name = target.attr
                    found[name] = v if name not in found or found[name] == v else None

    def _stored_values(self, value: ast.expr, receiver: str, in_class: str,
                       typed: Mapping[str, str], untyped: set[str]) -> Iterator[str | None]:
        """The classes a stored value may have ("" where it says nothing, None where unknown)."""
        if isinstance(value, ast.IfExp):
            yield from self._stored_values(value.body, receiver, in_class, typed, untyped)
            yield from self._stored_values(value.orelse, receiver, in_class, typed, untyped)
        elif isinstance(value, ast.BoolOp) and isinstance(value.op, ast.Or):
            for operand in value.values:
                yield from self._stored_values(operand, receiver, in_class, typed, untyped)
        elif isinstance(value, ast.Constant) and value.value is None:
            yield ""
        elif isinstance(value, ast.Name):
            yield typed.get(value.id) or ("" if value.id in untyped else None)
        else:
            yield self._returned(value, receiver, in_class, typed)

    def _locals(self, node: ast.FunctionDef | ast.AsyncFunctionDef, receiver: str | None,
                in_class: str | None, params: Mapping[str, str]) -> dict[str, str]:
        """Local names bound once, to an annotation (`x: T = ...`) or to what a call returns
        (`view = self._find_view(name)`, `client = Client()`): the call is written `callee()`,
        which the project index resolves (a class is its instance, a function its return)."""
        found: dict[str, str | None] = {}
        # A name annotated in the function keeps that class over what a `with` binds to it.
        statements = list(_statements_in(node))
        annotated = {stmt.target.id for stmt in statements
                     if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)}
        for stmt in statements:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                name, value = stmt.target.id, self.names.annotation(stmt.annotation)
            elif (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                  and isinstance(stmt.targets[0], ast.Name)):
                name, value = stmt.targets[0].id, self._returned(stmt.value, receiver, in_class,
                                                                 params)
            elif isinstance(stmt, (ast.With, ast.AsyncWith)):
                # `with Session(engine) as s`: the libraries' context managers enter as
                # themselves (Session, Client, Connection), so the value is what the call returns.
                for item in stmt.items:
                    if (isinstance(item.optional_vars, ast.Name)
                            and item.optional_vars.id not in annotated):
                        name = item.optional_vars.id
                        value = self._returned(item.context_expr, receiver, in_class, params)
                        found[name] = value if name not in found or found[name] == value else None
                continue
            else:
                continue
            found[name] = value if name not in found or found[name] == value else None
        return {n: v for n, v in found.items() if v is not None and n not in params}

    def _returned(self, node: ast.expr, receiver: str | None, in_class: str | None,
                  params: Mapping[str, str]) -> str | None:
        """A call's value as `callee()` (awaited or not); None for anything else."""
        call = node.value if isinstance(node, ast.Await) else node
        if not isinstance(call, ast.Call):
            return None
        callee = self._callee(call.func, receiver, in_class, params)
        return f"{callee}()" if callee else None

    def _by_name(self, func: ast.expr) -> str | None:
        """`x.m(...)` on a value of unknown class (a local, a loop variable, an attribute of
        `self`): the method's name under `BY_NAME`. A module, a class or a builtin the name
        resolves to is no such value."""
        if not isinstance(func, ast.Attribute) or func.attr.startswith("__"):
            return None
        value = func.value
        while isinstance(value, (ast.Attribute, ast.Subscript, ast.Call)):
            value = value.func if isinstance(value, ast.Call) else value.value
        if not isinstance(value, ast.Name) or self.names.dotted(value) is not None:
            return None
        return f"{BY_NAME}{func.attr}"

    def _callee(self, func: ast.expr, receiver: str | None, in_class: str | None,
                typed: Mapping[str, str]) -> str | None:
        """The called function as a dotted path: `self.m` is the class's method, `view.m` that
        of `view`'s annotated class, `f` and `mod.f` what the module's names say."""
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            if in_class is not None and func.value.id == receiver:
                return f"{self.names.module}.{in_class}.{func.attr}"
            owner = typed.get(func.value.id)
            if owner is not None and not owner.startswith("builtins."):
                return f"{owner}.{func.attr}"
        dotted = self.names.dotted(func)
        return None if dotted is None or dotted.startswith("builtins.") else dotted


_LITERALS: Mapping[type, str] = {str: "builtins.str", bytes: "builtins.bytes",
                                 int: "builtins.int", float: "builtins.float"}
_DISPLAYS: Mapping[type, str] = {
    ast.JoinedStr: "builtins.str", ast.List: "builtins.list", ast.ListComp: "builtins.list",
    ast.Dict: "builtins.dict", ast.DictComp: "builtins.dict", ast.Set: "builtins.set",
    ast.SetComp: "builtins.set", ast.Tuple: "builtins.tuple"}


def attribute_type(fields: Mapping[str, Sequence[Parameter]],
                   stored: Mapping[str, Mapping[str, str | None]], cls: str,
                   attribute: str) -> str | None:
    """The class of a class's attribute (local qualname): what its body annotates it with, else
    what its methods store there (a call's written `callee()`), where they all agree."""
    return next((f.annotation for f in fields.get(cls, ()) if f.name == attribute),
                None) or stored.get(cls, {}).get(attribute)


def _receiver_attribute(node: ast.expr, receiver: str | None) -> str | None:
    """`attr` of `self.attr` (`receiver` is the method's `self`), else None."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
            and node.value.id == receiver:
        return node.attr
    return None


def _literal(node: ast.expr) -> str | None:
    """The builtin class of a literal or a display (`"x"`, `f"{x}"`, `[...]`, `{...}`); None for
    anything else, `None` and booleans included."""
    if isinstance(node, ast.Constant):
        return _LITERALS.get(type(node.value))
    return _DISPLAYS.get(type(node))


def _usages(node: ast.FunctionDef | ast.AsyncFunctionDef,
            function: Function) -> Iterator[tuple[str, tuple[str, ...]]]:
    """(class, members read, called or written through it) of each parameter the code annotates
    with a class that is not a builtin, in the function's own body."""
    written = {p.name: p.annotation for p in function.params
               if p.annotation and not p.assumed and not p.annotation.startswith("builtins.")}
    if not written:
        return
    used: dict[str, set[str]] = {name: set() for name in written}
    stack: list[ast.AST] = list(node.body)
    while stack:
        current = stack.pop()
        if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue  # their own parameters may shadow
        if (isinstance(current, ast.Attribute) and isinstance(current.value, ast.Name)
                and current.value.id in used):
            used[current.value.id].add(current.attr)
        stack.extend(ast.iter_child_nodes(current))
    for name, cls in written.items():
        yield cls, tuple(sorted(used[name]))


def _data_attributes(node: ast.ClassDef) -> tuple[str, ...]:
    """Names a class body binds (`x: int`, `x = 1`) and its methods assign on their first parameter."""
    found: set[str] = set()
    for stmt in _top_level(node.body):
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            found.add(stmt.target.id)
        elif isinstance(stmt, ast.Assign):
            found.update(t.id for t in stmt.targets if isinstance(t, ast.Name))
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = [*stmt.args.posonlyargs, *stmt.args.args][:1]
            if not first:
                continue
            for sub in ast.walk(stmt):
                if (isinstance(sub, ast.Attribute) and isinstance(sub.ctx, ast.Store)
                        and isinstance(sub.value, ast.Name) and sub.value.id == first[0].arg):
                    found.add(sub.attr)
    return tuple(sorted(found))


def _statements_in(node: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[ast.stmt]:
    """Statements of a function's own body, blocks included, nested scopes left out."""
    stack: list[ast.stmt] = list(node.body)
    while stack:
        current = stack.pop()
        if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        yield current
        for child in ast.iter_child_nodes(current):
            if isinstance(child, ast.stmt):
                stack.append(child)
            elif isinstance(child, (ast.ExceptHandler, ast.match_case)):
                stack.extend(child.body)


def _calls_in(node: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[ast.Call]:
    """Calls in a function's own body: nested functions and classes have parameters of their own."""
    stack: list[ast.AST] = list(node.body)
    while stack:
        current = stack.pop()
        if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(current, ast.Call):
            yield current
        stack.extend(ast.iter_child_nodes(current))


def extract_facts(module: str, source: str, is_package: bool = False,
                  assumed: Mapping[str, Mapping[str, str]] | None = None,
                  parse: Callable[[str], ast.Module] = ast.parse) -> ModuleFacts | None:
    """The module's facts, or None when it does not parse (the syntax check reports that).
    `assumed`: function qualname -> parameter -> class, for unannotated parameters taken as
    annotated (sure predictions, infer/propagation.py); `parse`: where the source's `ast` comes
    from (a run's shared one, checks/trees.py), read only."""
    try:
        tree = parse(source)
    except (SyntaxError, ValueError):
        return None
    names = _Names(tree, module, is_package)
    extractor = _Extractor(names, assumed or {})
    extractor.body(tree.body, "", None)
    framework = any(v.split(".")[0] in FRAMEWORKS for v in names.imported.values()) \
        and may_register(source)
    given = tuple(TypedArgument(*found) for found in injected(tree, names.dotted, framework, module))
    registered: dict[str, tuple[tuple[str, str | None], ...]] = {}
    sqlalchemy = any(v.split(".")[0] == "sqlalchemy" for v in names.imported.values())
    for function, construct, dialect in compiled(_top_level(tree.body), names.dotted, sqlalchemy):
        registered[function] = (*registered.get(function, ()), (construct, dialect))
    return ModuleFacts(module, extractor.functions, extractor.classes, extractor.through(),
                       extractor.names.imported, extractor.attributes, extractor.fields,
                       frozenset(extractor.dataclasses), extractor.fixtures, registered,
                       tuple(extractor.usages),
                       {c: {a: v for a, v in found.items() if v is not None}
                        for c, found in extractor.stored.items()
                        if any(v is not None for v in found.values())},
                       tuple(listened(tree, names.dotted, sqlalchemy and may_listen(source),
                                         module, is_package)), given)
