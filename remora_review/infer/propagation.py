"""Predictions for many modules of one project at once, propagated to a fixed point: a parameter
predicted sure in one module is a declaration (as if annotated) for every other module, so a class
sure at one end of a call, a return or an override travels to the other end, across modules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import libcst as cst
import libcst.metadata as meta

from remora_review.infer.inferer import Prediction, TypeInferer
from remora_review.infer.profile import ParameterSite, ProfileBuilder
from remora_review.infer.rounds import predict_sites
from remora_review.infer.weights import LINKED, PROJECT_ROUNDS
from remora_review.project.facts import ModuleFacts, extract_facts
from remora_review.project.index import ProjectIndex
from remora_review.pysource.imports import imported_modules, is_package_file, module_name

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
    inferer: TypeInferer
    imported: frozenset[str]


def _parsed(path: str, source: str, inferer: TypeInferer) -> _Module | None:
    try:
        wrapper = meta.MetadataWrapper(cst.parse_module(source), unsafe_skip_copy=True)
    except cst.ParserSyntaxError:
        return None
    builder = ProfileBuilder(wrapper)
    sites = tuple(s for f in builder.functions() for s in builder.sites(f))
    return _Module(path, source, module_name(path) or "__main__", is_package_file(path), builder,
                   sites, inferer, imported_modules(source))


def _facts(m: _Module, assumed: Assumed) -> ModuleFacts:
    found = extract_facts(m.module, m.source, m.is_package, assumed.get(m.module, {}))
    return found or ModuleFacts(m.module, {}, {})


def predict_project(
    files: Sequence[tuple[str, str]],
    inferers: Mapping[str, TypeInferer],
    project: ProjectIndex,
    rounds: int = PROJECT_ROUNDS,
) -> dict[str, list[Prediction]]:
    """Predictions for every unannotated parameter of the (path, source) files that have an
    inferer (the packs they activate). `project` indexes the whole project as it is (the files
    included). Each round adds the sure predictions of the last as assumed annotations of their
    modules' facts; a sure parameter stays sure, so the rounds end at a fixed point (or after
    `rounds`)."""
    modules = [m for path, source in files if path in inferers
               if (m := _parsed(path, source, inferers[path])) is not None]
    assumed: dict[str, dict[str, dict[str, str]]] = {}
    out: dict[str, list[Prediction]] = {}
    pending = list(modules)
    for _ in range(max(1, rounds)):
        index = ProjectIndex({**project.modules, **{m.module: _facts(m, assumed) for m in modules}})
        grown = False
        for m in pending:
            facts = _facts(m, {})  # its own facts as written: its links are the module's rounds
            predicted = predict_sites(m.builder, m.sites, m.inferer, index.with_module(facts),
                                      facts, m.is_package, m.imported)
            out[m.path] = [p for _, p in predicted]
            for site, p in predicted:
                if p.confidence < LINKED:
                    continue
                function = m.builder.qualified(site.function.name) or ""
                params = assumed.setdefault(m.module, {}).setdefault(function, {})
                if p.parameter not in params:
                    params[p.parameter] = p.candidates[0].annotation
                    grown = True
        if not grown:
            break
        pending = [m for m in modules if any(p.confidence < LINKED for p in out.get(m.path, ()))]
    return out
