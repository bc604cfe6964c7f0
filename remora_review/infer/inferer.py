"""Type inference for unannotated parameters: usage profiles scored against the packs' API tables,
mined usages, name statistics and data flow, combined into one calibrated posterior."""

from __future__ import annotations

import functools
import heapq
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from remora_review.infer.classes import Catalogue, ClassModel, PackModel
from remora_review.infer.evidence import EvidenceKind, Hint
from remora_review.infer.posterior import coloured, named_for, placed, softmax, with_hints
from remora_review.infer.profile import UsageProfile
from remora_review.infer.scoring import PROJECT, Rivals, library_scores, rival_scores, rivals_of
from remora_review.infer.signals import ALL, Signals
from remora_review.infer.weights import EMB_TEMPERATURE, PROJECT_USES

if TYPE_CHECKING:
    from remora_review.checks.base import Retrieval
    from remora_review.packs.loader import LoadedPack
    from remora_review.project.index import ProjectUsages


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


_NO_RIVALS = rivals_of({})
_OWN_KEPT = 4  # project mappings whose rivals a catalogue keeps: a server's few repositories


class TypeInferer:
    """Ranks candidate classes for usage profiles; one instance serves a whole run."""

    def __init__(
        self,
        models: Sequence[PackModel],
        retrieval: Retrieval | None,
        packs: Sequence[LoadedPack] = (),
        signals: Signals = ALL,
        top_k: int = 20,
        catalogue: Catalogue | None = None,  # Catalogue(models), when the caller has kept one
    ) -> None:
        self.catalogue = catalogue if catalogue is not None else Catalogue(models)
        self.retrieval = retrieval
        self.packs = list(packs)
        self.signals = signals if retrieval is not None else replace(signals, embedding=False)
        self.top_k = top_k

    @property
    def models(self) -> list[PackModel]:
        return self.catalogue.models

    @property
    def classes(self) -> dict[str, ClassModel]:
        return self.catalogue.classes

    def canonical(self, dotted: str) -> str | None:
        return self.catalogue.canonical(dotted)

    def predict(
        self,
        profiles: Sequence[UsageProfile],
        declared: Sequence[Sequence[Hint]] | None = None,
        project: Mapping[str, tuple[frozenset[str], tuple[str, ...]]] | None = None,
        imported: frozenset[str] = frozenset(),
        module: str = "",
        usages: ProjectUsages | None = None,
    ) -> list[tuple[Candidate, ...]]:
        """Ranked candidates (posteriors, best first) for each profile; empty when nothing fits.

        `declared[i]` are the types that declarations around profile i give it (declared.py).
        `project` holds the project's classes (ProjectIndex.classes): rivals, never proposed.
        `imported`: the modules the profiles' module imports (pysource.imports.imported_modules);
        `module`: its dotted name. `usages` (ProjectIndex.usages): how the project's annotated
        parameters use the classes they declare, counted with the pack's mined usages.
        """
        signals = self.signals
        catalogue = self.catalogue
        neighbours = self._embedding_votes(profiles) if signals.embedding else None
        own, rivals = self._own(project or {})
        used = self._used(usages or {})
        rivals = rivals if signals.structure else _NO_RIVALS
        context = frozenset(m.split(".")[0] for m in imported) & catalogue.library_roots
        place = module.rsplit(".", 1)[-1]
        out = []
        for i, profile in enumerate(profiles):
            votes = neighbours[i] if neighbours else None
            if signals.structure:
                scores = library_scores(catalogue, profile, votes, context, signals.name, used)
            else:  # embedding only: the neighbours' labels, unverified
                scores = {k: math.log(v) for k, v in (votes or {}).items() if v > 0}
            scores.update(rival_scores(catalogue, profile, rivals, signals.name))
            posterior = softmax(scores)
            if declared is not None and signals.flow and signals.structure:
                # the project's naming habit is a name signal, not a declaration
                posterior = with_hints(catalogue, posterior, [
                    h for h in declared[i] if h.kind is not EvidenceKind.NAME or signals.name], own)
            if signals.structure:
                posterior = placed(catalogue, posterior, place)
                posterior = named_for(catalogue, posterior, module)
                posterior = coloured(catalogue, posterior, profile.is_async_function)
            # The ten best of every class the posterior covers (hundreds): the same as sorting
            # them all and taking ten, without a Candidate for each.
            ranked = heapq.nsmallest(
                10, ((k, v) for k, v in posterior.items()
                     if not k.startswith(("builtins.", PROJECT))),
                key=lambda kv: (-kv[1], kv[0]),
            )
            out.append(tuple(Candidate(k, v) for k, v in ranked))
        return out

    def _used(self, usages: ProjectUsages) -> Mapping[str, ClassModel]:
        """What the project's own annotated parameters say between a library class and its
        subclass, where usage alone cannot: the subclass has every member of the base (rq
        passes `pipeline: Pipeline` around and calls `hset` on it; `Redis` has `hset` too, and
        the pack, mined from the library's tests, saw it on `Redis` ten times as often). For
        each group of classes the project annotates parameters with that are bases and
        subclasses of one another, the group's prior mass stays what the pack mined, and is
        shared out as a mixture of the pack's shares and the project's, the project's weight
        w = n / (n + PROJECT_USES) for n such parameters; their members' likelihoods mix alike.
        Every other class is left as the pack has it: a class the project uses alone, or does
        not use, is no evidence about a parameter of this module (measured: weighing every
        class by the project's habits lost sure answers in the one-file mode). The project's
        code as written, never its predictions, and never written into a pack. Kept for the
        last few mappings by identity, as `_own` keeps rivals."""
        if not usages:
            return {}
        kept = self.catalogue.used_kept
        for i, (seen, found) in enumerate(kept):
            if seen is usages:
                kept.append(kept.pop(i))
                return found
        classes = self.catalogue.classes
        used: dict[str, list[tuple[int, Mapping[str, int]]]] = {}
        for annotation, (count, members) in usages.items():
            name = self.catalogue.known(annotation)
            if name is not None and name in classes:
                used.setdefault(name, []).append((count, members))
        models: dict[str, ClassModel] = {}
        for group in _lineages(used, classes):
            n = sum(c for name in group for c, _ in used[name])
            mass = sum(classes[name].usages for name in group)
            share = n / (n + PROJECT_USES)
            weight = share * mass / n  # what one of the project's uses weighs
            for name in group:
                model = classes[name]
                counts = {m: c * (1.0 - share) for m, c in model.member_counts.items()}
                for _, members in used[name]:
                    for member, k in members.items():
                        counts[member] = counts.get(member, 0.0) + k * weight
                total = model.usages * (1.0 - share) + weight * sum(c for c, _ in used[name])
                models[name] = replace(model, usages=total, member_counts=counts)
        kept.append((usages, models))
        del kept[:-_OWN_KEPT]
        return models

    def _own(self, project: Mapping[str, tuple[frozenset[str], tuple[str, ...]]]
             ) -> tuple[dict[str, frozenset[str]], Rivals]:
        """The project's classes that are neither a library's (where the project is the library,
        they are candidates already) nor subclass one, with every member they have: rivals for
        the usages they fit (those with members), and a declaration naming one is evidence
        against every library class. A subclass of a library class is no rival to it
        (`RoutingSyncSession(Session)`): annotating its instances with the library class is
        right, and it would take the mass of every usage the base fits.

        Kept with the catalogue for the last few `project`s by identity (ProjectIndex.classes gives
        the same object for one index): in a repository of 5,000 files it is tens of thousands
        of classes, and every module of a run, and every review of the warm server, asks."""
        kept = self.catalogue.own_kept
        for i, (seen, own, rivals) in enumerate(kept):
            if seen is project:
                kept.append(kept.pop(i))
                return own, rivals
        known = self.catalogue.known
        own = {name: frozenset(members) for name, (members, outside) in project.items()
               if known(name) is None
               and not any(known(base) in self.catalogue.classes for base in outside)}
        rivals = rivals_of({n: m for n, m in own.items() if m})
        kept.append((project, own, rivals))
        del kept[:-_OWN_KEPT]
        return own, rivals

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
                        votes[i][label] += math.exp((hit.score - 1.0) / EMB_TEMPERATURE)
        out = []
        for v in votes:
            total = sum(v.values())
            out.append({k: x / total for k, x in v.items()} if total else {})
        return out


def _lineages(used: Mapping[str, object], classes: Mapping[str, ClassModel]) -> list[list[str]]:
    """The groups of `used` classes joined by being bases and subclasses of one another, those
    of two classes or more."""
    group = {name: name for name in used}

    def root(name: str) -> str:
        while group[name] != name:
            name = group[name]
        return name

    for name in used:
        for base in classes[name].info.bases:
            if base in group:
                group[root(name)] = root(base)
    found: dict[str, list[str]] = {}
    for name in sorted(used):
        found.setdefault(root(name), []).append(name)
    return [g for g in found.values() if len(g) > 1]


def build_inferer(
    packs: Sequence[LoadedPack],
    retrieval: Retrieval | None,
    signals: Signals = ALL,
    top_k: int = 20,
    models: dict[str, PackModel] | None = None,
) -> TypeInferer:
    """An inferer over these packs; `models` caches the per-pack statistics between inferers."""
    cache = models if models is not None else {}
    for p in packs:
        if p.name not in cache:  # kept with the pack: the warm server builds it once per version
            cache[p.name] = p.derived("infer.PackModel", functools.partial(PackModel.from_pack, p))
    chosen = [cache[p.name] for p in packs]
    return TypeInferer(chosen, retrieval, packs, signals, top_k, _catalogue(packs, chosen))


def _catalogue(packs: Sequence[LoadedPack], models: Sequence[PackModel]) -> Catalogue:
    """Catalogue(models), kept with the first pack for the same pack objects and models (the
    warm server keeps packs across runs)."""
    if not packs:
        return Catalogue(models)
    kept: dict[tuple[str, ...], tuple[tuple[object, ...], Catalogue]] = packs[0].derived(
        "infer.catalogues", dict)
    key = tuple(p.name for p in packs)
    identity = (*packs, *models)
    found = kept.get(key)
    if found is None or len(found[0]) != len(identity) or any(
            a is not b for a, b in zip(found[0], identity)):
        found = kept[key] = (identity, Catalogue(models))
    return found[1]


class InfererCache:
    """One inferer per set of active packs: a file only gets classes of the packs it activates."""

    def __init__(self, retrieval: Retrieval | None, signals: Signals = ALL,
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
