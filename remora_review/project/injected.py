"""What a framework passes to the project's functions itself: Starlette (and FastAPI, built on it)
calls a route endpoint, an exception handler and an HTTP middleware function with the `Request`
(a WebSocket route with the `WebSocket`) as their first argument; SQLAlchemy calls a `@compiles`
function with the construct and the dialect's compiler."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

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


def _walk(node: ast.AST, scope: _Scope) -> Iterator[Injected]:
    for child in ast.iter_child_nodes(node):
        inner = scope
        if isinstance(child, ast.Call):
            yield from _registered(child, scope)
        elif isinstance(child, ast.Assign) and isinstance(child.value, ast.Dict) and any(
                isinstance(t, ast.Attribute) and t.attr == _HANDLERS for t in child.targets):
            yield from _handlers(child.value, scope)  # `app.exception_handlers = {...}`
        elif isinstance(child, ast.ClassDef):
            named = isinstance(node, (ast.Module, ast.ClassDef)) and (
                scope.owner is not None or isinstance(node, ast.Module))
            owner = (f"{scope.owner}.{child.name}" if scope.owner else child.name) if named \
                else None
            inner = _Scope(scope.dotted, scope.module, owner, None)
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            target = scope.dotted(ast.Name(child.name)) \
                if scope.owner is None and not isinstance(node, ast.ClassDef) else None
            for decorator in child.decorator_list:
                if (target is not None and isinstance(decorator, ast.Call)
                        and isinstance(decorator.func, ast.Attribute)
                        and decorator.func.attr in _DECORATORS):
                    yield target, "0", _DECORATORS[decorator.func.attr]
            if isinstance(node, ast.ClassDef) and scope.receiver is None:
                first = [*child.args.posonlyargs, *child.args.args][:1]
                inner = _Scope(scope.dotted, scope.module, scope.owner,
                               first[0].arg if first else None)
        yield from _walk(child, inner)


def _registered(call: ast.Call, scope: _Scope) -> Iterator[Injected]:
    for keyword in call.keywords:
        if keyword.arg == _HANDLERS and isinstance(keyword.value, ast.Dict):
            yield from _handlers(keyword.value, scope)  # `Starlette(exception_handlers={...})`
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
