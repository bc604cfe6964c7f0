"""The text the type-hint and API checks analyse: the slice with each module-level import that
nothing else in it names blanked, and each long run of blank lines between statements folded into
one string statement on the same lines.

The slice (pysource/slicing.py) blanks the functions a change does not touch but keeps their lines,
so that positions stay those of the file; to libcst every blank line is a node, and a 400-line
module of which the change touches one function is still mostly blank lines, each visited by every
metadata pass. A string statement spanning the same lines is one node: positions, scopes and
qualified names are unchanged (a string binds nothing and calls nothing).

Imports are most of what a slice keeps (measured: a third of the scope analysis and nine tenths of
the position pass on the hook bench's ten alembic files). An import binds names; one that no other
line of the text mentions, even in a string or a comment, cannot change a scope, a reference or a
qualified name the checks read. What it binds is still known: `Analysed.dropped` holds those
imports, for the fix that looks for a name the module already binds.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

_MIN_RUN = 3  # shorter runs cost less than the statement that would replace them


def _start(node: ast.stmt) -> int:
    return min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])


def _gaps(body: Sequence[ast.stmt], lines: Sequence[str]) -> Iterator[tuple[int, int, str]]:
    """(first, last, indentation) of each blank run between two statements of a block: the
    module's and, within it, each class body's."""
    previous_end: int | None = None
    for node in body:
        start = _start(node)
        if previous_end is not None and start - previous_end - 1 >= _MIN_RUN and all(
            not lines[i].strip() for i in range(previous_end, start - 1)
        ):
            line = lines[start - 1]
            yield previous_end + 1, start - 1, line[: len(line) - len(line.lstrip())]
        if isinstance(node, ast.ClassDef):
            yield from _gaps(node.body, lines)
        previous_end = node.end_lineno or node.lineno


def _ending(line: str) -> str:
    return line[len(line.rstrip("\r\n")):] or "\n"


def fold_blank_runs(source: str) -> str:
    """The source with long blank runs between statements made single string statements."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return source
    lines = source.splitlines(keepends=True)
    _fold(tree.body, lines)
    return "".join(lines)


def _fold(body: Sequence[ast.stmt], lines: list[str]) -> None:
    """Make each long blank run between the statements of `body` one string statement."""
    for first, last, indent in list(_gaps(body, lines)):
        lines[first - 1] = indent + '"""' + _ending(lines[first - 1])
        lines[last - 1] = '"""' + _ending(lines[last - 1])


@dataclass(frozen=True)
class Analysed:
    """The analysed text, and the imports blanked in it (nodes of the slice's `ast`)."""

    text: str
    dropped: tuple[ast.Import | ast.ImportFrom, ...] = ()

    @property
    def dropped_names(self) -> frozenset[str]:
        """The local names the blanked imports bind."""
        return frozenset(n for node in self.dropped for n in _bound_names(node) or ())


_IMPORTS = (ast.Import, ast.ImportFrom)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _bound_names(node: ast.Import | ast.ImportFrom) -> list[str] | None:
    """The local names an import binds; None where it must stay (`*`, `__future__`)."""
    if isinstance(node, ast.ImportFrom) and node.module == "__future__":
        return None
    names = [a.asname or a.name.split(".")[0] for a in node.names]
    return None if "*" in names else names


def _alone(node: ast.stmt, lines: Sequence[str]) -> bool:
    """Whether a statement has its lines to itself (`import a; b()` shares one)."""
    first, last = lines[node.lineno - 1], lines[(node.end_lineno or node.lineno) - 1]
    before = first[: node.col_offset]
    after = last[node.end_col_offset or 0:].strip()
    return not before.strip() and (not after or after.startswith("#"))


def _blocks(body: Sequence[ast.stmt]) -> Iterator[Sequence[ast.stmt]]:
    """The module's body and the blocks of its `if` and `try` statements (where guarded and
    optional imports live), each with its statements."""
    yield body
    for node in body:
        if isinstance(node, ast.If):
            yield from _blocks(node.body)
            if node.orelse:
                yield from _blocks(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody,
                          *(h.body for h in node.handlers)):
                if block:
                    yield from _blocks(block)


def _without_unused_imports(tree: ast.Module,
                            lines: list[str]) -> tuple[ast.Import | ast.ImportFrom, ...]:
    """Blank, in `lines`, the imports no other line mentions a name of; those imports."""
    blocks = list(_blocks(tree.body))
    candidates = [n for block in blocks for n in block
                  if isinstance(n, _IMPORTS) and _bound_names(n) is not None and _alone(n, lines)]
    if not candidates:
        return ()
    spans = {i for n in candidates for i in range(n.lineno - 1, n.end_lineno or n.lineno)}
    words = set(_WORD.findall("".join(line for i, line in enumerate(lines) if i not in spans)))
    dropped = tuple(n for n in candidates if not words.intersection(_bound_names(n) or ()))
    gone = set(map(id, dropped))
    # A block left with no statement keeps a `pass` on its first line, indented as it was.
    emptied = [block[0].lineno - 1 for block in blocks[1:] if all(id(n) in gone for n in block)]
    passes = {i: lines[i][: len(lines[i]) - len(lines[i].lstrip())] + "pass" for i in emptied}
    for node in dropped:
        for i in range(node.lineno - 1, node.end_lineno or node.lineno):
            lines[i] = passes.get(i, "") + _ending(lines[i])
    return dropped


def analysed_text(source: str, parse: Callable[[str], ast.Module] = ast.parse) -> Analysed:
    """The text the checks analyse (see the module's docstring): same lines, same columns.
    `parse`: where its `ast` comes from (a run's shared one, checks/trees.py); not changed."""
    try:
        tree = parse(source)
    except (SyntaxError, ValueError):
        return Analysed(source)
    lines = source.splitlines(keepends=True)
    dropped = _without_unused_imports(tree, lines)
    gone = set(map(id, dropped))
    _fold([n for n in tree.body if id(n) not in gone], lines)
    return Analysed("".join(lines), dropped)
