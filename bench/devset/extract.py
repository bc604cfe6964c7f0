"""Strip library-typed parameter annotations from a module (names kept or blind) and keep the gold."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import libcst as cst
import libcst.metadata as meta

from bench.devset.resolve import (
    AnnotationJudge,
    Resolver,
    Verdict,
    imported_libraries,
    module_names,
)

SELF_NAMES = frozenset({"self", "cls"})


@dataclass(frozen=True)
class Site:
    """A parameter slot that survives stripping: which def (by qualname and order) and which name."""

    function: str
    occurrence: int
    parameter: str


@dataclass(frozen=True)
class GoldParam:
    """One stripped parameter and the class it was annotated with."""

    path: str
    function: str
    parameter: str  # its name in the stripped file (p0, p1, ... when blind)
    original: str  # its name in the published file
    line: int  # line of the parameter's name in the stripped file
    gold: str  # class key of the stripped annotation
    annotation: str  # the annotation as written
    used: bool  # whether the function body refers to it at all


@dataclass(frozen=True)
class StrippedFile:
    path: str
    source: str
    gold: tuple[GoldParam, ...]
    # The libraries the stripped file still imports: what activates a pack (and the name peer) for it.
    imports: tuple[str, ...] = ()


@dataclass(frozen=True)
class Extraction:
    """One module's share of the dev set, in both modes, and what was left out and why.

    `negatives` is the names-kept file with the other plainly annotated parameters (str, a project
    class, ...) stripped too; its gold holds both kinds, the others marked by NEGATIVE: a finding
    on one of them is a false positive that the library-only gold cannot show.
    """

    kept: StrippedFile
    blind: StrippedFile
    skipped: Mapping[str, int] = field(default_factory=dict)
    negatives: StrippedFile | None = None


NEGATIVE = "!"  # prefix of a negative's gold: the annotation as written, e.g. "!str"
# Annotations that accept anything: a library class is not wrong for them.
_ANYTHING = frozenset({"Any", "typing.Any", "t.Any", "object"})


class ParamLocator(cst.CSTVisitor):
    """Names every function's parameters by (qualname, occurrence, name)."""

    def __init__(self) -> None:
        self.stack: list[str] = []
        self.seen: Counter[str] = Counter()
        self.sites: dict[cst.Param, Site] = {}
        self.functions: dict[cst.Param, cst.FunctionDef] = {}
        self.stars: set[cst.Param] = set()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.stack.append(node.name.value)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.stack.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        qualname = ".".join([*self.stack, node.name.value])
        occurrence = self.seen[qualname]
        self.seen[qualname] += 1
        p = node.params
        plain = [*p.posonly_params, *p.params, *p.kwonly_params]
        stars = [s for s in (p.star_arg, p.star_kwarg) if isinstance(s, cst.Param)]
        for param in [*plain, *stars]:
            self.sites[param] = Site(qualname, occurrence, param.name.value)
            self.functions[param] = node
        self.stars.update(stars)
        self.stack.extend([node.name.value, "<locals>"])

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        del self.stack[-2:]


class _Descendants(cst.CSTVisitor):
    def __init__(self) -> None:
        self.nodes: set[cst.CSTNode] = set()

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.nodes.add(node)
        return True


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


def _bound_names(alias: cst.ImportAlias) -> set[str]:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return {alias.asname.name.value}
    full = _code(alias.name)
    parts = full.split(".")
    return {".".join(parts[: i + 1]) for i in range(len(parts))}


class _Stripper(cst.CSTTransformer):
    """Drops chosen annotations, renames chosen names, removes chosen import aliases."""

    def __init__(
        self,
        params: Mapping[cst.Param, str],
        renames: Mapping[cst.Name, str],
        dead_imports: Mapping[cst.CSTNode, Mapping[str, str]],
    ) -> None:
        self.params = params
        self.renames = renames
        self.dead_imports = dead_imports

    def leave_Param(self, original_node: cst.Param, updated_node: cst.Param) -> cst.Param:
        if original_node not in self.params:
            return updated_node
        new = updated_node.with_changes(annotation=None, name=cst.Name(self.params[original_node]))
        if new.default is not None:
            # An unannotated default reads `x=1`, as formatters would write it.
            new = new.with_changes(equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")))
        return new

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        if original_node in self.renames:
            return updated_node.with_changes(value=self.renames[original_node])
        return updated_node

    def _keep(
        self, original: cst.Import | cst.ImportFrom, names: Sequence[cst.ImportAlias]
    ) -> list[cst.ImportAlias]:
        states = self.dead_imports.get(original, {})

        def removed(alias: cst.ImportAlias) -> bool:
            found = {states.get(n, "unused") for n in _bound_names(alias)}
            # A dotted import binds several names: one live name keeps it.
            return "dead" in found and "live" not in found

        return [a for a in names if not removed(a)]

    def leave_Import(
        self, original_node: cst.Import, updated_node: cst.Import
    ) -> cst.Import | cst.RemovalSentinel:
        if original_node not in self.dead_imports:
            return updated_node
        kept = self._keep(original_node, updated_node.names)
        if not kept:
            return cst.RemoveFromParent()
        kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return updated_node.with_changes(names=kept)

    def leave_ImportFrom(
        self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom
    ) -> cst.ImportFrom | cst.RemovalSentinel:
        if original_node not in self.dead_imports or isinstance(updated_node.names, cst.ImportStar):
            return updated_node
        kept = self._keep(original_node, updated_node.names)
        if not kept:
            return cst.RemoveFromParent()
        if updated_node.lpar is None:
            kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return updated_node.with_changes(names=kept)

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | cst.RemovalSentinel:
        if not updated_node.body:
            return cst.RemoveFromParent()
        return updated_node

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        if not updated_node.body:
            return updated_node.with_changes(body=[cst.SimpleStatementLine([cst.Pass()])])
        return updated_node


def _taken_names(module: cst.Module) -> set[str]:
    class _Names(cst.CSTVisitor):
        def __init__(self) -> None:
            self.names: set[str] = set()

        def visit_Name(self, node: cst.Name) -> None:
            self.names.add(node.value)

    finder = _Names()
    module.visit(finder)
    return finder.names


@dataclass(frozen=True)
class _Target:
    param: cst.Param
    site: Site
    gold: str
    annotation: str
    used: bool


class _Analysis:
    """One parse of a module with the metadata that stripping needs."""

    def __init__(self, source: str, resolver: Resolver, module_name: str | None, package: str | None):
        self.wrapper = meta.MetadataWrapper(cst.parse_module(source), unsafe_skip_copy=True)
        self.module = self.wrapper.module
        self._scopes: Mapping[cst.CSTNode, meta.Scope | None] | None = None
        self.locator = ParamLocator()
        self.module.visit(self.locator)
        self.judge = AnnotationJudge(module_names(self.module, module_name, package), resolver)

    @property
    def scopes(self) -> Mapping[cst.CSTNode, meta.Scope | None]:
        # Scope analysis is most of the cost: only modules with a stripped parameter pay it.
        if self._scopes is None:
            self._scopes = self.wrapper.resolve(meta.ScopeProvider)
        return self._scopes

    def param_assignments(self, param: cst.Param) -> list[meta.BaseAssignment]:
        function = self.locator.functions[param]
        scope = self.scopes.get(function.body)
        if scope is None:
            return []
        return [a for a in scope.assignments[param.name.value]]

    def targets(self) -> tuple[list[_Target], Counter[str]]:
        targets: list[_Target] = []
        skipped: Counter[str] = Counter()
        for param, site in self.locator.sites.items():
            if param.annotation is None:
                continue
            verdict: Verdict = self.judge.judge(param.annotation.annotation)
            if not verdict.mentions_library:
                continue
            if param in self.locator.stars:
                skipped["*args / **kwargs"] += 1
            elif site.parameter in SELF_NAMES:
                skipped["self / cls"] += 1
            elif verdict.skip is not None:
                skipped[verdict.skip] += 1
            elif verdict.key is not None:
                own = [a for a in self.param_assignments(param) if getattr(a, "node", None) is param]
                used = any(a.references for a in own)
                annotation = _code(param.annotation.annotation)
                targets.append(_Target(param, site, verdict.key, annotation, used))
        return targets, skipped

    def negatives(self) -> list[_Target]:
        """Parameters annotated with anything but a library type (or Any / object)."""
        out = []
        for param, site in self.locator.sites.items():
            if (param.annotation is None or param in self.locator.stars
                    or site.parameter in SELF_NAMES):
                continue
            annotation = _code(param.annotation.annotation)
            if annotation in _ANYTHING or self.judge.judge(param.annotation.annotation).mentions_library:
                continue
            own = [a for a in self.param_assignments(param) if getattr(a, "node", None) is param]
            out.append(_Target(param, site, NEGATIVE + annotation, annotation,
                               any(a.references for a in own)))
        return out

    def dead_imports(self, stripped: Sequence[cst.Param]) -> dict[cst.CSTNode, dict[str, str]]:
        """Per import statement, each bound name's state: "dead" when its every use was stripped."""
        inside = _Descendants()
        for param in stripped:
            if param.annotation is not None:
                param.annotation.visit(inside)
        out: dict[cst.CSTNode, dict[str, str]] = {}
        for scope in {s for s in self.scopes.values() if s is not None}:
            for assignment in scope.assignments:
                if not isinstance(assignment, meta.ImportAssignment):
                    continue
                refs = [r.node for r in assignment.references]
                if not refs:
                    state = "unused"
                elif all(n in inside.nodes for n in refs):
                    state = "dead"
                else:
                    state = "live"
                out.setdefault(assignment.node, {})[assignment.name] = state
        return {k: v for k, v in out.items() if "dead" in v.values()}

    def renames(self, targets: Sequence[_Target]) -> tuple[dict[cst.Param, str], dict[cst.Name, str]]:
        """Neutral names p0, p1, ... per function, and every Name node that must follow."""
        taken = _taken_names(self.module)
        counters: Counter[cst.FunctionDef] = Counter()
        params: dict[cst.Param, str] = {}
        names: dict[cst.Name, str] = {}
        for target in targets:
            function = self.locator.functions[target.param]
            while f"p{counters[function]}" in taken:
                counters[function] += 1
            new = f"p{counters[function]}"
            counters[function] += 1
            params[target.param] = new
            for assignment in self.param_assignments(target.param):
                node = getattr(assignment, "node", None)
                if node is not target.param and not isinstance(node, cst.Name):
                    continue
                if isinstance(node, cst.Name):
                    names[node] = new
                for ref in assignment.references:
                    if isinstance(ref.node, cst.Name):
                        names[ref.node] = new
        return params, names


def _lines(source: str, libraries: tuple[str, ...]) -> tuple[dict[Site, int], tuple[str, ...]]:
    """Each parameter's line in the stripped file, and the libraries it still imports."""
    wrapper = meta.MetadataWrapper(cst.parse_module(source), unsafe_skip_copy=True)
    positions = wrapper.resolve(meta.PositionProvider)
    locator = ParamLocator()
    wrapper.module.visit(locator)
    lines = {site: positions[param.name].start.line for param, site in locator.sites.items()}
    return lines, imported_libraries(wrapper.module, libraries)


def _stripped(
    analysis: _Analysis,
    targets: Sequence[_Target],
    dead: Mapping[cst.CSTNode, Mapping[str, str]],
    blind: bool,
) -> tuple[str, dict[cst.Param, str]]:
    if blind:
        params, names = analysis.renames(targets)
    else:
        params, names = {t.param: t.site.parameter for t in targets}, {}
    return analysis.module.visit(_Stripper(params, names, dead)).code, params


def _gold(
    path: str, targets: Sequence[_Target], params: Mapping[cst.Param, str], lines: Mapping[Site, int]
) -> tuple[GoldParam, ...]:
    gold = [
        GoldParam(
            path=path,
            function=t.site.function,
            parameter=params[t.param],
            original=t.site.parameter,
            line=lines[t.site],
            gold=t.gold,
            annotation=t.annotation,
            used=t.used,
        )
        for t in targets
    ]
    return tuple(sorted(gold, key=lambda g: (g.line, g.parameter)))


def extract(
    source: str,
    path: str,
    resolver: Resolver,
    module_name: str | None = None,
    package: str | None = None,
) -> Extraction:
    """Both modes of one module. Raises libcst.ParserSyntaxError when the module does not parse."""
    analysis = _Analysis(source, resolver, module_name, package)
    targets, skipped = analysis.targets()
    if not targets:
        empty = StrippedFile(path, source, ())
        return Extraction(empty, empty, dict(skipped))
    dead = analysis.dead_imports([t.param for t in targets])
    kept_source, kept_params = _stripped(analysis, targets, dead, blind=False)
    blind_source, blind_params = _stripped(analysis, targets, dead, blind=True)
    # Renaming never adds or removes a line, so both modes share the kept file's lines.
    lines, imports = _lines(kept_source, resolver.libraries)
    both = [*targets, *analysis.negatives()]
    mixed_source, mixed_params = _stripped(
        analysis, both, analysis.dead_imports([t.param for t in both]), blind=False)
    mixed_lines, mixed_imports = _lines(mixed_source, resolver.libraries)
    return Extraction(
        StrippedFile(path, kept_source, _gold(path, targets, kept_params, lines), imports),
        StrippedFile(path, blind_source, _gold(path, targets, blind_params, lines), imports),
        dict(skipped),
        StrippedFile(path, mixed_source, _gold(path, both, mixed_params, mixed_lines),
                     mixed_imports),
    )
