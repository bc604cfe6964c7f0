"""Blind mode renames a function's parameters (`request` -> `p0_4`); the calls that pass them by
keyword must follow, as a rename refactoring would: `self._template_response(request=request)`
left as it is names a parameter the function no longer has, and the value passed is linked to
nothing (a type checker would reject the call). Names-kept and one-file modes are untouched.

A call is matched by the callee's name (`f(...)`, `obj.f(...)`, `Class(...)` for
`Class.__init__`): the calling file's own function of that name first, else the project's one
function of that name whose parameter was renamed. Where two functions of the name rename the
keyword differently (each stripped file has its own suffix), the call is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import libcst as cst

from bench.devset.extract import StrippedFile

# callee name -> {keyword as published: its new name, or None where renames disagree}
Renames = dict[str, dict[str, str | None]]


def _callee_names(function: str) -> list[str]:
    parts = function.split(".")
    if parts[-1] == "__init__" and len(parts) > 1:
        return [parts[-2]]  # `Class(...)` calls `Class.__init__`
    return [parts[-1]]


def _add(into: Renames, files: Sequence[StrippedFile]) -> Renames:
    for f in files:
        for g in f.gold:
            if g.original == g.parameter:
                continue
            for name in _callee_names(g.function):
                known = into.setdefault(name, {})
                if g.original in known and known[g.original] != g.parameter:
                    known[g.original] = None
                else:
                    known[g.original] = g.parameter
    return into


class _Keywords(cst.CSTTransformer):
    def __init__(self, own: Renames, project: Renames) -> None:
        super().__init__()
        self._own = own
        self._project = project

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        func = updated_node.func
        name = (func.value if isinstance(func, cst.Name)
                else func.attr.value if isinstance(func, cst.Attribute) else None)
        renames = self._own.get(name or "") or self._project.get(name or "")
        if not renames:
            return updated_node
        args = [a.with_changes(keyword=cst.Name(new))
                if a.keyword is not None and (new := renames.get(a.keyword.value)) else a
                for a in updated_node.args]
        return updated_node.with_changes(args=args)


def follow_renames(tree: Mapping[str, str], files: Sequence[StrippedFile]) -> dict[str, str]:
    """The project's texts with every call's keyword arguments renamed as their parameters were
    (lines and line count unchanged: a keyword changes within its line)."""
    project = _add({}, files)
    if not project:
        return dict(tree)
    by_path = {f.path: f for f in files}
    keywords = {k for renames in project.values() for k in renames}
    passed = re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(keywords))) + r")\s*=[^=]")
    out = {}
    for path, text in tree.items():
        if not passed.search(text):  # no call can pass a renamed keyword: as it is
            out[path] = text
            continue
        own = _add({}, [by_path[path]]) if path in by_path else {}
        try:
            module = cst.parse_module(text)
        except cst.ParserSyntaxError:
            out[path] = text
            continue
        out[path] = module.visit(_Keywords(own, project)).code
    return out
