"""What a framework passes to the project's functions itself: Starlette (and FastAPI, built on it)
calls a route endpoint, an exception handler and an HTTP middleware function with the `Request`
(a WebSocket route with the `WebSocket`) as their first argument; SQLAlchemy calls a `@compiles`
function with the construct and the dialect's compiler."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from remora_review.pysource.imports import bindings

REQUEST = "starlette.requests.Request"
WEBSOCKET = "starlette.websockets.WebSocket"
# Classes that take an endpoint: (position of the endpoint, its keyword, what the endpoint gets).
_ROUTES = {"starlette.routing.Route": (1, "endpoint", REQUEST),
           "starlette.routing.WebSocketRoute": (1, "endpoint", WEBSOCKET)}
# Methods of an application or a router that register a function (FastAPI, Starlette, Router).
_REGISTER = {"add_route": (1, "route", REQUEST), "add_websocket_route": (1, "route", WEBSOCKET),
             "add_exception_handler": (1, "handler", REQUEST)}
_DECORATORS = {"route": REQUEST, "websocket_route": WEBSOCKET, "exception_handler": REQUEST,
               "middleware": REQUEST}
FRAMEWORKS = ("starlette", "fastapi")
_HANDLERS = "exception_handlers"  # Starlette's (and FastAPI's) keyword and attribute

# (called function's dotted path, slot, class it is given)
Injected = tuple[str, str, str]
# Text every module that registers something with Starlette holds (Route, add_route, @app.route,
# exception_handler(s), middleware): the others are not walked for one.
_REGISTERS = re.compile(r"Route\b|route\b|exception_handler|middleware")


def may_register(source: str) -> bool:
    return _REGISTERS.search(source) is not None


def injected(tree: ast.Module, dotted: Callable[[ast.expr], str | None],
             imports_framework: bool, module: str = "") -> Iterator[Injected]:
    """Every function of the module that Starlette is told to call, with what it passes. The
    registering methods and decorators are matched by name, so only in a module that imports
    starlette or fastapi; and a Route is a Route only through such an import, so a module that
    imports neither is not walked at all (most of a project, and a third of its index's cost).
    Inside a method, `self.index` is that class's method (`module`.Class.index): an application
    class that builds its routes from its own methods (sqladmin's `Route("/", endpoint=self.index)`)."""
    if not imports_framework:
        return
    yield from _walk(tree, _Scope(dotted, module, None, None))


@dataclass(frozen=True)
class _Scope:
    dotted: Callable[[ast.expr], str | None]
    module: str
    owner: str | None  # qualname of the class whose method this is, where it has a name
    receiver: str | None  # that method's first parameter

    def target(self, node: ast.expr) -> str | None:
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and self.owner is not None and node.value.id == self.receiver):
            return f"{self.module}.{self.owner}.{node.attr}"
        return self.dotted(node) if isinstance(node, (ast.Name, ast.Attribute)) else None


def _walk(tree: ast.Module, scope: _Scope) -> Iterator[Injected]:
    for node, at, target in _scoped(tree, scope):
        if isinstance(node, ast.Call):
            yield from _registered(node, at)
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict) and any(
                isinstance(t, ast.Attribute) and t.attr == _HANDLERS for t in node.targets):
            yield from _handlers(node.value, at)  # `app.exception_handlers = {...}`
        elif target is not None:
            assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            for decorator in node.decorator_list:
                if (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)
                        and decorator.func.attr in _DECORATORS):
                    yield target, "0", _DECORATORS[decorator.func.attr]


def _scoped(tree: ast.Module, scope: _Scope
            ) -> Iterator[tuple[ast.AST, _Scope, str | None]]:
    """Every node of the tree with the scope it is in, in no set order; a module-level function
    (the one kind a decorator registers here) with its dotted path. A stack, not recursion: a
    generator per level made each node pass up through every level above it."""
    stack: list[tuple[ast.AST, ast.AST, _Scope]] = [
        (child, tree, scope) for child in ast.iter_child_nodes(tree)]
    while stack:
        child, node, scope = stack.pop()
        inner, target = scope, None
        if isinstance(child, ast.ClassDef):
            named = isinstance(node, (ast.Module, ast.ClassDef)) and (
                scope.owner is not None or isinstance(node, ast.Module))
            owner = (f"{scope.owner}.{child.name}" if scope.owner else child.name) if named \
                else None
            inner = _Scope(scope.dotted, scope.module, owner, None)
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            target = scope.dotted(ast.Name(child.name)) \
                if scope.owner is None and not isinstance(node, ast.ClassDef) else None
            if isinstance(node, ast.ClassDef) and scope.receiver is None:
                first = [*child.args.posonlyargs, *child.args.args][:1]
                inner = _Scope(scope.dotted, scope.module, scope.owner,
                               first[0].arg if first else None)
        yield child, scope, target
        stack.extend((grand, child, inner) for grand in ast.iter_child_nodes(child))


# SQLAlchemy's event API: `event.listen(target, "after_commit", fn)` and
# `@event.listens_for(target, "after_commit")` register a function that SQLAlchemy calls as the
# event's method of the library's `...Events` class declares (`SessionEvents.after_commit(self,
# session: Session)`), which the packs' API tables hold (infer/declared.py).
_LISTEN = "sqlalchemy.event.listen"
_LISTENS_FOR = "sqlalchemy.event.listens_for"

# (called function's dotted path, the event's name)
Listened = tuple[str, str]
# Text every module that registers an event listener holds (`listen(`, `listens_for(`).
_LISTENS = re.compile(r"\blisten(?:s_for)?\s*\(")


def may_listen(source: str) -> bool:
    return _LISTENS.search(source) is not None


def listened(tree: ast.Module, dotted: Callable[[ast.expr], str | None], imports_sqlalchemy: bool,
             module: str = "", is_package: bool = False) -> Iterator[Listened]:
    """Every function the module registers for a SQLAlchemy event by its name, as written (a
    listener registered with `named=True` takes keywords, and is left out). Names imported
    inside a function count too: `from sqlalchemy import event` where the listeners are set up
    (advanced-alchemy's configs), away from the module's imports."""
    if not imports_sqlalchemy:
        return
    local: dict[str, str] = {}

    def resolved(node: ast.expr) -> str | None:
        found = dotted(node)
        if found is not None:
            return found
        if isinstance(node, ast.Name):
            return local.get(node.id)
        if isinstance(node, ast.Attribute):
            base = resolved(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    functions = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            local.update(bindings(node, module, is_package))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions.append(node)
    scope = _Scope(resolved, module, None, None)
    for function in functions:
        yield from _listened_from_maps(function, scope, resolved)
    for node, at, target in _scoped(tree, scope):
        if isinstance(node, ast.Call) and resolved(node.func) == _LISTEN:
            event = _event(node)
            found = at.target(node.args[2]) if event is not None and len(node.args) > 2 \
                else None
            if found is not None and event is not None:
                yield found, event
        elif target is not None:
            assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            for decorator in node.decorator_list:
                if (isinstance(decorator, ast.Call) and resolved(decorator.func) == _LISTENS_FOR
                        and (event := _event(decorator)) is not None):
                    yield target, event


def _listened_from_maps(function: ast.FunctionDef | ast.AsyncFunctionDef, scope: _Scope,
                        resolved: Callable[[ast.expr], str | None]) -> Iterator[Listened]:
    """`for name, fn in listeners.items(): event.listen(target, name, fn)` in the function,
    `listeners` a dict display of event names and functions, bound once in the function or
    written in place."""
    maps: dict[str, list[ast.Dict]] = defaultdict(list)
    loops = []
    for node in ast.walk(function):
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict)
                and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            maps[node.targets[0].id].append(node.value)
        elif isinstance(node, ast.For):
            loops.append(node)
    for loop in loops:
        if not (isinstance(loop.target, ast.Tuple) and len(loop.target.elts) == 2
                and isinstance(loop.iter, ast.Call) and not loop.iter.args
                and isinstance(loop.iter.func, ast.Attribute)
                and loop.iter.func.attr == "items"):
            continue
        key, value = loop.target.elts
        held = loop.iter.func.value
        shown = [held] if isinstance(held, ast.Dict) else \
            maps.get(held.id, []) if isinstance(held, ast.Name) else []
        if not (isinstance(key, ast.Name) and isinstance(value, ast.Name) and len(shown) == 1
                and any(isinstance(n, ast.Call) and resolved(n.func) == _LISTEN
                        and len(n.args) > 2 and isinstance(n.args[1], ast.Name)
                        and n.args[1].id == key.id and isinstance(n.args[2], ast.Name)
                        and n.args[2].id == value.id
                        for statement in loop.body for n in ast.walk(statement))):
            continue
        for name, fn in zip(shown[0].keys, shown[0].values):
            found = scope.target(fn)
            if isinstance(name, ast.Constant) and isinstance(name.value, str) and found is not None:
                yield found, name.value


def _event(call: ast.Call) -> str | None:
    name = call.args[1] if len(call.args) > 1 else None
    if any(k.arg == "named" and not (isinstance(k.value, ast.Constant) and k.value.value is False)
           for k in call.keywords):
        return None
    return name.value if isinstance(name, ast.Constant) and isinstance(name.value, str) else None


def _registered(call: ast.Call, scope: _Scope) -> Iterator[Injected]:
    for passed in call.keywords:
        if passed.arg == _HANDLERS and isinstance(passed.value, ast.Dict):
            yield from _handlers(passed.value, scope)  # `Starlette(exception_handlers={...})`
    found = _ROUTES.get(scope.dotted(call.func) or "")
    if found is None and isinstance(call.func, ast.Attribute):
        found = _REGISTER.get(call.func.attr)
    if found is None:
        return
    position, keyword, given = found
    endpoint = next((k.value for k in call.keywords if k.arg == keyword), None)
    if endpoint is None and len(call.args) > position and not any(
            isinstance(a, ast.Starred) for a in call.args[:position + 1]):
        endpoint = call.args[position]
    target = scope.target(endpoint) if endpoint is not None else None
    if target is not None:
        yield target, "0", given


def _handlers(handlers: ast.Dict, scope: _Scope) -> Iterator[Injected]:
    """An exception handler map: each handler is called with the request and the exception."""
    for value in handlers.values:
        target = scope.target(value)
        if target is not None:
            yield target, "0", REQUEST


# SQLAlchemy calls a function that `@compiles(Construct, "dialect", ...)` registers with an
# instance of the construct and the compiler of the statement being compiled: the dialect's DDL
# compiler for a DDL construct, its type compiler for a type, its SQL compiler for any other
# element (sqlalchemy.ext.compiler).
COMPILES = "sqlalchemy.ext.compiler.compiles"
# (the construct's root, the compiler it is given), by the canonical names of the packs' API
# tables; DDL constructs are clause elements too, so they come first.
COMPILERS = (("sqlalchemy.BaseDDLElement", "sqlalchemy.sql.compiler.DDLCompiler"),
             ("sqlalchemy.types.TypeEngine", "sqlalchemy.sql.compiler.GenericTypeCompiler"),
             ("sqlalchemy.ClauseElement", "sqlalchemy.sql.compiler.SQLCompiler"))
# Dialect names whose compilers another dialect's package defines.
DIALECT_PACKAGES = {"mariadb": "mysql"}

# (function's local name, the construct's dotted path, the dialect name or None for any)
Compiled = tuple[str, str, str | None]


def compiled(body: Iterable[ast.stmt], dotted: Callable[[ast.expr], str | None],
             imports_sqlalchemy: bool) -> Iterator[Compiled]:
    """Every module-level function of `body` that `@compiles` registers, once per construct and
    dialect it is registered for. Projects re-export the decorator from a module of their own
    (alembic's `util.sqla_compat.compiles`), so in a module that imports sqlalchemy a decorator
    named `compiles` is taken for it."""
    for node in body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for decorator in node.decorator_list:
            name = dotted(decorator.func) if isinstance(decorator, ast.Call) else None
            if not (name == COMPILES or (imports_sqlalchemy and name is not None
                                         and name.rsplit(".", 1)[-1] == "compiles")):
                continue
            assert isinstance(decorator, ast.Call)
            if not decorator.args:
                continue
            construct = dotted(decorator.args[0])
            if construct is None:
                continue
            dialects: list[str | None] = [
                a.value for a in decorator.args[1:]
                if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            for dialect in dialects or [None]:
                yield node.name, construct, dialect
