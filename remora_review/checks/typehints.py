"""RR101: an unannotated parameter whose usage identifies a library class; the fix annotates it."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import libcst as cst
import libcst.metadata as meta

from remora_review.checks.annotate import ModuleImports
from remora_review.checks.base import CheckResult, FileContext
from remora_review.checks.import_style import ImportStyle, Section, read_import_style
from remora_review.checks.trees import SharedTrees
from remora_review.findings import Edit, Finding, Fix, Severity
from remora_review.infer.inferer import InfererCache, Prediction, TypeInferer
from remora_review.infer.profile import ParameterSite, ProfileBuilder
from remora_review.infer.propagation import Propagated, propagate
from remora_review.infer.rounds import module_context, predict_sites, wanted
from remora_review.project.index import ProjectIndex
from remora_review.pysource.imports import bindings, imported_modules, module_name

if TYPE_CHECKING:
    from remora_review.checks.registry import CheckEnv
    from remora_review.packs.loader import LoadedPack

CODE = "RR101"


def _whole(text: str, lines: frozenset[int] | None) -> bool:
    """Whether the run reports on every line of the text."""
    return lines is None or len(lines) >= text.count("\n") + (not text.endswith("\n"))


def _module_binds(builder: ProfileBuilder, name: str) -> bool:
    """Whether the module binds `name` anywhere at top level (import, assignment, def, class)."""
    scope = builder.scopes.get(builder.wrapper.module)
    return scope is not None and name in scope


@dataclass
class TypeHintCheck:
    """Vector-enhanced type inference over the parameters of changed functions."""

    inferers: InfererCache
    repo_root: Path | None = None
    # The project's declarations, loaded on first use: only files with changed unannotated
    # parameters in an active pack's scope need them.
    project: Callable[[], ProjectIndex] = ProjectIndex
    # The run's files (path, text, active library packs): what is sure in one is a declaration
    # for the others (infer/propagation.py), worked out once, on first use.
    # (path, whole text, the library packs it activates, the lines reported on; None: all)
    files: Sequence[tuple[str, str, Sequence[LoadedPack], frozenset[int] | None]] = ()
    # Where propagation parses the files it takes: the run's trees, which the files' own checks
    # read again (checks/trees.py).
    trees: SharedTrees = field(default_factory=SharedTrees)
    name: str = "typehints"
    codes: Sequence[str] = (CODE,)
    needs_packs: bool = True
    _style: ImportStyle | None = field(default=None, init=False, repr=False)
    _propagated: Propagated | None = field(default=None, init=False, repr=False)
    _taken: list[tuple[str, str, Sequence[LoadedPack]]] | None = field(default=None, init=False,
                                                                        repr=False)

    @property
    def import_style(self) -> ImportStyle:
        """The project's isort settings, read once per run (a check lives for one run)."""
        if self._style is None:
            self._style = read_import_style(self.repo_root)
        return self._style

    def taken(self) -> list[tuple[str, str, Sequence[LoadedPack]]]:
        """The files propagation takes (path, text, library packs); none when it would not run.

        Files that activate no pack lend their parameters' uses (`store(session)`). Only files
        the run reads whole take part (`check --all`, new files): propagation analyses every
        function of a file, and a commit's cost must follow the lines it changes, not the size
        of the files it touches (measured: 4.3 s against 2.2 s on the hook bench's ten alembic
        files, each given one function)."""
        if self._taken is None:
            whole = [(p, text, packs) for p, text, packs, lines in self.files
                     if _whole(text, lines)]
            # The `ast` of each file it may take is kept for the run, where some file activates
            # a pack: its positions, its facts and its fixes' imports read it again, far apart.
            hold = any(packs for _, _, packs in whole)
            wanted = []
            for p, text, packs in whole:
                if self.trees.read_whole(text).unannotated:
                    wanted.append((p, text, packs))
                    if hold:
                        self.trees.hold_syntax(text)
            self._taken = wanted if len(wanted) > 1 and any(w[2] for w in wanted) else []
            if not self._taken:
                for _, text, _ in wanted:
                    self.trees.release_syntax(text)
        return self._taken

    def share_trees(self) -> None:
        """Have the run keep the trees propagation parses, for the files' own checks (which
        parse the same folded text, FileContext.analysed), whichever of them comes first."""
        self.trees.share(self.trees.analysed(text).text for _, text, _ in self.taken())

    def propagated(self) -> Propagated:
        """The project's declarations, with the sure predictions of the run's files."""
        if self._propagated is None:
            taken = self.taken()
            inferers = {p: self.inferers.for_packs(packs) for p, _, packs in taken if packs}
            self._propagated = propagate(
                [(p, text) for p, text, _ in taken], inferers, self.project(),
                parse=lambda t: self.trees.parse(self.trees.analysed(t).text),
                profiles=self.trees.builder, syntax=self.trees.syntax)
        return self._propagated

    def run(self, ctx: FileContext) -> CheckResult:
        return CheckResult(tuple(self._findings(ctx)))

    def _findings(self, ctx: FileContext) -> Iterator[Finding]:
        if not self.trees.unannotated(ctx.source):
            return  # a fully annotated file: skip the scope analysis, most of the cost
        # The analysed text (blank runs folded), whose tree the API check reads too.
        builder = self.trees.builder(ctx.analysed)
        positions = builder.positions
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
        propagated = self.propagated()
        project, facts, is_package = module_context(
            propagated.index_for(module_name(ctx.path) or "__main__"), ctx.path, ctx.source,
            fresh=False)
        changed = propagated.with_joined_uses(ctx.path, builder, changed)
        imports = _FileImports(ctx.source, self.import_style, self.trees.syntax)
        for site, prediction in predict_sites(builder, changed, inferer, project, facts,
                                              is_package, imported_modules(ctx.source),
                                              propagated.memo):
            high = prediction.confidence >= settings.threshold
            if not high and not settings.report_below:
                continue
            yield self._finding(ctx, builder, site, prediction, positions, high, inferer, imports)

    def _finding(
        self, ctx: FileContext, builder: ProfileBuilder, site: ParameterSite,
        prediction: Prediction, positions: Mapping[cst.CSTNode, meta.CodeRange], high: bool,
        inferer: TypeInferer, imports: _FileImports,
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
             imports: _FileImports) -> Fix | None:
        """`: Name` after the parameter's name, plus the import the module needs for it (worked out
        once per class and file)."""
        local = None
        aliases = {qualified}
        for model in inferer.models:
            aliases.update(k for k, v in model.api.aliases.items() if v == qualified)
        short = qualified.rsplit(".", 1)[-1]
        # The imports the analysed text left out bind names too (checks/folded.py).
        imported = dict(builder.imports())
        for statement in ctx.analysed_text.dropped:
            for name, target in bindings(statement, None):
                imported.setdefault(name, target)
        for bound, target in imported.items():
            if target in aliases:
                local = bound
                break
        if local is None and (_module_binds(builder, short)
                              or short in ctx.analysed_text.dropped_names):
            return None  # the short name means something else here; leave it to the user
        import_edits = () if local is not None else imports.edits(qualified)
        if import_edits is None:
            return None
        name = local or short
        at = span.end
        return Fix(f"annotate `{site.param.name.value}: {name}`",
                   (*import_edits, Edit(at.line, at.column, at.line, at.column, f": {name}")))


class _FileImports:
    """The import edits of one file's fixes: the module's imports read once, each class's edits
    worked out once."""

    def __init__(self, source: str, style: ImportStyle,
                 parse: Callable[[str], ast.Module]) -> None:
        self._source = source
        self._style = style
        self._parse = parse
        self._module: ModuleImports | None = None
        self._edits: dict[str, tuple[Edit, ...] | None] = {}

    def edits(self, qualified: str) -> tuple[Edit, ...] | None:
        if qualified not in self._edits:
            if self._module is None:
                self._module = ModuleImports(self._source, self._style, self._parse)
            # A class of the project's own (a library's repository) could make an import cycle.
            first_party = self._style.section(qualified) == Section.FIRST_PARTY
            self._edits[qualified] = self._module.edits(qualified, first_party)
        return self._edits[qualified]


def build(env: CheckEnv) -> TypeHintCheck:
    """The check for one run (checks/registry.py)."""
    library = {name: p for name, p in env.packs.items() if p.kind == "library"}
    files = [(f.path, f.text, [library[n] for n in f.packs if n in library], f.lines)
             for f in env.files]
    check = TypeHintCheck(InfererCache(env.retrieval, top_k=env.settings.typehints.top_k),
                          env.root, env.project, files, env.trees)
    check.share_trees()
    return check
