"""RR101: an unannotated parameter whose usage identifies a library class; the fix annotates it."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import libcst as cst
import libcst.metadata as meta

from remora_review.activation import imported_modules
from remora_review.checks.annotate import add_import
from remora_review.checks.base import CheckResult, FileContext
from remora_review.findings import Edit, Finding, Fix, Severity
from remora_review.infer.declared import Declarations, Hint, Link, hints, links
from remora_review.infer.inference import (
    SIGNALS,
    Candidate,
    InfererCache,
    Prediction,
    TypeInferer,
    build_inferer,
)
from remora_review.infer.profile import ParameterSite, ProfileBuilder, UsageProfile
from remora_review.project.facts import ModuleFacts, extract_facts, is_package_file, module_name
from remora_review.project.index import ProjectIndex

if TYPE_CHECKING:
    from remora_review.checks.registry import CheckEnv

__all__ = ["SIGNALS", "InfererCache", "Prediction", "TypeHintCheck", "build_inferer",
           "predict_source"]

CODE = "RR101"
_SKIP_NAMES = frozenset({"self", "cls", "_"})
# A prediction this sure is a declaration for the parameters it is passed to or from (dev set:
# 97% of them are right).
_LINKED = 0.95
_HOPS = 3  # how far uses travel back along chains of pass-through parameters


def _wanted(site: ParameterSite) -> bool:
    param = site.param
    return (
        site.annotation is None
        and param.name.value not in _SKIP_NAMES
        and not (param.default is not None and _is_literal(param.default))
    )


def _is_literal(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.Name):
        return node.value in ("True", "False")  # None defaults say nothing about the type
    return isinstance(node, (cst.BaseNumber, cst.BaseString, cst.List, cst.Dict, cst.Tuple, cst.Set))


def _module_context(project: ProjectIndex, path: str | None, source: str,
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


def _with_callee_uses(named: Sequence[tuple[str, str, UsageProfile]],
                      linked: Sequence[Link]) -> list[tuple[str, str, UsageProfile]]:
    """A value passed on to another unannotated parameter of this module must also support what
    that function does with it: its uses join the caller's profile (along chains, a few hops).
    A method and its override in the module take the same values: each takes the other's uses."""
    pairs = [(k.source, k.target) for k in linked]
    pairs += [(k.target, k.source) for k in linked if k.shared]
    out = list(named)
    for _ in range(_HOPS):
        grown = False
        for i, j in pairs:
            function, parameter, profile = out[i]
            joined = profile.with_uses_of(out[j][2])
            if joined != profile:
                out[i] = (function, parameter, joined)
                grown = True
        if not grown:
            break
    return out


def _linked(
    inferer: TypeInferer, named: Sequence[tuple[str, str, UsageProfile]],
    declared: Sequence[Sequence[Hint]], ranked: Sequence[tuple[Candidate, ...]],
    linked: Sequence[Link],
    classes: Mapping[str, tuple[frozenset[str], tuple[str, ...]]],
    imported: frozenset[str], module: str,
) -> list[tuple[Candidate, ...]]:
    """More rounds for parameters linked to another unannotated parameter of this module (passed
    to or from it, or at the same place of a method it overrides or is overridden by): a sure
    prediction for one is a declaration for the other. Only sure ones take part, so a wrong guess
    does not travel along the links; a parameter made sure in one round passes it on in the next,
    along chains of helpers a few hops long."""
    out = list(ranked)
    for _ in range(_HOPS):
        sure = {i: c[0].annotation for i, c in enumerate(out) if c and c[0].score >= _LINKED}
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
                                 module)
        for k, candidates in zip(again, redone):
            out[k] = candidates
        if not any(c and c[0].score >= _LINKED for c in redone):
            break  # nothing new is sure: another round would give the same hints
    return out


def _predict(
    builder: ProfileBuilder, sites: Sequence[ParameterSite], inferer: TypeInferer,
    project: ProjectIndex, facts: ModuleFacts, is_package: bool, imported: frozenset[str],
) -> list[tuple[ParameterSite, Prediction]]:
    wanted = [_with_implementation(builder, s) for s in sites if _wanted(s)]
    if not wanted:
        return []
    positions = builder.wrapper.resolve(meta.PositionProvider)
    declarations = Declarations(project, [m.api for m in inferer.models])
    named = [(builder.qualified(s.function.name) or "", s.param.name.value, s.profile)
             for s in wanted]
    declared = [hints(declarations, facts, function, parameter, profile, is_package)
                for function, parameter, profile in named]
    linked = links(facts, named, is_package)
    named = _with_callee_uses(named, linked)
    classes = project.classes()
    ranked = inferer.predict([profile for _, _, profile in named], declared, classes, imported,
                             facts.module)
    ranked = _linked(inferer, named, declared, ranked, linked, classes, imported, facts.module)
    out = []
    for site, candidates in zip(wanted, ranked):
        if not candidates:
            continue
        line = positions[site.param].start.line
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
    wrapper = meta.MetadataWrapper(cst.parse_module(source), unsafe_skip_copy=True)
    builder = ProfileBuilder(wrapper)
    sites = [s for f in builder.functions() for s in builder.sites(f)]
    index, facts, is_package = _module_context(project or ProjectIndex(), path, source, fresh=True)
    return [p for _, p in _predict(builder, sites, inferer, index, facts, is_package,
                                   imported_modules(source))]


def _has_unannotated(source: str) -> bool:
    """Whether any function parameter (self, cls and lambdas aside) lacks an annotation. Read
    with `ast`: a libcst visit of a whole module costs about as much as the check it spares."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return True
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            params = [*args.posonlyargs, *args.args, *args.kwonlyargs,
                      *(a for a in (args.vararg, args.kwarg) if a is not None)]
            if any(a.annotation is None and a.arg not in _SKIP_NAMES for a in params):
                return True
    return False


def _module_binds(builder: ProfileBuilder, name: str) -> bool:
    """Whether the module binds `name` anywhere at top level (import, assignment, def, class)."""
    scope = builder.scopes.get(builder.wrapper.module)
    return scope is not None and name in scope


def _first_party(qualified: str, root: Path | None) -> bool:
    if root is None:
        return False
    top = qualified.split(".")[0]
    return any((base / top).is_dir() or (base / f"{top}.py").is_file()
               for base in (root, root / "src"))


@dataclass
class TypeHintCheck:
    """Vector-enhanced type inference over the parameters of changed functions."""

    inferers: InfererCache
    repo_root: Path | None = None
    # The project's declarations, loaded on first use: only files with changed unannotated
    # parameters in an active pack's scope need them.
    project: Callable[[], ProjectIndex] = ProjectIndex
    name: str = "typehints"
    codes: Sequence[str] = (CODE,)
    needs_packs: bool = True

    def run(self, ctx: FileContext) -> CheckResult:
        return CheckResult(tuple(self._findings(ctx)))

    def _findings(self, ctx: FileContext) -> Iterator[Finding]:
        if not _has_unannotated(ctx.source):
            return  # a fully annotated file: skip the scope analysis, most of the cost
        builder = ProfileBuilder(ctx.wrapper)
        positions = ctx.wrapper.resolve(meta.PositionProvider)
        changed = []
        for function in builder.functions():
            span = positions[function]
            if ctx.touches(span.start.line, span.end.line):
                changed.extend(builder.sites(function))
        settings = ctx.settings.typehints
        library_packs = [p for p in ctx.packs if p.kind == "library"]
        if not any(_wanted(s) for s in changed) or not library_packs:
            return
        inferer = self.inferers.for_packs(library_packs)
        # The index holds this file as committed or staged: whole, where ctx.source is a slice.
        project, facts, is_package = _module_context(self.project(), ctx.path, ctx.source,
                                                     fresh=False)
        imports: dict[tuple[str, str | None], tuple[Edit, ...] | None] = {}
        for site, prediction in _predict(builder, changed, inferer, project, facts, is_package,
                                         imported_modules(ctx.source)):
            high = prediction.confidence >= settings.threshold
            if not high and not settings.report_below:
                continue
            yield self._finding(ctx, builder, site, prediction, positions, high, inferer, imports)

    def _finding(
        self, ctx: FileContext, builder: ProfileBuilder, site: ParameterSite,
        prediction: Prediction, positions: Mapping[cst.CSTNode, meta.CodeRange], high: bool,
        inferer: TypeInferer, imports: dict[tuple[str, str | None], tuple[Edit, ...] | None],
    ) -> Finding:
        best = prediction.candidates[0].annotation
        span = positions[site.param.name]
        fn_span = positions[site.function]
        short = best.rsplit(".", 1)[-1]
        fix = self._fix(ctx, builder, site, best, inferer, span, imports) if high else None
        return Finding(
            path=ctx.path,
            line=span.start.line,
            col=span.start.column,
            end_line=span.end.line,
            end_col=span.end.column,
            code=CODE,
            message=f"parameter `{site.param.name.value}` is used as {short} "
            f"({prediction.confidence:.0%}): annotate it `{site.param.name.value}: {short}`",
            severity=Severity.WARNING if high else Severity.INFO,
            confidence=prediction.confidence,
            pack=prediction.pack,
            fix=fix,
            data={
                "parameter": site.param.name.value,
                "function": site.function.name.value,
                "annotation": best,
                "candidates": [{"annotation": c.annotation, "score": round(c.score, 4)}
                               for c in prediction.candidates[:5]],
            },
            related=(fn_span.start.line, fn_span.end.line),
        )

    def _fix(self, ctx: FileContext, builder: ProfileBuilder, site: ParameterSite,
             qualified: str, inferer: TypeInferer, span: meta.CodeRange,
             imports: dict[tuple[str, str | None], tuple[Edit, ...] | None]) -> Fix | None:
        """`: Name` after the parameter's name, plus the import the module needs for it. The import
        is worked out once per class and file: a whole-module libcst transform is the costly part."""
        local = None
        aliases = {qualified}
        for model in inferer.models:
            aliases.update(k for k, v in model.api.aliases.items() if v == qualified)
        short = qualified.rsplit(".", 1)[-1]
        for bound, target in builder.imports().items():
            if target in aliases:
                local = bound
                break
        if local is None and _module_binds(builder, short):
            return None  # the short name means something else here; leave it to the user
        key = (qualified, local)
        if key not in imports:
            imports[key] = () if local is not None else self._import_edits(ctx, qualified)
        import_edits = imports[key]
        if import_edits is None:
            return None
        name = local or short
        at = span.end
        return Fix(f"annotate `{site.param.name.value}: {name}`",
                   (*import_edits, Edit(at.line, at.column, at.line, at.column, f": {name}")))

    def _import_edits(self, ctx: FileContext, qualified: str) -> tuple[Edit, ...] | None:
        from remora_review.fixes import edits_between

        try:
            new = add_import(ctx.module, qualified, _first_party(qualified, self.repo_root)).code
            cst.parse_module(new)
        except (cst.ParserSyntaxError, ValueError):
            return None
        return edits_between(ctx.source, new)


def build(env: CheckEnv) -> TypeHintCheck:
    """The check for one run (checks/registry.py)."""
    return TypeHintCheck(InfererCache(env.retrieval, top_k=env.settings.typehints.top_k), env.root,
                         env.project)
