"""RR101: an unannotated parameter whose usage identifies a library class; the fix annotates it."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import libcst as cst
import libcst.metadata as meta

from remora_review.checks.annotate import add_import
from remora_review.checks.base import FileContext
from remora_review.findings import Edit, Finding, Fix, Severity
from remora_review.infer.inferer import InfererCache, Prediction, TypeInferer
from remora_review.infer.profile import ParameterSite, ProfileBuilder
from remora_review.infer.rounds import SKIP_NAMES, module_context, predict_sites, wanted
from remora_review.project.index import ProjectIndex
from remora_review.pysource.imports import imported_modules

CODE = "RR101"


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
            if any(a.annotation is None and a.arg not in SKIP_NAMES for a in params):
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

    def run(self, ctx: FileContext) -> Iterable[Finding]:
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
        if not any(wanted(s) for s in changed) or not library_packs:
            return
        inferer = self.inferers.for_packs(library_packs)
        # The index holds this file as committed or staged: whole, where ctx.source is a slice.
        project, facts, is_package = module_context(self.project(), ctx.path, ctx.source,
                                                    fresh=False)
        imports: dict[tuple[str, str | None], tuple[Edit, ...] | None] = {}
        for site, prediction in predict_sites(builder, changed, inferer, project, facts,
                                              is_package, imported_modules(ctx.source)):
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
