"""What a library's calls return: the API table's return annotations, and the docstrings of the
ones it leaves unannotated (`:rtype: requests.Response`), so the miner types `r = requests.get(u)`."""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Mapping
from typing import Any

from remora_review.api_table import ApiTable

# `:rtype: requests.Response`, `:rtype: :class:`Response``, `:return: :class:`Response <Response>``
_RTYPE = re.compile(r":rtype:\s*(?::\w+:)?`?~?(?:[^<`\n]*<)?~?([A-Za-z_][\w.]*)")
_RETURN_CLASS = re.compile(r":returns?:\s*:class:`(?:[^<`\n]*<)?~?([A-Za-z_][\w.]*)")
_METHODS = ("method", "classmethod", "staticmethod", "property")


def call_returns(table: ApiTable, documented: Mapping[str, str] = {}) -> dict[str, str]:
    """Dotted path -> class its call (or read, for a property) gives: functions by their public
    names and aliases, members as `Class.member` under the class's public name."""
    out: dict[str, str] = dict(documented)
    for name, function in table.functions.items():
        if function.returns is not None and function.returns in table.classes:
            out[name] = function.returns
    for name, info in table.classes.items():
        for member in info.members.values():
            if member.returns is not None and member.returns in table.classes and \
                    member.kind in _METHODS:
                out[f"{name}.{member.name}"] = member.returns
    for alias, target in table.aliases.items():
        if target in out:
            out[alias] = out[target]
    return dict(sorted(out.items()))


def documented_returns(table: ApiTable) -> dict[str, str]:
    """The calls whose return the table lacks and whose docstring names one of its classes."""
    out: dict[str, str] = {}
    seen: dict[int, str | None] = {}

    def declared(obj: Any) -> str | None:
        if id(obj) not in seen:
            seen[id(obj)] = _declared(inspect.getdoc(obj) or "", table)
        return seen[id(obj)]

    for name, function in table.functions.items():
        obj = _object(name) if function.returns is None else None
        found = declared(obj) if obj is not None else None
        if found is not None:
            out[name] = found
    for name, info in table.classes.items():
        owner = _object(name)
        if owner is None:
            continue
        for member in info.members.values():
            if member.returns is not None or member.kind not in _METHODS:
                continue
            try:
                obj = inspect.getattr_static(owner, member.name)
            except AttributeError:
                continue
            if isinstance(obj, (classmethod, staticmethod)):
                obj = obj.__func__
            elif isinstance(obj, property):
                obj = obj.fget
            found = declared(obj) if obj is not None else None
            if found is not None:
                out[f"{name}.{member.name}"] = found
    return dict(sorted(out.items()))


def _declared(doc: str, table: ApiTable) -> str | None:
    match = _RTYPE.search(doc) or _RETURN_CLASS.search(doc)
    return _class(match.group(1), table) if match else None


def _class(written: str, table: ApiTable) -> str | None:
    """A docstring's class name as the table's public name: dotted, under the library, or the one
    class of that short name."""
    for dotted in (written, f"{table.library}.{written}"):
        found = table.canonical(dotted)
        if found in table.classes:
            return found
    short = [n for n in table.classes if n.rsplit(".", 1)[-1] == written]
    return short[0] if len(short) == 1 else None


def _object(dotted: str) -> Any:
    """The live object a public dotted path names; None when it cannot be reached."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            current: Any = importlib.import_module(".".join(parts[:cut]))
        except Exception:  # not a module: try a shorter prefix
            continue
        try:
            for attr in parts[cut:]:
                current = getattr(current, attr)
        except Exception:  # a name the module does not expose after all
            return None
        return current
    return None
