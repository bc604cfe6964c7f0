"""Predictions for a module's unannotated parameters: declarations gathered, uses joined along the
module's links, then rounds in which a sure prediction is a declaration for the parameters linked
to it."""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import libcst as cst

from remora_review.infer.declared import Declarations, hints
from remora_review.infer.evidence import Hint
from remora_review.infer.inferer import Candidate, Prediction, TypeInferer
from remora_review.infer.links import Link, Site, links, with_linked_uses
from remora_review.infer.profile import ParameterSite, ProfileBuilder
from remora_review.infer.weights import HOPS, LINKED
from remora_review.project.facts import ModuleFacts, extract_facts
from remora_review.project.index import ProjectIndex, ProjectUsages
from remora_review.pysource.imports import imported_modules, is_package_file, module_name
from remora_review.pysource.wrapper import wrap

SKIP_NAMES = frozenset({"self", "cls", "_"})  # parameters never annotated


def wanted(site: ParameterSite) -> bool:
    """Whether a parameter is one to predict: unannotated, not self / cls, no literal default."""
    param = site.param
    return (
        site.annotation is None
        and param.name.value not in SKIP_NAMES
        and not (param.default is not None and _is_literal(param.default))
    )


def has_unannotated(source: str, parse: Callable[[str], ast.Module] = ast.parse) -> bool:
    """Whether any function parameter (self, cls and lambdas aside) lacks an annotation. Read
    with `ast` (`parse`'s, not changed): a libcst visit of a whole module costs about as much as
    the check it spares."""
    try:
        tree = parse(source)
    except (SyntaxError, ValueError):
        return True
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            params = [*args.posonlyargs, *args.args, *args.kwonlyargs,
                      *(a for a in (args.vararg, args.kwarg) if a is not None)]
            if any(a.annotation is None and a.arg not in SKIP_NAMES for a in params):
                return True
    return False


def _is_literal(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.Name):
        return node.value in ("True", "False")  # None defaults say nothing about the type
    return isinstance(node, (cst.BaseNumber, cst.BaseString, cst.List, cst.Dict, cst.Tuple, cst.Set))


def module_context(project: ProjectIndex, path: str | None, source: str,
                   fresh: bool) -> tuple[ProjectIndex, ModuleFacts, bool]:
    """The project index with this file's facts in it, the facts, and whether it is a package.

    `fresh`: read the facts from `source` even when the index holds the module.
    """
    module = (module_name(path) if path else None) or "__main__"
    is_package = path is not None and is_package_file(path)
    facts = None if fresh else project.modules.get(module)
    if facts is None:
        facts = extract_facts(module, source, is_package) or ModuleFacts(module, {}, {})
        project = project.with_module(facts)
    return project, facts, is_package


def _with_implementation(builder: ProfileBuilder, site: ParameterSite) -> ParameterSite:
    """An `@overload` stub's parameter profiled through the implementation's body."""
    implementation = builder.implementation(site.function)
    if implementation is None:
        return site
    name = site.param.name.value
    found = next((s for s in builder.sites(implementation) if s.param.name.value == name), None)
    return site if found is None else replace(site, profile=found.profile)


def _linked(
    inferer: TypeInferer, named: Sequence[Site], declared: Sequence[Sequence[Hint]],
    ranked: Sequence[tuple[Candidate, ...]], linked: Sequence[Link],
    classes: Mapping[str, tuple[frozenset[str], tuple[str, ...]]],
    imported: frozenset[str], module: str, usages: ProjectUsages,
) -> list[tuple[Candidate, ...]]:
    """More rounds for parameters linked to another unannotated parameter of this module (passed
    to or from it, or at the same place of a method it overrides or is overridden by): a sure
    prediction for one is a declaration for the other. Only sure ones take part, so a wrong guess
    does not travel along the links; a parameter made sure in one round passes it on in the next,
    along chains of helpers a few hops long."""
    out = list(ranked)
    for _ in range(HOPS):
        sure = {i: c[0].annotation for i, c in enumerate(out) if c and c[0].score >= LINKED}
        extra: dict[int, list[Hint]] = {}
        for link in linked:
            if link.source in sure and link.target not in sure:
                extra.setdefault(link.target, []).append(Hint(link.to_target, sure[link.source]))
            if link.target in sure and link.source not in sure:
                extra.setdefault(link.source, []).append(Hint(link.to_source, sure[link.target]))
        again = sorted(extra)
        if not again:
            break
        redone = inferer.predict([named[k][2] for k in again],
                                 [[*declared[k], *extra[k]] for k in again], classes, imported,
                                 module, usages)
        for k, candidates in zip(again, redone):
            out[k] = candidates
        if not any(c and c[0].score >= LINKED for c in redone):
            break  # nothing new is sure: another round would give the same hints
    return out


@dataclass
class RankedMemo:
    """Each module's last ranking with everything it was ranked from. Propagation's rounds, and
    the check after them, rank a module again whenever another module's sure predictions grew,
    and most of the time nothing it reads changed: the same uses, declarations and classes give
    the same ranking, taken from here instead of ranked again."""

    _last: dict[str, tuple[tuple[Any, ...], list[tuple[Candidate, ...]]]] = field(
        default_factory=dict)

    def ranked(self, module: str, inputs: tuple[Any, ...],
               rank: Callable[[], list[tuple[Candidate, ...]]]) -> list[tuple[Candidate, ...]]:
        last = self._last.get(module)
        if last is not None and last[0] == inputs:
            return last[1]
        out = rank()
        self._last[module] = (inputs, out)
        return out


def predict_sites(
    builder: ProfileBuilder, sites: Sequence[ParameterSite], inferer: TypeInferer,
    project: ProjectIndex, facts: ModuleFacts, is_package: bool, imported: frozenset[str],
    memo: RankedMemo | None = None,
) -> list[tuple[ParameterSite, Prediction]]:
    """A prediction for each wanted site of one module that some class fits; `memo`: the
    rankings of the run's earlier rounds, reused where nothing they read changed."""
    chosen = [_with_implementation(builder, s) for s in sites if wanted(s)]
    if not chosen:
        return []
    declarations = Declarations(project, [m.api for m in inferer.models])
    named = [(builder.qualified(s.function.name) or "", s.param.name.value, s.profile)
             for s in chosen]
    declared = [hints(declarations, facts, function, parameter, profile, is_package)
                for function, parameter, profile in named]
    linked = links(facts, named, is_package)
    named = with_linked_uses(named, linked)
    classes = project.classes()
    usages = project.usages()

    def rank() -> list[tuple[Candidate, ...]]:
        first = inferer.predict([profile for _, _, profile in named], declared, classes,
                                imported, facts.module, usages)
        return _linked(inferer, named, declared, first, linked, classes, imported, facts.module,
                       usages)

    if memo is None:
        ranked = rank()
    else:
        # The inferer compares by identity: one per set of packs, kept for the run.
        inputs = (inferer, tuple(named), tuple(map(tuple, declared)), tuple(linked),
                  classes, imported, usages)
        ranked = memo.ranked(facts.module, inputs, rank)
    out = []
    for site, candidates in zip(chosen, ranked):
        if not candidates:
            continue
        line = builder.positions[site.param.name].start.line
        best = candidates[0]
        pack = inferer.classes[best.annotation].pack if best.annotation in inferer.classes else None
        out.append((site, Prediction(site.function.name.value, site.param.name.value, line,
                                     candidates, best.score, pack)))
    return out


def predict_source(source: str, inferer: TypeInferer, path: str | None = None,
                   project: ProjectIndex | None = None) -> list[Prediction]:
    """Predictions for every unannotated parameter of a module (for measurement and tooling).

    `project` holds the rest of the project (its annotated signatures and calls); this file's own
    facts are taken from `source`, replacing what the index holds for its module.
    """
    wrapper = wrap(cst.parse_module(source), source)
    builder = ProfileBuilder(wrapper)
    sites = [s for f in builder.functions() for s in builder.sites(f)]
    index, facts, is_package = module_context(project or ProjectIndex(), path, source, fresh=True)
    return [p for _, p in predict_sites(builder, sites, inferer, index, facts, is_package,
                                        imported_modules(source))]
