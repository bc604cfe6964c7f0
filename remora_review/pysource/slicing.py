"""Blank out the top-level functions and methods a change does not touch, keeping line numbers.

libcst's scope and qualified-name analysis costs about 0.1 s per 1,000 lines, which a hook cannot
pay for whole files when a commit touches a few functions. The slice keeps every line that can
matter to a changed function (imports, module-level assignments, the enclosing class headers) at
its own line and column, so findings and fixes computed on the slice apply to the original text.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence

_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)


def _span(node: ast.stmt) -> tuple[int, int]:
    decorators = getattr(node, "decorator_list", [])
    start = min([node.lineno, *(d.lineno for d in decorators)])
    return start, node.end_lineno or node.lineno


def _alone_on_lines(node: ast.stmt, lines: Sequence[str]) -> bool:
    """A statement sharing a line with another (`def f(): pass; x = 1`) is never blanked."""
    start, end = _span(node)
    first = lines[start - 1]
    last = lines[end - 1]
    indent = first[: len(first) - len(first.lstrip())]
    tail = last[node.end_col_offset or 0:].strip()
    return first.startswith(indent) and (not tail or tail.startswith("#"))


def _touched(node: ast.stmt, changed: frozenset[int]) -> bool:
    start, end = _span(node)
    return any(line in changed for line in range(start, end + 1))


def _blank(lines: list[str], start: int, end: int) -> None:
    for i in range(start - 1, end):
        ending = lines[i][len(lines[i].rstrip("\r\n")):]
        lines[i] = ending


def _slice_body(body: Sequence[ast.stmt], changed: frozenset[int], lines: list[str],
                in_class: bool) -> None:
    removed: list[ast.stmt] = []
    for node in body:
        if isinstance(node, _DEFS) and not _touched(node, changed):
            if _alone_on_lines(node, lines):
                _blank(lines, *_span(node))
                removed.append(node)
        elif isinstance(node, ast.ClassDef):
            if not _touched(node, changed) and _alone_on_lines(node, lines):
                _blank(lines, *_span(node))
                removed.append(node)
            else:
                _slice_body(node.body, changed, lines, in_class=True)
    if in_class and removed and len(removed) == len(body):
        first = removed[0]
        start, _ = _span(first)
        ending = lines[start - 1]
        lines[start - 1] = " " * first.col_offset + "pass" + ending


def slice_source(source: str, changed: frozenset[int] | None,
                 parse: Callable[[str], ast.Module] = ast.parse) -> str:
    """The source with untouched top-level functions, classes and methods blanked out; `parse`:
    where its `ast` comes from (a run's shared one, checks/trees.py), not changed here."""
    if changed is None:
        return source
    try:
        tree = parse(source)
    except (SyntaxError, ValueError):
        return source
    lines = source.splitlines(keepends=True)
    _slice_body(tree.body, changed, lines, in_class=False)
    return "".join(lines)
