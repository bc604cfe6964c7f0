"""What a framework passes to the project's functions itself: Starlette (and FastAPI, built on it)
calls a route endpoint, an exception handler and an HTTP middleware function with the `Request`
(a WebSocket route with the `WebSocket`) as their first argument."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator

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

# (called function's dotted path, slot, class it is given)
Injected = tuple[str, str, str]


def injected(tree: ast.Module, dotted: Callable[[ast.expr], str | None],
             imports_framework: bool) -> Iterator[Injected]:
    """Every function of the module that Starlette is told to call, with what it passes. The
    registering methods and decorators are matched by name, so only in a module that imports
    starlette or fastapi."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield from _registered(node, dotted, imports_framework)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and imports_framework:
            target = dotted(ast.Name(node.name))
            for decorator in node.decorator_list:
                if (target is not None and isinstance(decorator, ast.Call)
                        and isinstance(decorator.func, ast.Attribute)
                        and decorator.func.attr in _DECORATORS):
                    yield target, "0", _DECORATORS[decorator.func.attr]


def _registered(call: ast.Call, dotted: Callable[[ast.expr], str | None],
                imports_framework: bool) -> Iterator[Injected]:
    found = _ROUTES.get(dotted(call.func) or "")
    if found is None and imports_framework and isinstance(call.func, ast.Attribute):
        found = _REGISTER.get(call.func.attr)
    if found is None:
        return
    position, keyword, given = found
    endpoint = next((k.value for k in call.keywords if k.arg == keyword), None)
    if endpoint is None and len(call.args) > position and not any(
            isinstance(a, ast.Starred) for a in call.args[:position + 1]):
        endpoint = call.args[position]
    target = dotted(endpoint) if isinstance(endpoint, (ast.Name, ast.Attribute)) else None
    if target is not None:
        yield target, "0", given
