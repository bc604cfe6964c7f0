"""Predictions for many modules of one project at once, propagated to a fixed point: a parameter
predicted sure in one module is a declaration (as if annotated) for every other module, so a class
sure at one end of a call, a return or an override travels to the other end, across modules."""

from __future__ import annotations

import ast
import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

import libcst as cst
import libcst.metadata as meta

from remora_review.infer.inferer import Prediction, TypeInferer
from remora_review.infer.links import CONSTRUCTORS, call_targets, callee_path
from remora_review.infer.profile import ParameterSite, ProfileBuilder, UsageProfile
from remora_review.infer.rounds import RankedMemo, predict_sites, wanted
from remora_review.infer.weights import HOPS, LINKED, PROJECT_ROUNDS
from remora_review.project.facts import ModuleFacts, extract_facts
from remora_review.project.index import ProjectIndex
from remora_review.pysource.imports import imported_modules, is_package_file, module_name
from remora_review.pysource.wrapper import wrap

# module -> function qualname -> parameter -> the class predicted sure for it
Assumed = Mapping[str, Mapping[str, Mapping[str, str]]]


@dataclass(frozen=True)
class _Module:
    path: str
    source: str
    module: str
    is_package: bool
    builder: ProfileBuilder
    sites: tuple[ParameterSite, ...]
    inferer: TypeInferer | None  # None: activates no pack, read only for its parameters' uses
    imported: frozenset[str]
    syntax: Callable[[str], ast.Module]  # where its source's `ast` comes from (read only)


def _parse(source: str) -> meta.MetadataWrapper:
    return wrap(cst.parse_module(source), source)


def _parsed(path: str, source: str, inferer: TypeInferer | None,
            parse: Callable[[str], meta.MetadataWrapper],
            profiles: Callable[[meta.MetadataWrapper], ProfileBuilder],
            syntax: Callable[[str], ast.Module]) -> _Module | None:
    try:
        wrapper = parse(source)
    except cst.ParserSyntaxError:
        return None
    builder = profiles(wrapper)
    sites = tuple(s for f in builder.functions() for s in builder.sites(f))
    return _Module(path, source, module_name(path) or "__main__", is_package_file(path), builder,
                   sites, inferer, imported_modules(source), syntax)


def _facts(m: _Module, assumed: Assumed) -> ModuleFacts:
    found = extract_facts(m.module, m.source, m.is_package, assumed.get(m.module, {}), m.syntax)
    return found or ModuleFacts(m.module, {}, {})


@dataclass
class _AssumedFacts:
    """Each module's facts with its sure parameters annotated, extracted again only when a
    round made more of its parameters sure (most rounds add to a few modules: on `check --all`
    re-extracting every module each round was a twentieth of the run)."""

    _last: dict[str, tuple[int, ModuleFacts]] = field(default_factory=dict)

    def of(self, m: _Module, assumed: Assumed) -> ModuleFacts:
        # A parameter once sure keeps its class (propagate), so the count says what changed.
        sure = sum(map(len, assumed.get(m.module, {}).values()))
        last = self._last.get(m.module)
        if last is None or last[0] != sure:
            last = self._last[m.module] = (sure, _facts(m, assumed))
        return last[1]


@dataclass(frozen=True)
class Propagated:
    """The project with the sure predictions of its modules as assumed annotations."""

    project: ProjectIndex  # as written
    assumed: Mapping[str, ModuleFacts]  # module -> its facts with its sure parameters annotated
    predictions: Mapping[str, list[Prediction]]  # path -> the last round's predictions
    # path -> (function qualname, parameter) -> its profile with the uses of the parameters of
    # other modules it is passed on to (only those that took some)
    joined: Mapping[str, Mapping[tuple[str, str], UsageProfile]] = field(default_factory=dict)
    # Each module's last ranking and its inputs, for the check's own prediction after the rounds
    memo: RankedMemo = field(default_factory=RankedMemo)
    # The indexes handed out, by the modules whose assumed facts they hold: every module with none
    # of its own shares one. A new index per module and round placed every typed argument of the
    # project again: 8 % of `check --all` on advanced-alchemy.
    _indexes: dict[frozenset[str], ProjectIndex] = field(default_factory=dict, compare=False,
                                                         repr=False)

    def with_joined_uses(self, path: str, builder: ProfileBuilder,
                         sites: Sequence[ParameterSite]) -> list[ParameterSite]:
        """A module's sites (parsed anew, as a check does) with the uses joined here."""
        joined = self.joined.get(path, {})
        return [replace(s, profile=joined.get(
                    (builder.qualified(s.function.name) or "", s.param.name.value), s.profile))
                for s in sites]

    def index_for(self, module: str) -> ProjectIndex:
        """The index a module is predicted with: the other modules' sure parameters assumed,
        its own as written (its own links are the module's rounds, infer/rounds.py)."""
        others = {m: f for m, f in self.assumed.items() if m != module}
        if not others:
            # The index itself, so what it works out once (the calls' arguments, the classes) is
            # kept across the run's files, and across reviews in the server: on the hook, worked
            # out anew per file, that was a tenth of a warm review.
            return self.project
        found = self._indexes.get(frozenset(others))
        if found is None:
            found = self._indexes[frozenset(others)] = ProjectIndex(
                {**self.project.modules, **others})
            found.adopt(self.project)  # what the assumed annotations leave as it was
        return found


def _with_uses_across(modules: Sequence[_Module], index: ProjectIndex) -> list[tuple[ParameterSite, ...]]:
    """Each module's sites, a parameter passed on to an unannotated parameter of another module
    taking that one's uses (along chains, a few hops), as a module's rounds do for its own
    functions (infer/links.py): `save(x)` that only calls `store(x)` must support what `store`
    does with it."""
    facts = [index.modules.get(m.module) or _facts(m, {}) for m in modules]
    at: dict[tuple[str, str], tuple[int, int]] = {}
    for i, (m, f) in enumerate(zip(modules, facts)):
        for j, site in enumerate(m.sites):
            function = m.builder.qualified(site.function.name) or ""
            signature = f.functions.get(function)
            if signature is None or not wanted(site):
                continue
            for target in call_targets(f, function):
                for slot in signature.slot_of(site.param.name.value):
                    at[(target, slot)] = (i, j)
    edges = []
    for i, (m, f) in enumerate(zip(modules, facts)):
        for j, site in enumerate(m.sites):
            for callee, slot in site.profile.passed_to:
                to = at.get((index.resolve(callee_path(callee, f, m.is_package)), slot))
                if to is not None and to[0] != i:
                    edges.append(((i, j), to))
            # A method and its override in another module take the same values: each takes the
            # other's uses (within a module, infer/links.py does).
            for base in _overridden_across(index, f, m.builder.qualified(site.function.name) or "",
                                           site.param.name.value, at, i):
                edges += [((i, j), base), (base, (i, j))]
    sites = [list(m.sites) for m in modules]
    for _ in range(HOPS):
        grown = False
        for (i, j), (k, n) in edges:
            joined = sites[i][j].profile.with_uses_of(sites[k][n].profile)
            if joined != sites[i][j].profile:
                sites[i][j] = replace(sites[i][j], profile=joined)
                grown = True
        if not grown:
            break
    return [tuple(s) for s in sites]


def _overridden_across(index: ProjectIndex, facts: ModuleFacts, function: str, parameter: str,
                       at: Mapping[tuple[str, str], tuple[int, int]], here: int
                       ) -> Iterator[tuple[int, int]]:
    """The sites, in other modules, of the nearest methods this one overrides, at the same
    position."""
    owner, _, method = function.rpartition(".")
    signature = facts.functions.get(function)
    if (owner not in facts.classes or "<locals>" in function or signature is None
            or method in CONSTRUCTORS):
        return
    position = next((s for s in signature.slot_of(parameter) if s.isdigit()), None)
    if position is None:
        return
    for base in itertools.islice(index.mro(f"{facts.module}.{owner}"), 1, None):
        found = at.get((f"{base}.{method}", position))
        if found is not None:
            if found[0] != here:
                yield found
            return


def propagate(
    files: Sequence[tuple[str, str]],
    inferers: Mapping[str, TypeInferer],
    project: ProjectIndex,
    rounds: int = PROJECT_ROUNDS,
    parse: Callable[[str], meta.MetadataWrapper] = _parse,
    profiles: Callable[[meta.MetadataWrapper], ProfileBuilder] = ProfileBuilder,
    syntax: Callable[[str], ast.Module] = ast.parse,
) -> Propagated:
    """Predictions for every unannotated parameter of the (path, source) files that have an
    inferer (the packs they activate); the others lend their parameters' uses to the values
    passed to them. `project` indexes the whole project as written (the files included). Each
    round adds the sure predictions of the last as assumed annotations of their modules' facts;
    a parameter once sure keeps its class, so the rounds end at a fixed point (or after
    `rounds`). `parse` gives a source's tree: one a caller's checks share (checks/trees.py) or
    one of its own; `profiles`, its profile builder (the one the checks share, or a new one);
    `syntax`, a source's `ast` (the run's shared one, or a new parse)."""
    if not inferers:
        return Propagated(project, {}, {})
    modules = [m for path, source in files
               if (m := _parsed(path, source, inferers.get(path), parse, profiles, syntax))
               is not None]
    sites = dict(zip((m.path for m in modules), _with_uses_across(modules, project)))
    joined = {m.path: {(m.builder.qualified(new.function.name) or "", new.param.name.value):
                       new.profile for old, new in zip(m.sites, sites[m.path])
                       if new.profile != old.profile} for m in modules}
    joined = {path: j for path, j in joined.items() if j}
    assumed: dict[str, dict[str, dict[str, str]]] = {}
    memo = RankedMemo()
    facts = _AssumedFacts()
    state = Propagated(project, {}, {}, joined, memo)
    out: dict[str, list[Prediction]] = {}
    pending = [(m, m.inferer) for m in modules if m.inferer is not None]
    for _ in range(max(1, rounds)):
        grown = False
        for m, inferer in pending:
            index = state.index_for(m.module)
            predicted = predict_sites(m.builder, sites[m.path], inferer, index,
                                      index.modules.get(m.module) or _facts(m, {}), m.is_package,
                                      m.imported, memo)
            out[m.path] = [p for _, p in predicted]
            for site, p in predicted:
                if p.confidence < LINKED:
                    continue
                function = m.builder.qualified(site.function.name) or ""
                params = assumed.setdefault(m.module, {}).setdefault(function, {})
                if p.parameter not in params:
                    params[p.parameter] = p.candidates[0].annotation
                    grown = True
        state = Propagated(project, {m.module: facts.of(m, assumed) for m in modules
                                     if m.module in assumed}, out, joined, memo)
        if not grown:
            break
        pending = [(m, i) for m, i in pending
                   if any(p.confidence < LINKED for p in out.get(m.path, ()))]
    return state


def predict_project(
    files: Sequence[tuple[str, str]],
    inferers: Mapping[str, TypeInferer],
    project: ProjectIndex,
    rounds: int = PROJECT_ROUNDS,
) -> dict[str, list[Prediction]]:
    """`propagate`'s predictions, by path."""
    return dict(propagate(files, inferers, project, rounds).predictions)
