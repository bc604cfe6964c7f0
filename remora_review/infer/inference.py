"""Type inference for unannotated parameters: usage profiles scored against the packs' API tables,
mined usages, name statistics and data flow, combined into one calibrated posterior."""

from __future__ import annotations

import builtins
import inspect
import math
import re
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from remora_review.api_table import PROTOCOL_DUNDERS, ApiTable, ClassInfo, Member, Param
from remora_review.infer.profile import UsageProfile

if TYPE_CHECKING:
    from remora_review.checks.base import Retrieval
    from remora_review.infer.declared import Hint
    from remora_review.packs.loader import LoadedPack

SIGNALS = frozenset({"structure", "embedding", "name", "flow"})

# Builtin types compete with the library's classes, so `d.get(k)` on a dict is not forced onto a
# library class that happens to have `get`. They are never proposed. Weights: rough shares of
# unannotated parameters in real code.
_BUILTIN_SHARES = {"str": 0.3, "dict": 0.2, "list": 0.2, "int": 0.1, "bytes": 0.05, "set": 0.05,
                   "tuple": 0.05, "float": 0.05}
_BUILTIN_MASS = 0.5  # pseudo-usages of builtins, as a fraction of the packs' mined usages
_SMOOTH = 0.5  # pseudo-count per member in the naive-Bayes member likelihoods
_NAME_SMOOTH = 2.0  # pseudo-count pulling a name's type distribution towards the prior
_EMB_TEMPERATURE = 0.05
_VOTE_FLOOR = 0.02  # a class no neighbour votes for keeps this much of an embedding vote
# The share of the posterior a declared type takes for the class it names, the model keeping the
# rest: about the rate at which that kind, standing alone, names exactly the parameter's class on
# the dev set (bench/devset, both modes): same-named methods of other project classes ("sibling")
# 96-97%, the project's habit for the parameter's name ("name") 98%, callers 91-93%, overriding
# methods 90%, returns 88%. A flow into an annotated parameter names a bound, not the class
# (`DDLCompiler` for an `MSDDLCompiler`): 84-86% exact, and its misses repeat across a project's
# functions, so it is given less.
_HINT_WEIGHTS = {"flow": 0.5, "library_flow": 0.6, "override": 0.9, "overridden": 0.9,
                 "sibling": 0.95, "caller": 0.9, "return": 0.85, "name": 0.92}
# The project's own classes compete too, never proposed: a usage that fits the project's
# `FilterContext` as well as a library class is not sure to be the library's. They share this much
# prior mass (as a fraction of the packs' mined usages: on the dev set, parameters typed with
# other classes are about as many as the library-typed ones); each member a usage touches counts
# with this likelihood, and a parameter named for the class gives this log-odds (`op_container`
# for `OpContainer`, `field` for `BaseField`).
_PROJECT_MASS = 0.5
_PROJECT_MEMBER = 0.25
_PROJECT_NAME = 3.0
_PROJECT = "project:"  # key prefix of the project's classes in a posterior
_OTHER = "<other>"  # names.json: annotations that are neither a library class nor a builtin
_JOINED_KINDS = ("caller", "overridden")  # several declarations of one kind are joined
# A library's parameter is typed as broadly as the library accepts (`execute(statement:
# Executable)`): what users pass is as often a subclass (a `Select`), so its share is spread over
# the class and its subclasses as the usage and the priors weigh them.
_BOUND_KINDS = frozenset({"library_flow"})
_CLOSED_WORLD_FLOOR = 1e-6
# A class of a library the module does not import, where it imports another of the packs' libraries,
# keeps this much of its likelihood: a module that imports only starlette takes a `Starlette`, not
# the `FastAPI` subclass that fits the same usage and that the name statistics favour.
_UNIMPORTED = 0.02
# A module named for one of a library's sub-packages (`ddl/mssql.py`, `sqlalchemy.dialects.mssql`)
# works with that sub-package's classes: where the usage fits a class and exactly one subclass of
# it from there (`DDLCompiler`, `MSDDLCompiler`), the subclass takes this share of its mass. On the
# dev set the refinement names the annotated class every time it applies; it is kept below the
# sure hints all the same, as one project (alembic's dialect modules) is all that measures it.
_PLACE_SHARE = 0.9


@dataclass(frozen=True)
class Candidate:
    annotation: str  # public dotted name, e.g. sqlalchemy.orm.Session
    score: float  # posterior probability


@dataclass(frozen=True)
class Prediction:
    function: str
    parameter: str
    line: int
    candidates: tuple[Candidate, ...]  # best first
    confidence: float  # posterior of the best candidate
    pack: str | None = None


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
    return 1.0 + 3.0 / depth if depth else 1.0


_PARAM_KINDS = {
    inspect.Parameter.POSITIONAL_ONLY: "positional_only",
    inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional_or_keyword",
    inspect.Parameter.VAR_POSITIONAL: "var_positional",
    inspect.Parameter.KEYWORD_ONLY: "keyword_only",
    inspect.Parameter.VAR_KEYWORD: "var_keyword",
}


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
    for name, share in _BUILTIN_SHARES.items():
        typ = getattr(builtins, name)
        members = {m: _builtin_member(typ, m) for m in dir(typ)
                   if not m.startswith("_") or m in _DUNDERS}
        info = ClassInfo(name=f"builtins.{name}", defined_in=f"builtins.{name}", bases=(),
                         members=members)
        out.append(ClassModel(info, None, max(1.0, total_usages * _BUILTIN_MASS * share), {}))
    return out


_DUNDERS = {d for ds in PROTOCOL_DUNDERS.values() for d in ds}


def _compatible(model: ClassModel, profile: UsageProfile,
                awaitable: frozenset[str] = frozenset()) -> float:
    """0 when the class cannot be the parameter's type, else a factor for soft mismatches.

    `awaitable`: classes with `__await__`; a method returning one (starlette's `request.form()`)
    may be awaited like an `async def`.
    """
    members = model.info.members
    factor = 1.0
    for call in profile.calls:
        member = members.get(call.name)
        if member is None:
            return 0.0
        if not member.accepts(call.n_args, call.keywords):
            return 0.0
        if member.kind == "method":
            if call.awaited and not member.is_async and member.returns not in awaitable:
                return 0.0
            if not call.awaited and member.is_async:
                factor *= 0.05  # a coroutine left un-awaited is rare; the sync twin is likelier
    for attr in profile.attributes:
        if attr not in members:
            return 0.0
    for attr in profile.assigned:
        if attr not in members:
            factor *= 0.2  # many classes accept new attributes; a known one is better evidence
    for protocol in profile.protocols:
        if protocol == "await" and model.pack is not None:
            if not model.info.has_protocol("await"):
                return 0.0
        elif not model.info.has_protocol(protocol):
            return 0.0
    return factor


# Dunders every instance of a Python class has, which API tables do not list.
_INSTANCE_DUNDERS = frozenset({"__class__", "__dict__", "__module__", "__doc__"})


def _recorded(profile: UsageProfile) -> UsageProfile:
    """The profile without the members an API table does not record, so they neither rule a class
    out nor count for it: private names read or called (`table._prefixes`, common in code built on
    a library's internals) and the dunders every instance has. A profile left with no member keeps
    them all: nothing the table lists would then speak for any class. Private attributes written
    stay: a value that takes them is likelier the project's own. Builtins are checked against the
    whole profile: their members are known completely."""
    def kept(name: str) -> bool:
        return not (name.startswith("_") and not name.startswith("__")) and name not in _INSTANCE_DUNDERS

    read = frozenset(filter(kept, profile.attributes))
    calls = tuple(c for c in profile.calls if kept(c.name))
    if not (read or calls or profile.assigned):
        return profile
    return replace(profile, attributes=read, calls=calls)


def _structure_loglik(model: ClassModel, profile: UsageProfile, total: float) -> float:
    """log P(C) + sum over used members of log P(member | C), naive Bayes with smoothing."""
    n_members = max(1, len(model.info.members))
    score = math.log((model.usages + _SMOOTH) / (total + _SMOOTH))
    for member in profile.members:
        count = model.member_counts.get(member, 0.0)
        score += math.log((count + _SMOOTH) / (model.usages + _SMOOTH * n_members))
    return score


_GENERIC_WORDS = frozenset({"base", "abstract", "abc", "mixin", "impl", "protocol", "generic"})


def _class_words(dotted: str) -> frozenset[str]:
    """`pkg.ops.ModifyTableOps` -> {"modify", "table", "ops"}; `BaseField` -> {"field"}."""
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", dotted.rsplit(".", 1)[-1])
    return frozenset(w.lower() for w in words) - _GENERIC_WORDS


def _softmax(scores: Mapping[str, float]) -> dict[str, float]:
    if not scores:
        return {}
    top = max(scores.values())
    exp = {k: math.exp(v - top) for k, v in scores.items()}
    total = sum(exp.values())
    return {k: v / total for k, v in exp.items()}


class TypeInferer:
    """Ranks candidate classes for usage profiles; one instance serves a whole run."""

    def __init__(
        self,
        models: Sequence[PackModel],
        retrieval: Retrieval | None,
        packs: Sequence[LoadedPack] = (),
        signals: frozenset[str] = SIGNALS,
        top_k: int = 20,
    ) -> None:
        self.models = list(models)
        self.retrieval = retrieval
        self.packs = list(packs)
        self.signals = signals if retrieval is not None else signals - {"embedding"}
        self.top_k = top_k
        self.classes: dict[str, ClassModel] = {}
        for m in self.models:
            self.classes.update(m.classes)
        self.total = sum(c.usages for c in self.classes.values()) + 1.0
        self.builtins = _builtin_models(self.total)
        self.total_with_builtins = self.total + sum(b.usages for b in self.builtins)
        # Prior pseudo-counts of every candidate, builtins included, for the name signal.
        self.prior_counts: dict[str, float] = {
            n: c.usages + _SMOOTH for n, c in [*self.classes.items(),
                                               *((b.info.name, b) for b in self.builtins)]
        }
        # How often a parameter name is annotated with some other class, overall: the prior
        # that the project-class rivals' name evidence is measured against.
        labels = [counts for m in self.models for counts in m.names.values()]
        annotated = sum(sum(counts.values()) for counts in labels)
        other = sum(counts.get(_OTHER, 0.0) for counts in labels)
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
        builtin_names = {b.info.name for b in self.builtins}
        self.builtin_base = {n: base for n, c in self.classes.items()
                             for base in c.info.bases if base in builtin_names}
        self.by_member: dict[str, set[str]] = defaultdict(set)
        for name, c in self.classes.items():
            for member in c.info.members:
                self.by_member[member].add(name)

    def canonical(self, dotted: str) -> str | None:
        for m in self.models:
            name = m.api.canonical(dotted)
            if name is not None:
                return name
        return None

    def _candidates(self, profile: UsageProfile) -> list[str]:
        names: set[str] | None = None
        for member in profile.members:
            holders = self.by_member.get(member, set())
            names = set(holders) if names is None else names & holders
            if not names:
                return []
        return sorted(names if names is not None else self.classes)

    def _name_counts(self, name: str) -> dict[str, float]:
        """How often the packs saw a parameter of this name annotated with each label."""
        counts: defaultdict[str, float] = defaultdict(float)
        for m in self.models:
            for label, count in m.names.get(name, {}).items():
                counts[label] += count
        return counts

    def _name_logodds(self, name: str, candidates: Sequence[str]) -> dict[str, float]:
        counts = self._name_counts(name)
        seen = sum(counts.values())
        if not seen:
            return {}
        # Annotations outside the candidates (str, Path, Any...) stay in `seen`: a name that is
        # usually something else lowers every library class's odds.
        total = self.total_with_builtins
        out = {}
        for c in [*candidates, *(b.info.name for b in self.builtins)]:
            prior = self.prior_counts[c] / total
            posterior = (counts.get(c, 0.0) + _NAME_SMOOTH * prior) / (seen + _NAME_SMOOTH)
            out[c] = math.log(posterior / prior)
        return out

    def predict(
        self,
        profiles: Sequence[UsageProfile],
        declared: Sequence[Sequence[Hint]] | None = None,
        project: Mapping[str, tuple[frozenset[str], tuple[str, ...]]] | None = None,
        imported: frozenset[str] = frozenset(),
        module: str = "",
    ) -> list[tuple[Candidate, ...]]:
        """Ranked candidates (posteriors, best first) for each profile; empty when nothing fits.

        `declared[i]` are the types that declarations around profile i give it (declared.py).
        `project` holds the project's classes (ProjectIndex.classes): rivals, never proposed.
        `imported`: the modules the profiles' module imports (activation.imported_modules);
        `module`: its dotted name.
        """
        neighbours = self._embedding_votes(profiles) if "embedding" in self.signals else None
        own = self._own(project or {})
        rivals = {n: m for n, m in own.items() if m} if "structure" in self.signals else {}
        context = frozenset(m.split(".")[0] for m in imported) & self.library_roots
        place = module.rsplit(".", 1)[-1]
        out = []
        for i, profile in enumerate(profiles):
            scores = self._score(profile, neighbours[i] if neighbours else None, context)
            scores.update(self._rival_scores(profile, rivals))
            posterior = _softmax(scores)
            if declared is not None and "flow" in self.signals and "structure" in self.signals:
                # the project's naming habit is a name signal, not a declaration
                posterior = self._with_hints(posterior, [
                    h for h in declared[i] if h.kind != "name" or "name" in self.signals], own)
            if "structure" in self.signals:
                posterior = self._placed(posterior, place)
            ranked = sorted(
                (Candidate(k, v) for k, v in posterior.items()
                 if not k.startswith(("builtins.", _PROJECT))),
                key=lambda c: (-c.score, c.annotation),
            )
            out.append(tuple(ranked[:10]))
        return out

    def _own(self, project: Mapping[str, tuple[frozenset[str], tuple[str, ...]]]
             ) -> dict[str, frozenset[str]]:
        """The project's classes that are neither a library's (where the project is the library,
        they are candidates already) nor subclass one, with every member they have: rivals for
        the usages they fit, and a declaration naming one is evidence against every library class.
        A subclass of a library class is no rival to it (`RoutingSyncSession(Session)`):
        annotating its instances with the library class is right, and it would take the mass of
        every usage the base fits."""
        return {name: frozenset(members) for name, (members, outside) in project.items()
                if self._known(name) is None
                and not any(self._known(base) in self.classes for base in outside)}

    def _other_logodds(self, name: str) -> float:
        """How much more (or less) often than usual this name is annotated with some other class."""
        counts = self._name_counts(name)
        seen = sum(counts.values())
        if not seen or not 0.0 < self.other_share < 1.0:
            return 0.0
        posterior = (counts.get(_OTHER, 0.0) + _NAME_SMOOTH * self.other_share) / (seen + _NAME_SMOOTH)
        return math.log(posterior / self.other_share)

    def _rival_scores(self, profile: UsageProfile,
                      rivals: Mapping[str, frozenset[str]]) -> dict[str, float]:
        used = profile.members
        if not rivals or not used:
            # Without members to compare there is no evidence for or against a project class;
            # the name statistics already weigh how often a name is something else.
            return {}
        prior = math.log(self.total * _PROJECT_MASS / len(rivals) / self.total_with_builtins)
        if "name" in self.signals:
            prior += self._other_logodds(profile.name)
        dunders = [PROTOCOL_DUNDERS.get(p, (p,)) for p in profile.protocols if p != "await"]
        words = frozenset(w for w in profile.name.lower().split("_") if w)
        out = {}
        for name, members in rivals.items():
            if not used <= members or not all(any(d in members for d in ds) for ds in dunders):
                continue
            score = prior + len(used) * math.log(_PROJECT_MEMBER)
            if "name" in self.signals and words == _class_words(name):
                score += _PROJECT_NAME
            out[_PROJECT + name] = score
        return out

    def _known(self, annotation: str) -> str | None:
        if annotation.startswith("builtins."):
            return annotation
        name = self.canonical(annotation)
        return name if name in self.classes else None

    def _with_hints(self, posterior: Mapping[str, float], hints: Sequence[Hint],
                    own: Collection[str] = ()) -> dict[str, float]:
        """Mix declared types into the posterior.

        A hint takes its kind's share of the mass for the class it names, or, when the usage rules
        that class out, for its subclasses that fit (a declaration is an upper bound). Hints that
        fit nothing are ignored: the usage outweighs a declaration that contradicts it. A hint
        naming one of the project's `own` classes takes its share for that class, never proposed
        (`field: BaseField` on every sibling method is no fastapi `ModelField`).
        """
        shares: dict[tuple[str, bool], float] = {}
        named = [*self._joined(hints), *((h.kind, _PROJECT + h.annotation) for h in hints
                                         if h.annotation in own)]
        for kind, name in named:
            key = (name, kind in _BOUND_KINDS)
            shares[key] = 1.0 - (1.0 - shares.get(key, 0.0)) * (1.0 - _HINT_WEIGHTS[kind])
        spreads = [(share, spread) for (name, bound), share in shares.items()
                   if (spread := self._hinted(name, posterior, bound))]
        if not spreads:
            return dict(posterior)
        kept = math.prod(1.0 - share for share, _ in spreads)
        total = sum(share for share, _ in spreads)
        out = {k: v * kept for k, v in posterior.items()}
        for share, spread in spreads:
            for name, p in spread.items():
                out[name] = out.get(name, 0.0) + (1.0 - kept) * share / total * p
        return out

    def _placed(self, posterior: Mapping[str, float], place: str) -> dict[str, float]:
        """Mass moved from each class to its one subclass that fits and is defined in the
        sub-package the module is named for (`_PLACE_SHARE`)."""
        out = dict(posterior)
        if not place or place in self.library_roots:
            return out
        for name, p in posterior.items():
            if p <= 0.0 or name not in self.classes or place in self.places[name]:
                continue
            local = [s for s in self.subclasses.get(name, ())
                     if place in self.places[s] and posterior.get(s, 0.0) > 0.0]
            if len(local) == 1:
                out[name] -= _PLACE_SHARE * p
                out[local[0]] += _PLACE_SHARE * p
        return out

    def _joined(self, hints: Sequence[Hint]) -> list[tuple[str, str]]:
        """(kind, class) of the known hints. Where callers pass several classes, or overriding
        methods declare several, they are joined into their nearest common base, as a type checker
        joins them (MSDDLCompiler, PGDDLCompiler: DDLCompiler)."""
        known = [(h.kind, name) for h in hints if (name := self._known(h.annotation)) is not None]
        for kind in _JOINED_KINDS:
            named = {name for k, name in known if k == kind and name in self.classes}
            if len(named) < 2:
                continue
            common = set.intersection(*({n, *self.classes[n].info.bases} for n in named))
            joined = max((c for c in common if c in self.classes),
                         key=lambda c: len(self.classes[c].info.bases), default=None)
            known = [(k, name) for k, name in known if k != kind]
            if joined is not None:
                known.append((kind, joined))
        return known

    def _hinted(self, name: str, posterior: Mapping[str, float], bound: bool = False
                ) -> dict[str, float]:
        """Where a declaration's share goes: to the class it names, or, when the usage rules that
        out or the declaration is only an upper `bound`, over it and its subclasses that fit, as
        the posterior weighs them."""
        if name.startswith(_PROJECT) or (name in posterior and not bound):
            return {name: 1.0}
        cone = {c: p for c, p in posterior.items()
                if c == name or (c in self.classes and name in self.classes[c].info.bases)}
        total = sum(cone.values())
        return {c: p / total for c, p in cone.items()} if total > 0 else {}

    def _score(self, profile: UsageProfile, votes: Mapping[str, float] | None,
               context: frozenset[str] = frozenset()) -> dict[str, float]:
        """Log scores of the candidates that fit; `context`: the packs' libraries the module
        imports (a class of another one is less likely)."""
        use_structure = "structure" in self.signals
        if not use_structure:
            # Embedding-only: the neighbours' labels, unverified.
            return {k: math.log(v) for k, v in (votes or {}).items() if v > 0}
        recorded = _recorded(profile)
        candidates = self._candidates(recorded)
        names = self._name_logodds(profile.name, candidates) if "name" in self.signals else {}
        scores: dict[str, float] = {}
        # Builtins are checked against the whole profile: their members are known completely.
        fits = {b.info.name: _compatible(b, profile, self.awaitable) for b in self.builtins}
        models = [(c, self.classes[c]) for c in candidates
                  if fits.get(self.builtin_base.get(c, ""), 0.0) <= 0.0]
        models += [(b.info.name, b) for b in self.builtins]
        total = self.total_with_builtins
        for name, model in models:
            seen = recorded if model.pack is not None else profile
            factor = fits[name] if model.pack is None else _compatible(model, seen, self.awaitable)
            if factor <= 0.0:
                continue
            score = _structure_loglik(model, seen, total) + math.log(factor)
            score += names.get(name, 0.0)
            if votes is not None and model.pack is not None:
                score += math.log(votes.get(name, 0.0) + _VOTE_FLOOR)
            if context and model.pack is not None and not self.roots[name] & context:
                score += math.log(_UNIMPORTED)
            scores[name] = score
        return scores

    def _embedding_votes(self, profiles: Sequence[UsageProfile]) -> list[dict[str, float]]:
        assert self.retrieval is not None
        votes: list[dict[str, float]] = [defaultdict(float) for _ in profiles]
        texts = [p.text() for p in profiles]
        if not texts:
            return []
        index = self.retrieval.index()
        for pack in self.packs:
            vectors = self.retrieval.embedder_for(pack).embed(texts, "query")
            hits = index.search(vectors, self.top_k, packs=[pack.name], kinds=["usage"])
            for i, row in enumerate(hits):
                for hit in row:
                    if hit.document.label:
                        label = self.canonical(hit.document.label) or hit.document.label
                        votes[i][label] += math.exp((hit.score - 1.0) / _EMB_TEMPERATURE)
        out = []
        for v in votes:
            total = sum(v.values())
            out.append({k: x / total for k, x in v.items()} if total else {})
        return out


def build_inferer(
    packs: Sequence[LoadedPack],
    retrieval: Retrieval | None,
    signals: frozenset[str] = SIGNALS,
    top_k: int = 20,
    models: dict[str, PackModel] | None = None,
) -> TypeInferer:
    """An inferer over these packs; `models` caches the per-pack statistics between inferers."""
    cache = models if models is not None else {}
    for p in packs:
        if p.name not in cache:
            cache[p.name] = PackModel.from_pack(p)
    return TypeInferer([cache[p.name] for p in packs], retrieval, packs, signals, top_k)


class InfererCache:
    """One inferer per set of active packs: a file only gets classes of the packs it activates."""

    def __init__(self, retrieval: Retrieval | None, signals: frozenset[str] = SIGNALS,
                 top_k: int = 20) -> None:
        self.retrieval = retrieval
        self.signals = signals
        self.top_k = top_k
        self._models: dict[str, PackModel] = {}
        self._inferers: dict[tuple[str, ...], TypeInferer] = {}

    def for_packs(self, packs: Sequence[LoadedPack]) -> TypeInferer:
        key = tuple(sorted(p.name for p in packs))
        if key not in self._inferers:
            self._inferers[key] = build_inferer(packs, self.retrieval, self.signals, self.top_k,
                                                self._models)
        return self._inferers[key]
