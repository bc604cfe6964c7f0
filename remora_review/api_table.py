"""The API table: a library's public classes and functions, with members flattened over bases."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
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

    def canonical(self, dotted: str) -> str | None:
        """The public name of a class or function given any path it is reachable by."""
        if dotted in self.classes or dotted in self.functions:
            return dotted
        return self.aliases.get(dotted)

    def to_json(self) -> dict[str, Any]:
        return {
            "library": self.library,
            "version": self.version,
            "classes": {k: _class_json(v) for k, v in sorted(self.classes.items())},
            "functions": {k: _sparse(v) for k, v in sorted(self.functions.items())},
            "aliases": dict(sorted(self.aliases.items())),
        }

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=None, sort_keys=True) + "\n", "utf-8")

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ApiTable:
        classes = {
            name: ClassInfo(
                name=c["name"],
                defined_in=c["defined_in"],
                bases=tuple(c["bases"]),
                members=MappingProxyType(
                    {m["name"]: _member(m) for m in c["members"].values()}
                ),
                doc=c.get("doc", ""),
            )
            for name, c in raw["classes"].items()
        }
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


def _member(m: Mapping[str, Any]) -> Member:
    return Member(
        name=m["name"],
        kind=m["kind"],
        params=tuple(Param(**p) for p in m.get("params", ())),
        is_async=m.get("is_async", False),
        returns=m.get("returns"),
        deprecated=m.get("deprecated"),
    )


def _class_json(c: ClassInfo) -> dict[str, Any]:
    return {
        "name": c.name,
        "defined_in": c.defined_in,
        "bases": list(c.bases),
        "members": {k: _sparse(v) for k, v in sorted(c.members.items())},
        "doc": c.doc,
    }


def _sparse(value: Member | FunctionInfo) -> dict[str, Any]:
    """Its fields, without a deprecation notice it does not have: most members have none, and
    the sqlalchemy table holds over 100,000 of them."""
    out = asdict(value)
    if out.get("deprecated") is None:
        out.pop("deprecated", None)
    return out
