"""Where each function, its name and its parameters' names lie, equal to libcst's PositionProvider
for those nodes, read from Python's own parser instead.

PositionProvider generates the whole module's code node by node to place every node: measured
30 ms for a 300-line file, 3.9 s over advanced-alchemy's 132 files, most of `check --all`'s
metadata cost; the checks read it for the functions and parameters only (which functions a change
touches, the line and column of a finding). The `ast` parse of the same text gives those places
in a tenth of that. Where the two trees do not pair up (ast refuses what libcst accepted), the
positions come from PositionProvider as before.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import libcst as cst
import libcst.metadata as meta

_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)
_NEWLINE = re.compile(r"\r\n|\r|\n")
# After `def` only blanks and backslash continuations come before the function's name.
_TO_NAME = re.compile(r"(?:async(?:[ \t\f]|\\\r?\n)+)?def(?:[ \t\f]|\\\r?\n)+")


class DefPositions(meta.BaseMetadataProvider[meta.CodeRange]):
    """A CodeRange for every FunctionDef, its `name` and each of its parameters' `name`."""

    _source: str | None = None
    _syntax: Callable[[str], ast.Module] | None = None

    def _gen(self, wrapper: meta.MetadataWrapper) -> Mapping[cst.CSTNode, Any]:
        # The text the module was parsed from and where its `ast` comes from, where the wrapper
        # keeps them (pysource/wrapper.py): generating the module's code again took as long as
        # the `ast` parse, which a run may have made already.
        self._source = getattr(wrapper, "source", None)
        self._syntax = getattr(wrapper, "syntax", None)
        return super()._gen(wrapper)

    def _gen_impl(self, module: cst.Module) -> None:
        functions = list(_functions(module.body))
        placed = _from_ast(module.code if self._source is None else self._source, functions,
                           self._syntax or ast.parse)
        if placed is None:
            positions = meta.MetadataWrapper(module, unsafe_skip_copy=True).resolve(
                meta.PositionProvider)
            placed = {node: positions[node] for f in functions for node in _named(f)}
        for node, where in placed.items():
            self.set_metadata(node, where)


def _functions(body: Sequence[cst.CSTNode]) -> Iterator[cst.FunctionDef]:
    """Every FunctionDef under these statements, in the order of its `def` in the text. Only
    statement blocks are walked: a def is a statement, and a visitor of every expression node
    would cost what PositionProvider does."""
    for statement in body:
        if isinstance(statement, cst.FunctionDef):
            yield statement
        for block in _blocks(statement):
            yield from _functions(block)


def _blocks(statement: cst.CSTNode) -> Iterator[Sequence[cst.CSTNode]]:
    """The statement blocks of a compound statement, in source order."""
    if isinstance(statement, (cst.SimpleStatementLine, cst.BaseSmallStatement)):
        return
    if isinstance(statement, cst.If):
        yield statement.body.body
        if statement.orelse is not None:
            yield (statement.orelse,) if isinstance(statement.orelse, cst.If) \
                else statement.orelse.body.body
        return
    body = getattr(statement, "body", None)
    if isinstance(body, cst.BaseSuite):
        yield body.body
    for handler in getattr(statement, "handlers", ()):
        yield handler.body.body
    for case in getattr(statement, "cases", ()):
        yield case.body.body
    for part in ("orelse", "finalbody"):
        value = getattr(statement, part, None)
        if value is not None:
            yield value.body.body


def _named(function: cst.FunctionDef) -> Iterator[cst.CSTNode]:
    yield function
    yield function.name
    yield from (p.name for p in _params(function.params))


def _params(params: cst.Parameters) -> Iterator[cst.Param]:
    yield from params.posonly_params
    yield from params.params
    if isinstance(params.star_arg, cst.Param):
        yield params.star_arg
    yield from params.kwonly_params
    if params.star_kwarg is not None:
        yield params.star_kwarg


def _ast_params(args: ast.arguments) -> Iterator[ast.arg]:
    yield from args.posonlyargs
    yield from args.args
    if args.vararg is not None:
        yield args.vararg
    yield from args.kwonlyargs
    if args.kwarg is not None:
        yield args.kwarg


def _from_ast(text: str, functions: Sequence[cst.FunctionDef],
              parse: Callable[[str], ast.Module] = ast.parse
              ) -> dict[cst.CSTNode, meta.CodeRange] | None:
    """The places from the `ast` of `text` (`parse`'s, read only), or None where its defs do
    not pair with libcst's."""
    if not functions:
        return {}
    try:
        tree = parse(text)
    except (SyntaxError, ValueError):
        return None
    defs = sorted((n for n in ast.walk(tree) if isinstance(n, _DEFS)),
                  key=lambda n: (n.lineno, n.col_offset))
    if len(defs) != len(functions):
        return None
    lines = _Lines(text)
    out: dict[cst.CSTNode, meta.CodeRange] = {}
    for function, node in zip(functions, defs):
        params = list(_params(function.params))
        args = list(_ast_params(node.args))
        if (function.name.value != node.name or (function.asynchronous is not None)
                != isinstance(node, ast.AsyncFunctionDef)
                or [p.name.value for p in params] != [a.arg for a in args]):
            return None
        start = lines.position(node.lineno, node.col_offset)
        name = lines.after(start, _TO_NAME, function.name.value)
        if name is None:
            return None
        last = _last_simple(node)
        out[function] = meta.CodeRange(
            start, lines.position(getattr(last, "end_lineno", None) or node.lineno,
                                  getattr(last, "end_col_offset", None) or 0))
        out[function.name] = name
        for param, arg in zip(params, args):
            at = lines.position(arg.lineno, arg.col_offset)
            out[param.name] = meta.CodeRange(
                at, meta.CodePosition(at.line, at.column + len(arg.arg)))
    return out


def _last_simple(node: ast.AST) -> ast.AST:
    """The last simple statement of a compound one: where libcst ends a function. ast's own end
    for a def takes in a one-liner's trailing `;`, libcst's does not."""
    while True:
        for part in ("finalbody", "orelse", "handlers", "cases", "body"):
            block = getattr(node, part, None)
            if block:
                break
        else:
            return node
        node = block[-1]
        if isinstance(node, (ast.ExceptHandler, ast.match_case)):
            node = node.body[-1]


class _Lines:
    """The text's lines as Python counts them, for turning ast's UTF-8 byte columns into the
    character columns libcst gives."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._starts = [0] + [m.end() for m in _NEWLINE.finditer(text)]

    def _line(self, line: int) -> str:
        end = self._starts[line] if line < len(self._starts) else len(self._text)
        return self._text[self._starts[line - 1]:end]

    def position(self, line: int, byte_column: int) -> meta.CodePosition:
        text = self._line(line)
        if text.isascii():
            return meta.CodePosition(line, byte_column)
        return meta.CodePosition(line, len(text.encode()[:byte_column].decode(errors="replace")))

    def after(self, start: meta.CodePosition, keyword: re.Pattern[str], name: str
              ) -> meta.CodeRange | None:
        """The range of `name` right after the `keyword` match at `start`."""
        offset = self._starts[start.line - 1] + start.column
        match = keyword.match(self._text, offset)
        if match is None or not self._text.startswith(name, match.end()):
            return None
        line = start.line + self._text.count("\n", offset, match.end()) + self._text.count(
            "\r", offset, match.end()) - self._text.count("\r\n", offset, match.end())
        column = match.end() - self._starts[line - 1]
        return meta.CodeRange(meta.CodePosition(line, column),
                              meta.CodePosition(line, column + len(name)))
