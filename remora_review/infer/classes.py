"""The candidate classes: statistics per pack from its API table and mined usages, the builtins that
compete beside them, and the indexes scoring looks them up by."""

from __future__ import annotations

import builtins
import functools
import inspect
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from remora_review.api_table import PROTOCOL_DUNDERS, ApiTable, ClassInfo, Member, Param
from remora_review.infer.profile import UsageProfile
from remora_review.infer.weights import BUILTIN_MASS, BUILTIN_SHARES, PROMINENCE, SMOOTH

if TYPE_CHECKING:
    from remora_review.infer.scoring import Rivals
    from remora_review.packs.loader import LoadedPack

OTHER_LABEL = "<other>"  # names.json: an annotation that is neither a library class nor a builtin
# Sub-packages that hold a library's asyncio twins of its classes (`redis.asyncio`, azure's `aio`).
ASYNC_PACKAGES = frozenset({"asyncio", "aio"})


@dataclass(frozen=True)
class ClassModel:
    """One candidate type with its members and the statistics mined for it."""

    info: ClassInfo
    pack: str | None  # None for builtins, which are never proposed
    usages: float  # mined usages labelled with this class
    member_counts: Mapping[str, float]


@dataclass
class PackModel:
    """Statistics derived once per pack from its API table and mined usages."""

    pack: str
    api: ApiTable
    classes: dict[str, ClassModel] = field(default_factory=dict)
    names: dict[str, dict[str, float]] = field(default_factory=dict)

    @classmethod
    def from_pack(cls, pack: LoadedPack) -> PackModel:
        api = pack.api_table
        usage_counts: defaultdict[str, float] = defaultdict(float)
        member_counts: defaultdict[str, defaultdict[str, float]] = defaultdict(lambda: defaultdict(float))
        names: defaultdict[str, defaultdict[str, float]] = defaultdict(lambda: defaultdict(float))
        for doc in pack.documents:
            if doc.kind != "usage" or not doc.label or "profile" not in doc.meta:
                continue
            label = api.canonical(doc.label) or doc.label
            weight = float(doc.meta.get("count", 1))
            profile = UsageProfile.from_json(doc.meta["profile"])
            usage_counts[label] += weight
            for member in profile.members:
                member_counts[label][member] += weight
            names[profile.name][label] += weight
        if pack.names:
            names = defaultdict(lambda: defaultdict(float))
            for name, labels in pack.names.items():
                for label, count in labels.items():
                    names[name][api.canonical(label) or label] += count
        model = cls(pack=pack.name, api=api, names=dict(names))
        for name, info in api.classes.items():
            model.classes[name] = ClassModel(info, pack.name,
                                             usage_counts[name] + _prominence(name),
                                             dict(member_counts[name]))
        return model


def _prominence(public_name: str) -> float:
    """Pseudo-usages for a class by how near the package top it is exported (`httpx.Client`).

    A library's own source rarely annotates parameters with its main classes, so mined counts
    alone would make them look rare.
    """
    depth = public_name.count(".")
    return 1.0 + PROMINENCE / depth if depth else 1.0


_PARAM_KINDS = {
    inspect.Parameter.POSITIONAL_ONLY: "positional_only",
    inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional_or_keyword",
    inspect.Parameter.VAR_POSITIONAL: "var_positional",
    inspect.Parameter.KEYWORD_ONLY: "keyword_only",
    inspect.Parameter.VAR_KEYWORD: "var_keyword",
}
_DUNDERS = {d for ds in PROTOCOL_DUNDERS.values() for d in ds}


def _builtin_member(typ: type, name: str) -> Member:
    attr = getattr(typ, name)
    if not callable(attr):
        return Member(name, "attribute")
    try:
        signature = inspect.signature(attr)
    except (TypeError, ValueError):  # no text signature: accept any call
        return Member(name, "method", (Param("args", "var_positional"),
                                       Param("kwargs", "var_keyword")))
    params = tuple(Param(p.name, _PARAM_KINDS[p.kind], None, p.default is not p.empty)
                   for p in list(signature.parameters.values())[1:])
    return Member(name, "method", params)


def _builtin_models(total_usages: float) -> list[ClassModel]:
    out = []
    for name, share in BUILTIN_SHARES.items():
        typ = getattr(builtins, name)
        members = {m: _builtin_member(typ, m) for m in dir(typ)
                   if not m.startswith("_") or m in _DUNDERS}
        info = ClassInfo(name=f"builtins.{name}", defined_in=f"builtins.{name}", bases=(),
                         members=members)
        out.append(ClassModel(info, None, max(1.0, total_usages * BUILTIN_MASS * share), {}))
    return out


_GENERIC_WORDS = frozenset({"base", "abstract", "abc", "mixin", "impl", "protocol", "generic",
                            "async"})


# Cached: each new project index in the warm server names its classes' words again (tens of
# thousands in a repository of 5,000 files), nearly all of them the last index's.
@functools.lru_cache(maxsize=1 << 16)
def class_words(dotted: str) -> frozenset[str]:
    """`pkg.ops.ModifyTableOps` -> {"modify", "table", "ops"}; `BaseField` -> {"field"}."""
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", dotted.rsplit(".", 1)[-1])
    return frozenset(w.lower() for w in words) - _GENERIC_WORDS


def name_words(name: str) -> frozenset[str]:
    """`form_data` -> {"form", "data"}; `async_session` -> {"session"}, as `class_words`."""
    return frozenset(w for w in name.lower().split("_") if w) - _GENERIC_WORDS


class Catalogue:
    """Every candidate class of a set of packs, the builtins beside them, and what scoring looks
    up about them; built once per set of active packs."""

    def __init__(self, models: Sequence[PackModel]) -> None:
        self.models = list(models)
        # TypeInferer._own's answers for the last few project mappings it was given (the warm
        # server's repositories), held (so no id is reused) here because the catalogue outlives
        # a review there, where an unchanged tree's project index is the same object review
        # after review. Newest last.
        self.own_kept: list[tuple[Mapping[str, tuple[frozenset[str], tuple[str, ...]]],
                                  dict[str, frozenset[str]], Rivals]] = []
        # TypeInferer._used's answers likewise, for the last few ProjectIndex.usages mappings.
        self.used_kept: list[tuple[Mapping[str, object], Mapping[str, ClassModel]]] = []
        self.classes: dict[str, ClassModel] = {}
        for m in self.models:
            self.classes.update(m.classes)
        self.total = sum(c.usages for c in self.classes.values()) + 1.0
        self.builtins = _builtin_models(self.total)
        self.total_with_builtins = self.total + sum(b.usages for b in self.builtins)
        # Prior pseudo-counts of every candidate, builtins included, for the name signal.
        self.prior_counts: dict[str, float] = {
            n: c.usages + SMOOTH for n, c in [*self.classes.items(),
                                              *((b.info.name, b) for b in self.builtins)]
        }
        # How often a parameter name is annotated with some other class, overall: the prior
        # that the project-class rivals' name evidence is measured against.
        labels = [counts for m in self.models for counts in m.names.values()]
        annotated = sum(sum(counts.values()) for counts in labels)
        other = sum(counts.get(OTHER_LABEL, 0.0) for counts in labels)
        self.other_share = other / annotated if annotated else 0.0
        self.awaitable = frozenset(n for n, c in self.classes.items() if "__await__" in c.info.members)
        # The top-level packages that export each class, under any of its names.
        roots: defaultdict[str, set[str]] = defaultdict(set)
        for m in self.models:
            for alias, target in m.api.aliases.items():
                roots[target].add(alias.split(".")[0])
        self.roots = {n: frozenset({n.split(".")[0], c.info.defined_in.split(".")[0], *roots[n]})
                      for n, c in self.classes.items()}
        self.library_roots = frozenset().union(*self.roots.values())
        # The sub-packages each class is defined in, below its library's top and above its module.
        self.places = {n: frozenset(c.info.defined_in.split(".")[1:-2])
                       for n, c in self.classes.items()}
        self.subclasses: dict[str, set[str]] = defaultdict(set)
        for name, c in self.classes.items():
            for base in c.info.bases:
                self.subclasses[base].add(name)
        # A library class that subclasses a builtin (`immutabledict(dict)`) gives way to the builtin
        # where the usage fits the builtin: nothing in it speaks for the library's class.
        # (Not an exception: a handler's `exc` is the library's exception where its uses say so.)
        builtin_names = {b.info.name for b in self.builtins} - {"builtins.Exception"}
        self.builtin_base = {n: base for n, c in self.classes.items()
                             for base in c.info.bases if base in builtin_names}
        self.by_member: dict[str, set[str]] = defaultdict(set)
        for name, c in self.classes.items():
            for member in c.info.members:
                self.by_member[member].add(name)
        self.twins, self.asynchronous = _twins(self.classes)
        # A profile that uses no member fits them all (a value only passed on): sorted once.
        self.every_class = tuple(sorted(self.classes))
        # The classes named by each set of words (`FormData`: {form, data}), for a parameter
        # named after its class (`form_data`). By the name a class is defined with: an alias
        # (`oracledb.dialect` for `OracleDialectAsync_oracledb`) names no class for a reader.
        by_words: defaultdict[frozenset[str], set[str]] = defaultdict(set)
        for name, c in self.classes.items():
            by_words[class_words(c.info.defined_in)].add(name)
        self.by_words = {w: frozenset(n) for w, n in by_words.items() if w}
        self._placed: dict[str, dict[str, tuple[str, ...]]] = {}
        self._homed: dict[str, dict[str, tuple[str, ...]]] = {}

    def placed_subclasses(self, place: str) -> Mapping[str, tuple[str, ...]]:
        """Each class not defined in the sub-package `place` with its subclasses that are (only
        classes that have some), worked out once per place: every profile of a module asks."""
        found = self._placed.get(place)
        if found is None:
            found = self._placed[place] = {
                name: subs for name in self.classes if place not in self.places[name]
                if (subs := tuple(s for s in sorted(self.subclasses.get(name, ()))
                                  if place in self.places[s]))}
        return found

    def homed_relatives(self, library: str) -> Mapping[str, tuple[str, ...]]:
        """Each class defined outside `library` with its bases and subclasses defined in it (only
        classes that have some; the library that defines a class, not one that re-exports it),
        worked out once per library: every profile of a module named for it asks."""
        found = self._homed.get(library)
        if found is None:
            classes = self.classes

            def home(name: str) -> str:
                return classes[name].info.defined_in.split(".")[0]

            found = self._homed[library] = {
                name: related for name, c in classes.items() if home(name) != library
                if (related := tuple(r for r in {*c.info.bases, *self.subclasses.get(name, ())}
                                     if r in classes and home(r) == library))}
        return found

    def canonical(self, dotted: str) -> str | None:
        for m in self.models:
            name = m.api.canonical(dotted)
            if name is not None:
                return name
        return None

    def known(self, annotation: str) -> str | None:
        """A builtin as it is, a library class by its public name; None for anything else."""
        if annotation.startswith("builtins."):
            return annotation
        name = self.canonical(annotation)
        return name if name in self.classes else None

    def candidates(self, profile: UsageProfile) -> Sequence[str]:
        """The library classes that have every member the profile uses, sorted."""
        names: set[str] | None = None
        for member in profile.members:
            holders = self.by_member.get(member, set())
            names = set(holders) if names is None else names & holders
            if not names:
                return ()
        return self.every_class if names is None else sorted(names)

    def name_counts(self, name: str) -> dict[str, float]:
        """How often the packs saw a parameter of this name annotated with each label."""
        counts: defaultdict[str, float] = defaultdict(float)
        for m in self.models:
            for label, count in m.names.get(name, {}).items():
                counts[label] += count
        return counts


def _twins(classes: Mapping[str, ClassModel]) -> tuple[dict[str, str], frozenset[str]]:
    """Each class with its asyncio twin, both ways (`redis.client.Pipeline` and
    `redis.asyncio.client.Pipeline`), and the twins that are the asyncio ones. A twin is the
    class of the same name that the library defines (or exports) at the same place outside its
    asyncio sub-package: the two share every command, so only the code around them tells them
    apart."""
    def outside(dotted: str) -> str:
        return ".".join(p for p in dotted.split(".") if p not in ASYNC_PACKAGES)

    def is_async(dotted: str) -> bool:
        return bool(ASYNC_PACKAGES & set(dotted.split(".")[1:-1]))

    sync = {}
    for name, c in classes.items():
        if not is_async(c.info.defined_in):
            sync[c.info.defined_in] = name
            sync.setdefault(name, name)
    twins: dict[str, str] = {}
    for name, c in classes.items():
        if not is_async(c.info.defined_in):
            continue
        twin = sync.get(outside(c.info.defined_in)) or sync.get(outside(name))
        if twin is not None and twin not in twins:
            twins[name], twins[twin] = twin, name
    return twins, frozenset(n for n in twins if is_async(classes[n].info.defined_in))
