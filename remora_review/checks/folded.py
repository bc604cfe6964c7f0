"""The text the type-hint check profiles: the analysed slice with each long run of blank lines
between statements folded into one string statement on the same lines.

The slice (pysource/slicing.py) blanks the functions a change does not touch but keeps their lines,
so that positions stay those of the file; to libcst every blank line is a node, and a 400-line
module of which the change touches one function is still mostly blank lines, each visited by every
metadata pass. A string statement spanning the same lines is one node: positions, scopes and
qualified names are unchanged (a string binds nothing and calls nothing).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence

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
    for first, last, indent in list(_gaps(tree.body, lines)):
        lines[first - 1] = indent + '"""' + _ending(lines[first - 1])
        lines[last - 1] = '"""' + _ending(lines[last - 1])
    return "".join(lines)
