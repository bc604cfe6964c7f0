"""The API table: a library's public classes and functions, with members flattened over bases.

On disk (`api.json`, pack format 2) a class lists only the members it does not inherit unchanged
from a class of the table: a fifth of the records, so a 12 MB table is 3 MB and loads in a tenth
of the time. Loading flattens them again over each class's MRO, sharing the inherited records.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

# Dunder protocols that usage profiles can observe, by the profile's own name for them.
PROTOCOL_DUNDERS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "with": ("__enter__",),
        "async_with": ("__aenter__",),
        "for": ("__iter__", "__getitem__"),
        "async_for": ("__aiter__",),
        "await": ("__await__",),
        "call": ("__call__",),
        "getitem": ("__getitem__", "__class_getitem__"),
        "setitem": ("__setitem__",),
        "len": ("__len__",),
        "contains": ("__contains__", "__iter__"),
    }
)


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # positional_only | positional_or_keyword | var_positional | keyword_only | var_keyword
    annotation: str | None = None  # public dotted name of a library class, when there is one
    has_default: bool = False


@dataclass(frozen=True)
class Member:
    name: str
    kind: str  # method | attribute | property | classmethod | staticmethod
    params: tuple[Param, ...] = ()  # without self / cls
    is_async: bool = False
    returns: str | None = None  # public dotted name when the return is a library class
    # The library's own deprecation notice (`@deprecated`, a DeprecationWarning raised on every
    # call, `.. deprecated::` in the docstring), as it words it; None when it marks none.
    deprecated: str | None = None

    def accepts(self, n_args: int, keywords: Iterable[str]) -> bool:
        """Whether a call with n positional args and these keywords fits the signature."""
        if self.kind in ("attribute", "property"):
            return True  # a callable attribute: nothing to check against
        positional = [p for p in self.params if p.kind in ("positional_only", "positional_or_keyword")]
        if n_args > len(positional) and not any(p.kind == "var_positional" for p in self.params):
            return False
        named = {p.name for p in self.params if p.kind != "positional_only"}
        var_kw = any(p.kind == "var_keyword" for p in self.params)
        return var_kw or all(k in named for k in keywords)


@dataclass(frozen=True)
class ClassInfo:
    name: str  # public import path, e.g. sqlalchemy.orm.Session
    defined_in: str  # where it is defined, e.g. sqlalchemy.orm.session.Session
    bases: tuple[str, ...]  # the MRO without the class itself and object (public names where known)
    members: Mapping[str, Member]  # own and inherited, public plus the protocol dunders
    doc: str = ""

    def has_protocol(self, protocol: str) -> bool:
        return any(d in self.members for d in PROTOCOL_DUNDERS.get(protocol, (protocol,)))


@dataclass(frozen=True)
class FunctionInfo:
    name: str  # public import path
    params: tuple[Param, ...]
    is_async: bool = False
    returns: str | None = None
    deprecated: str | None = None  # as on Member


@dataclass(frozen=True)
class ApiTable:
    library: str
    version: str
    classes: Mapping[str, ClassInfo]
    functions: Mapping[str, FunctionInfo] = field(default_factory=dict)
    # Every other dotted path a public name is reachable by (its defining module, other re-exports).
    aliases: Mapping[str, str] = field(default_factory=dict)

    @cached_property
    def member_names(self) -> frozenset[str]:
        """Every member name of the table's classes, inherited ones included (worked out once
        per table: the warm server keeps the packs' tables across reviews)."""
        return frozenset(m for info in self.classes.values() for m in info.members)

    def canonical(self, dotted: str) -> str | None:
        """The public name of a class or function given any path it is reachable by."""
        if dotted in self.classes or dotted in self.functions:
            return dotted
        return self.aliases.get(dotted)

    def to_json(self) -> dict[str, Any]:
        own = _own_members(self.classes)
        return {
            "library": self.library,
            "version": self.version,
            "classes": {k: _class_json(v, *own[k]) for k, v in sorted(self.classes.items())},
            "functions": {k: _sparse(v) for k, v in sorted(self.functions.items())},
            "aliases": dict(sorted(self.aliases.items())),
        }

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=None, sort_keys=True) + "\n", "utf-8")

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ApiTable:
        """A table from its JSON; a class's members are its own listed ones over those of the
        table's classes in its MRO (a table written flattened loads the same)."""
        listed = raw["classes"]
        params: dict[tuple[Any, ...], Param] = {}  # the same parameter recurs thousands of times
        own = {name: {m["name"]: _member(m, params) for m in c["members"].values()}
               for name, c in listed.items()}
        classes = {}
        for name, c in listed.items():
            members: dict[str, Member] = {}
            for base in reversed(c["bases"]):
                members.update(own.get(base, ()))
            members.update(own[name])
            for hidden in c.get("hidden", ()):
                members.pop(hidden, None)
            classes[name] = ClassInfo(
                name=c["name"],
                defined_in=c["defined_in"],
                bases=tuple(c["bases"]),
                members=MappingProxyType(dict(sorted(members.items()))),
                doc=c.get("doc", ""),
            )
        functions = {
            name: FunctionInfo(
                name=f["name"],
                params=tuple(Param(**p) for p in f["params"]),
                is_async=f.get("is_async", False),
                returns=f.get("returns"),
                deprecated=f.get("deprecated"),
            )
            for name, f in raw.get("functions", {}).items()
        }
        return cls(
            library=raw["library"],
            version=raw["version"],
            classes=MappingProxyType(classes),
            functions=MappingProxyType(functions),
            aliases=MappingProxyType(dict(raw.get("aliases", {}))),
        )

    @classmethod
    def load(cls, path: Path) -> ApiTable:
        return cls.from_json(json.loads(path.read_text("utf-8")))


def _member(m: Mapping[str, Any], params: dict[tuple[Any, ...], Param] | None = None) -> Member:
    return Member(
        name=m["name"],
        kind=m["kind"],
        params=tuple(_param(p, params) for p in m.get("params", ())),
        is_async=m.get("is_async", False),
        returns=m.get("returns"),
        deprecated=m.get("deprecated"),
    )


def _param(p: Mapping[str, Any], seen: dict[tuple[Any, ...], Param] | None) -> Param:
    if seen is None:
        return Param(**p)
    key = (p["name"], p["kind"], p.get("annotation"), p.get("has_default", False))
    found = seen.get(key)
    if found is None:
        found = seen[key] = Param(*key)
    return found


def _own_members(classes: Mapping[str, ClassInfo]) -> dict[str, tuple[dict[str, Member],
                                                                       list[str]]]:
    """Per class, the members that flattening its MRO's own members would not give it (new or
    overridden), and the inherited names it lacks (`hidden`): the inverse of `from_json`."""
    own: dict[str, dict[str, Member]] = {}

    def inherited(info: ClassInfo) -> dict[str, Member]:
        out: dict[str, Member] = {}
        for base in reversed(info.bases):
            out.update(own.get(base, {}))
        return out

    for name in sorted(classes, key=lambda n: len(classes[n].bases)):  # bases before subclasses
        info = classes[name]
        if all(b in own for b in info.bases if b in classes):
            base_members = inherited(info)
            own[name] = {k: v for k, v in info.members.items() if base_members.get(k) != v}
        else:  # a base not written yet (an MRO that loops through aliases): list them all
            own[name] = dict(info.members)
    return {name: (own[name], sorted(inherited(info).keys() - info.members.keys()))
            for name, info in classes.items()}


def _class_json(c: ClassInfo, own: Mapping[str, Member], hidden: list[str]) -> dict[str, Any]:
    out = {
        "name": c.name,
        "defined_in": c.defined_in,
        "bases": list(c.bases),
        "members": {k: _sparse(v) for k, v in sorted(own.items())},
        "doc": c.doc,
    }
    if hidden:
        out["hidden"] = hidden
    return out


def _sparse(value: Member | FunctionInfo) -> dict[str, Any]:
    """Its fields, without a deprecation notice it does not have: most members have none, and
    the sqlalchemy table holds over 100,000 of them."""
    out = asdict(value)
    if out.get("deprecated") is None:
        out.pop("deprecated", None)
    return out
