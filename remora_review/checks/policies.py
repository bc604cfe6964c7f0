"""The policy check: a pack's rules on calls, matched by qualified name, with semantic context and fixes."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

import libcst as cst
import libcst.metadata as meta
import numpy as np
from libcst.helpers import get_full_name_for_node_or_raise

from remora_review.checks.base import CheckResult, FileContext
from remora_review.findings import Edit, Finding, Fix, Severity
from remora_review.fixes import apply_edits, edits_between
from remora_review.packs.manifest import Policy

if TYPE_CHECKING:
    from remora_review.checks.registry import CheckEnv
    from remora_review.packs.loader import LoadedPack
    from remora_review.retrieval.base import Embedder

# What a call to a factory returns, by qualified name. A name bound to the result of a call has the
# type this table gives for the callee, else the callee itself (`x = Foo()` is a `Foo`; this is also
# libcst's own convention for `Foo().bar()`, named `Foo.bar`). Extend it through PolicyCheck(factories=).
DEFAULT_FACTORIES: Mapping[str, str] = {
    "logging.getLogger": "logging.Logger",
    "logging.Logger.getChild": "logging.Logger",
}

CONTEXT_MAX_WORDS = 200
_MAX_DEPTH = 8  # bound on `a = b; b = c.child(); ...` chains followed by the inference

Owner = cst.FunctionDef | cst.ClassDef | cst.Module


class PolicyCheck:
    """Reports calls that break an active pack's policies; one instance lives for one run (it keeps
    each policy's example vectors). `codes`: the policies' codes, for --select / --ignore."""

    name = "policies"
    needs_packs = True

    def __init__(self, factories: Mapping[str, str] = DEFAULT_FACTORIES,
                 codes: Sequence[str] = ()) -> None:
        self._factories = dict(factories)
        self._example_vectors: dict[tuple[str, str], np.ndarray] = {}
        self.codes = tuple(codes)

    def run(self, ctx: FileContext) -> CheckResult:
        rules = [
            (pack, policy)
            for pack in ctx.packs
            for policy in pack.manifest.policies
            if path_matches(ctx.path, policy.paths) and _may_call(ctx.source, policy)
        ]
        if rules and any(p.requires_imports for _, p in rules):
            imported = imported_modules(ctx.module)
            rules = [(k, p) for k, p in rules if _imports_satisfied(p.requires_imports, imported)]
        if not rules:
            return CheckResult()
        notes = _Notes()
        try:
            findings = self._check(ctx, rules, notes)
        except RecursionError:  # libcst visits recursively; a pathological file can exhaust it
            return CheckResult((), (f"policies: {ctx.path}: skipped, nested too deeply to analyse",))
        return CheckResult(tuple(findings), tuple(notes))

    def _check(self, ctx: FileContext, rules: list[tuple[LoadedPack, Policy]],
               notes: _Notes) -> list[Finding]:
        facts = _FileFacts(ctx, self._factories)
        terminals = {call.rsplit(".", 1)[-1] for _, policy in rules for call in policy.calls}
        sites = facts.changed_sites(terminals)
        matches: list[_Match] = []
        for pack, policy in rules:
            wanted = set(policy.calls)
            for site in sites:
                hit = sorted(wanted & site.names)
                if hit and not self._already_compliant(policy, site.call, notes):
                    matches.append(_Match(pack, policy, site, hit[0]))
        return [self._finding(ctx, facts, match, s, notes)
                for match, s in self._decide(ctx, matches, notes)]

    # -- semantic context -----------------------------------------------------------------

    def _decide(self, ctx: FileContext, matches: list[_Match],
                notes: _Notes) -> list[tuple[_Match, float]]:
        """Keep matches whose policy has no context, or whose context is close enough."""
        decided = [(mt, 1.0) for mt in matches if not mt.policy.context_examples]
        contextual = [mt for mt in matches if mt.policy.context_examples]
        if contextual and ctx.retrieval is None:
            for mt in contextual:
                notes.add(
                    f"policies: {mt.policy.code} needs the embedding model to decide its context; "
                    "skipped (install remora-review[embed] to enable it)"
                )
            return decided
        by_pack: dict[str, list[_Match]] = {}
        for mt in contextual:
            by_pack.setdefault(mt.pack.name, []).append(mt)
        for group in by_pack.values():
            assert ctx.retrieval is not None
            decided += self._similar_enough(ctx.retrieval.embedder_for(group[0].pack), group)
        return decided

    def _similar_enough(
        self, embedder: Embedder, group: list[_Match]
    ) -> Iterator[tuple[_Match, float]]:
        """One query batch for the file's contexts; the examples once per policy and run."""
        pack = group[0].pack
        text_of = {
            id(mt.site.owner): render_context(mt.site.owner, pack.manifest.glossary) for mt in group
        }
        texts = list(dict.fromkeys(text_of.values()))
        queries = dict(zip(texts, embedder.embed(texts, "query")))
        for mt in group:
            key = (pack.name, mt.policy.code)
            if key not in self._example_vectors:
                examples = list(mt.policy.context_examples)
                self._example_vectors[key] = embedder.embed(examples, "document")
            similarity = float(
                np.max(self._example_vectors[key] @ queries[text_of[id(mt.site.owner)]])
            )
            if similarity >= mt.policy.context_threshold:
                yield mt, similarity

    # -- findings and fixes ---------------------------------------------------------------

    def _finding(
        self, ctx: FileContext, facts: _FileFacts, match: _Match, similarity: float, notes: _Notes
    ) -> Finding:
        where = facts.positions[match.site.call]
        return Finding(
            path=ctx.path,
            line=where.start.line,
            col=where.start.column,
            end_line=where.end.line,
            end_col=where.end.column,
            code=match.policy.code,
            message=match.policy.message,
            severity=Severity(match.policy.severity),
            confidence=min(max(similarity, 0.0), 1.0),
            pack=match.pack.name,
            fix=self._fix(ctx, facts, match, notes),
            data={
                "callee": match.callee,
                "policy": match.policy.code,
                "context_similarity": similarity,
            },
        )

    def _fix(self, ctx: FileContext, facts: _FileFacts, match: _Match,
             notes: _Notes) -> Fix | None:
        """Edits for this call and the import it needs, checked to parse; None when not safe."""
        policy, call = match.policy, match.site.call
        keywords = self._parsed_keywords(policy, notes)
        if keywords is None:
            return None
        callee: cst.BaseExpression = call.func
        import_edits: tuple[Edit, ...] = ()
        if policy.replace_with:
            plan = _plan_callee(policy.replace_with, facts.scopes.get(call), facts.global_scope)
            if plan is None:
                notes.add(
                    f"policies: {policy.code}: no fix in {ctx.path}, the names needed for "
                    f"{policy.replace_with} are bound to something else there"
                )
                return None
            callee = cst.parse_expression(plan.expression)
            if plan.import_ is not None:
                import_edits = facts.import_edits(plan.import_)
        new_call = _rewrite_call(call, callee, keywords, policy.rename_keywords)
        try:
            new_source = facts.replace_in_statement(match.site.statement, call, new_call)
            edits = tuple(sorted((*import_edits, *edits_between(ctx.source, new_source))))
            _must_compile(apply_edits(ctx.source, edits))
        except (ValueError, SyntaxError, cst.ParserSyntaxError):  # EditError is a ValueError
            return None
        return Fix(message=_fix_message(ctx.module.code_for_node(callee), keywords), edits=edits)

    def _already_compliant(self, policy: Policy, call: cst.Call, notes: _Notes) -> bool:
        """A keyword-only policy (`timeout=10`) holds where the call already says so."""
        if policy.replace_with or not (policy.set_keywords or policy.rename_keywords):
            return False
        keywords = self._parsed_keywords(policy, notes)
        if keywords is None:
            return False
        return _rewrite_call(call, call.func, keywords, policy.rename_keywords).deep_equals(call)

    def _parsed_keywords(self, policy: Policy, notes: _Notes) -> dict[str, cst.BaseExpression] | None:
        out: dict[str, cst.BaseExpression] = {}
        for name, text in policy.set_keywords.items():
            try:
                out[name] = _parse_expression(text)
            except cst.ParserSyntaxError:
                notes.add(
                    f"policies: {policy.code}: set_keywords {name}={text!r} is not a Python "
                    "expression; no fix offered"
                )
                return None
        bad = [k for k in (*out, *policy.rename_keywords.values()) if not k.isidentifier()]
        if bad:
            notes.add(f"policies: {policy.code}: {bad[0]!r} is not a keyword name; no fix")
            return None
        return out


class _Notes(dict[str, None]):
    """A file's notes, each once, in order."""

    def add(self, text: str) -> None:
        self.setdefault(text, None)


@dataclass(frozen=True)
class _CallSite:
    call: cst.Call
    owner: Owner  # innermost function, else class, else module
    statement: cst.CSTNode  # the top-level statement holding the call
    names: frozenset[str]  # qualified names of the callee, the inferred ones included


@dataclass(frozen=True)
class _Match:
    pack: LoadedPack
    policy: Policy
    site: _CallSite
    callee: str


class _FileFacts:
    """What the check learns about one file, each piece computed once and only when needed."""

    def __init__(self, ctx: FileContext, factories: Mapping[str, str]) -> None:
        self._ctx = ctx
        self._factories = factories
        self._imports: dict[tuple[str, str | None], tuple[Edit, ...]] = {}

    @cached_property
    def positions(self) -> Mapping[cst.CSTNode, meta.CodeRange]:
        return self._ctx.wrapper.resolve(meta.PositionProvider)

    @cached_property
    def scopes(self) -> Mapping[cst.CSTNode, meta.Scope | None]:
        return self._ctx.wrapper.resolve(meta.ScopeProvider)

    @cached_property
    def global_scope(self) -> meta.Scope | None:
        return self.scopes.get(self._ctx.module)

    def changed_sites(self, terminals: set[str]) -> list[_CallSite]:
        """Calls on changed lines whose callee ends in one of `terminals` (or an alias of one).

        Scope and qualified names, the costly metadata, are resolved only when such calls exist.
        """
        facts = _CallCollector(self._ctx.module)
        for statement in self._ctx.module.body:
            facts.statement = statement
            statement.visit(facts)
        wanted = terminals | {a for t in terminals for a in facts.import_aliases.get(t, ())}
        calls = [(c, o, s) for c, o, s, name in facts.calls if name in wanted]
        if calls and self._ctx.changed_lines is not None:
            where = [self.positions[c] for c, _, _ in calls]
            calls = [
                site for site, r in zip(calls, where) if self._ctx.touches(r.start.line, r.end.line)
            ]
        if not calls:
            return []
        names = _NameInference(self._ctx.wrapper, self._factories, facts)
        return [_CallSite(c, o, s, names.callee_names(c)) for c, o, s in calls]

    @cached_property
    def _statement_spans(self) -> dict[int, tuple[int, int]] | None:
        """Where each top-level statement's text lies in the source (None: not a plain concat)."""
        module, spans = self._ctx.module, {}
        offset = sum(len(module.code_for_node(line)) for line in module.header)
        for statement in module.body:
            code = module.code_for_node(statement)
            if self._ctx.source[offset : offset + len(code)] != code:
                return None  # e.g. the last line has no newline: codegen drops it at module level
            spans[id(statement)] = (offset, offset + len(code))
            offset += len(code)
        return spans

    def replace_in_statement(
        self, statement: cst.CSTNode, old: cst.CSTNode, new: cst.CSTNode
    ) -> str:
        """The source with `old` replaced, re-rendering only its top-level statement.

        Rendered in place, a call spread over lines keeps the indentation of its block; the new
        statement must parse on its own (compiling the whole file is left to the caller).
        """
        spans, module = self._statement_spans, self._ctx.module
        if spans is None or id(statement) not in spans:
            whole = module.deep_replace(old, new)
            assert isinstance(whole, cst.Module)
            return whole.code
        start, end = spans[id(statement)]
        code = module.code_for_node(statement.deep_replace(old, new))
        cst.parse_module(code)
        return self._ctx.source[:start] + code + self._ctx.source[end:]

    def import_edits(self, needed: tuple[str, str | None]) -> tuple[Edit, ...]:
        """The edits that add `from module import name` (or `import module`) to this file."""
        if needed not in self._imports:
            # Imported here: libcst.codemod pulls in libcst.matchers, ~0.4 s the hook should not
            # pay on files that need no import.
            from libcst.codemod import CodemodContext
            from libcst.codemod.visitors import AddImportsVisitor

            context = CodemodContext()
            AddImportsVisitor.add_needed_import(context, needed[0], needed[1])
            module = AddImportsVisitor(context).transform_module(self._ctx.module)
            self._imports[needed] = edits_between(self._ctx.source, module.code)
        return self._imports[needed]


class _CallCollector(cst.CSTVisitor):
    """One pass over the module: calls with their owners, and the bindings inference follows."""

    def __init__(self, module: cst.Module) -> None:
        # call, its owner, its top-level statement, the callee's last name
        self.calls: list[tuple[cst.Call, Owner, cst.CSTNode, str | None]] = []
        self.statement: cst.CSTNode = module  # the top-level statement being visited
        self.values: dict[cst.CSTNode, list[cst.BaseExpression]] = {}  # target -> assigned values
        self.annotations: dict[cst.CSTNode, cst.BaseExpression] = {}  # target -> its annotation
        self.first_params: dict[cst.Param, cst.ClassDef] = {}  # `self` of a method -> its class
        self.class_targets: dict[cst.CSTNode, cst.ClassDef] = {}  # names bound in a class body
        self.import_aliases: dict[str, set[str]] = {}  # `from m import info as say`: info -> say
        self._owners: list[Owner] = [module]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        params = node.params.posonly_params or node.params.params
        static = any(
            isinstance(d.decorator, cst.Name) and d.decorator.value == "staticmethod"
            for d in node.decorators
        )
        if isinstance(self._owners[-1], cst.ClassDef) and params and not static:
            self.first_params[params[0]] = self._owners[-1]
        self._owners.append(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._owners.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._owners.append(node)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._owners.pop()

    def visit_Call(self, node: cst.Call) -> None:
        owner = next((o for o in reversed(self._owners) if isinstance(o, cst.FunctionDef)), None)
        self.calls.append((node, owner or self._owners[-1], self.statement, _last_name(node.func)))

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._bind(target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self.annotations[node.target] = node.annotation.annotation
        self._bind(node.target, node.value)

    def _bind(self, target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        if value is not None:
            self.values.setdefault(target, []).append(value)
        if isinstance(self._owners[-1], cst.ClassDef) and isinstance(target, cst.Name):
            self.class_targets[target] = self._owners[-1]

    def visit_ImportAlias(self, node: cst.ImportAlias) -> None:
        if node.asname is not None and isinstance(node.asname.name, cst.Name):
            original = get_full_name_for_node_or_raise(node.name).rsplit(".", 1)[-1]
            self.import_aliases.setdefault(original, set()).add(node.asname.name.value)


def _last_name(func: cst.BaseExpression) -> str | None:
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return None


class _NameInference:
    """Qualified names of callees, seeing through names bound to instances.

    libcst names `log.info` after a local `log = logging.getLogger()` as `f.<locals>.log.info`;
    this follows `log` to its assignments (or a parameter's annotation, or `self.log = ...` in the
    class) and names the call `logging.Logger.info`.
    """

    def __init__(
        self, wrapper: meta.MetadataWrapper, factories: Mapping[str, str], facts: _CallCollector
    ) -> None:
        self._qualified = wrapper.resolve(meta.QualifiedNameProvider)
        self._scopes = wrapper.resolve(meta.ScopeProvider)
        self._factories = factories
        self._facts = facts
        self._memo: dict[int, set[str]] = {}  # id(expression) -> types; the module outlives this

    def callee_names(self, call: cst.Call, depth: int = 0) -> frozenset[str]:
        names = self._qualified_names(call.func)
        if isinstance(call.func, cst.Attribute):
            attr = call.func.attr.value
            names |= {f"{t}.{attr}" for t in self._types(call.func.value, depth)}
        return frozenset(self._through_factories(n) for n in names) | frozenset(names)

    def _qualified_names(self, node: cst.CSTNode) -> set[str]:
        value = self._qualified.get(node, ())
        if callable(value):  # libcst resolves qualified names lazily
            value = value()
        return {q.name for q in value}

    def _through_factories(self, name: str) -> str:
        """`logging.getLogger.info` (libcst's name for `getLogger().info`) -> `logging.Logger.info`."""
        for _ in range(_MAX_DEPTH):
            parts = name.split(".")
            for i in range(len(parts) - 1, 0, -1):
                prefix = ".".join(parts[:i])
                if prefix in self._factories:
                    name = ".".join((self._factories[prefix], *parts[i:]))
                    break
            else:
                return name
        return name

    def _types(self, expr: cst.BaseExpression, depth: int) -> set[str]:
        """Qualified names of the classes an expression's value may be an instance of."""
        # Memoised with a cycle guard: `x = x.child()` repeated must stay linear, not exponential.
        if id(expr) in self._memo:
            return self._memo[id(expr)]
        if depth > _MAX_DEPTH:
            return set()
        self._memo[id(expr)] = set()
        self._memo[id(expr)] = found = self._infer(expr, depth)
        return found

    def _infer(self, expr: cst.BaseExpression, depth: int) -> set[str]:
        if isinstance(expr, cst.Call):
            return {self._factories.get(n, n) for n in self.callee_names(expr, depth + 1)}
        if isinstance(expr, cst.Name):
            return self._name_types(expr, depth)
        if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name):
            return self._self_attribute_types(expr.value, expr.attr.value, depth)
        return set()

    def _name_types(self, name: cst.Name, depth: int) -> set[str]:
        out: set[str] = set()
        for target in self._binding_nodes(name):
            if isinstance(target, cst.Param):
                if target.annotation is not None:
                    out |= self._annotation_types(target.annotation.annotation)
            else:
                out |= self._target_types(target, depth)
        return out

    def _target_types(self, target: cst.CSTNode, depth: int) -> set[str]:
        """An assignment target's types: its annotation's, else those of the values bound to it."""
        annotation = self._facts.annotations.get(target)
        if annotation is not None:
            return self._annotation_types(annotation)
        out: set[str] = set()
        for value in self._facts.values.get(target, ()):
            out |= self._types(value, depth + 1)
        return out

    def _binding_nodes(self, name: cst.Name) -> Iterator[cst.CSTNode]:
        scope = self._scopes.get(name)
        if scope is None:
            return
        for access in scope.accesses[name]:
            for ref in access.referents:
                if isinstance(ref, meta.Assignment):
                    yield ref.node

    def _annotation_types(self, annotation: cst.BaseExpression) -> set[str]:
        if isinstance(annotation, (cst.Name, cst.Attribute)):
            return self._qualified_names(annotation)
        return set()

    def _self_attribute_types(self, base: cst.Name, attr: str, depth: int) -> set[str]:
        """`self.log` in a method: what the class body or `self.log = ...` in a method binds."""
        cls = self._class_of_self(base)
        if cls is None:
            return set()
        out: set[str] = set()
        for target in (*self._facts.values, *self._facts.annotations):
            if self._binds_attribute(target, cls, attr):
                out |= self._target_types(target, depth)
        return out

    def _class_of_self(self, base: cst.Name) -> cst.ClassDef | None:
        for node in self._binding_nodes(base):
            if isinstance(node, cst.Param) and node in self._facts.first_params:
                return self._facts.first_params[node]
        return None

    def _binds_attribute(self, target: cst.CSTNode, cls: cst.ClassDef, attr: str) -> bool:
        if isinstance(target, cst.Name):  # class body: `log = logging.getLogger()`
            return target.value == attr and self._facts.class_targets.get(target) is cls
        if not isinstance(target, cst.Attribute) or target.attr.value != attr:
            return False  # `self.log = ...` in a method
        return isinstance(target.value, cst.Name) and self._class_of_self(target.value) is cls


# -- file-level conditions ----------------------------------------------------------------


def path_matches(path: str, globs: Sequence[str]) -> bool:
    """Whether a repository-relative path matches any glob (no globs: every path).

    `*` and `?` stay within one directory, `**` spans any number of them, and a glob with no `/`
    matches the file name in any directory (as in .gitignore).
    """
    if not globs:
        return True
    name = path.rsplit("/", 1)[-1]
    return any(_glob_regex(g).fullmatch(path if "/" in g else name) for g in globs)


@lru_cache(maxsize=256)
def _glob_regex(glob: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        elif glob[i] == "[" and "]" in glob[i + 1 :]:
            end = glob.index("]", i + 2 if glob[i + 1 : i + 2] in ("!", "]") else i + 1)
            body = glob[i + 1 : end]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            i = end + 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return re.compile("".join(out))


def imported_modules(module: cst.Module) -> frozenset[str]:
    """Absolute modules a file imports anywhere, with `from a import b` counted as `a` and `a.b`."""
    found: set[str] = set()
    for node in _walk_imports(module):
        if isinstance(node, cst.Import):
            found.update(get_full_name_for_node_or_raise(a.name) for a in node.names)
        elif node.module is not None and not node.relative:
            base = get_full_name_for_node_or_raise(node.module)
            found.add(base)
            if not isinstance(node.names, cst.ImportStar):
                found.update(
                    f"{base}.{a.name.value}" for a in node.names if isinstance(a.name, cst.Name)
                )
    return frozenset(found)


def _walk_imports(module: cst.Module) -> Iterator[cst.Import | cst.ImportFrom]:
    class Imports(cst.CSTVisitor):
        def __init__(self) -> None:
            self.found: list[cst.Import | cst.ImportFrom] = []

        def visit_Import(self, node: cst.Import) -> None:
            self.found.append(node)

        def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
            self.found.append(node)

    visitor = Imports()
    module.visit(visitor)
    return iter(visitor.found)


def _may_call(source: str, policy: Policy) -> bool:
    """A cheap filter: every way to reach `a.b.info` spells `info` somewhere in the file."""
    return any(call.rsplit(".", 1)[-1] in source for call in policy.calls)


def _imports_satisfied(required: Sequence[str], imported: frozenset[str]) -> bool:
    if not required:
        return True
    return any(i == r or i.startswith(r + ".") for r in required for i in imported)


# -- semantic context text ----------------------------------------------------------------


def render_context(
    owner: Owner, glossary: Mapping[str, str], max_words: int = CONTEXT_MAX_WORDS
) -> str:
    """The text embedded for a call's surroundings: name, docstring, parameters, body words.

    Identifiers are split into words (`charge_card` -> `charge card`); the first time a glossary
    term appears, its meaning follows it in parentheses.
    """
    parts: list[str] = []
    if isinstance(owner, cst.FunctionDef):
        params = [p.name.value for p in _all_params(owner.params)]
        parts += [f"function {_words(owner.name.value)}", owner.get_docstring() or ""]
        parts.append("parameters: " + ", ".join(_words(p) for p in params if p not in _NOISE))
    elif isinstance(owner, cst.ClassDef):
        parts += [f"class {_words(owner.name.value)}", owner.get_docstring() or ""]
    else:
        parts.append(owner.get_docstring() or "")
    tokens = _BodyTokens()
    for statement in _body_without_docstring(owner):
        statement.visit(tokens)
    parts.append(" ".join(tokens.words))
    words = " ".join(p for p in parts if p).split()
    return _expand_glossary(" ".join(words[:max_words]), glossary)


_NOISE = frozenset({"self", "cls", "None", "True", "False"})


def _body_without_docstring(owner: Owner) -> Sequence[cst.CSTNode]:
    body = owner.body if isinstance(owner, cst.Module) else owner.body.body
    if owner.get_docstring() is not None and body:
        return body[1:]
    return body


def _all_params(params: cst.Parameters) -> list[cst.Param]:
    out = [*params.posonly_params, *params.params, *params.kwonly_params]
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            out.append(star)
    return out


def _words(identifier: str) -> str:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", identifier)
    return " ".join(spaced.replace("_", " ").split())


class _BodyTokens(cst.CSTVisitor):
    """Identifiers (as words), string contents and comments, in order, each once."""

    def __init__(self) -> None:
        self.words: list[str] = []
        self._seen: set[str] = set()

    def _add(self, text: str) -> None:
        text = " ".join(text.split()[:30])
        if text and text.lower() not in self._seen:
            self._seen.add(text.lower())
            self.words.append(text)

    def visit_Name(self, node: cst.Name) -> None:
        if node.value not in _NOISE:
            self._add(_words(node.value))

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        value = node.evaluated_value
        if isinstance(value, str):
            self._add(value)

    def visit_FormattedStringText(self, node: cst.FormattedStringText) -> None:
        self._add(node.value)

    def visit_Comment(self, node: cst.Comment) -> None:
        self._add(node.value.lstrip("#"))


def _expand_glossary(text: str, glossary: Mapping[str, str]) -> str:
    for term in sorted(glossary, key=len, reverse=True):
        pattern = re.compile(r"(?<!\w)" + re.escape(term) + r"(?!\w)", re.IGNORECASE)
        found = pattern.search(text)
        if found:
            text = f"{text[: found.end()]} ({glossary[term]}){text[found.end() :]}"
    return text


# -- the fix ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CalleePlan:
    expression: str  # the callee as written at the call
    import_: tuple[str, str | None] | None  # (module, name) for AddImportsVisitor; None: bound


def split_target(replace_with: str) -> tuple[str, str]:
    """`acme.audit.AuditLogger.log_transaction` -> (`acme.audit`, `AuditLogger.log_transaction`).

    `module:object` says it explicitly; otherwise the object starts at the first capitalised
    component, else it is the last component (a function).
    """
    if ":" in replace_with:
        module, obj = replace_with.split(":", 1)
        return module, obj
    parts = replace_with.split(".")
    first_upper = next((i for i, p in enumerate(parts) if p[:1].isupper()), len(parts) - 1)
    first_upper = max(first_upper, 1)
    return ".".join(parts[:first_upper]), ".".join(parts[first_upper:])


def _plan_callee(
    replace_with: str, scope: meta.Scope | None, global_scope: meta.Scope | None
) -> _CalleePlan | None:
    """How to write the new callee at the call, and what to import for it.

    `from module import Name` and `Name.attr`, unless `Name` is bound to something else, then
    `import module` and the dotted form; a name already imported from the module is reused.
    """
    module, obj = split_target(replace_with)
    full = f"{module}.{obj}"
    head = obj.split(".")[0]
    if scope is None or global_scope is None:
        return None

    def bound_to(name: str) -> set[str]:
        names = {*scope.get_qualified_names_for(name), *global_scope.get_qualified_names_for(name)}
        return {q.name for q in names}

    head_bound = bound_to(head)
    if head_bound == {f"{module}.{head}"}:
        return _CalleePlan(obj, None)
    alias = _bound_alias(scope, global_scope, module, full)
    if alias is not None:
        return _CalleePlan(alias, None)
    if not head_bound:
        return _CalleePlan(obj, (module, head))
    top = module.split(".")[0]
    if any(q != top and not q.startswith(top + ".") for q in bound_to(top)):
        return None  # both `AuditLogger` and `acme` mean something else here
    return _CalleePlan(full, (module, None))


def _bound_alias(scope: meta.Scope, global_scope: meta.Scope, module: str, full: str) -> str | None:
    """A module-level import that already reaches the target, e.g. `import acme.audit as au`."""
    options = []
    for assignment in global_scope.assignments:
        if not isinstance(assignment, meta.ImportAssignment):
            continue
        names = {q.name for q in scope.get_qualified_names_for(assignment.name)}
        if len(names) != 1:
            continue
        (qualified,) = names
        if full.startswith(qualified + ".") and len(qualified) >= len(module):
            options.append(assignment.name + full[len(qualified) :])
    return min(options, key=len) if options else None


def _rewrite_call(
    call: cst.Call,
    callee: cst.BaseExpression,
    keywords: Mapping[str, cst.BaseExpression],
    renames: Mapping[str, str],
) -> cst.Call:
    args = [
        a.with_changes(keyword=cst.Name(renames[a.keyword.value]))
        if a.keyword is not None and a.keyword.value in renames
        else a
        for a in call.args
    ]
    for name, value in keywords.items():
        index = next((i for i, a in enumerate(args) if a.keyword and a.keyword.value == name), None)
        if index is not None:
            args[index] = args[index].with_changes(value=value)
        else:
            args = _append_keyword(call, args, name, value)
    return call.with_changes(func=callee, args=args)


def _append_keyword(
    call: cst.Call, args: list[cst.Arg], name: str, value: cst.BaseExpression
) -> list[cst.Arg]:
    """Add `name=value` last, in the call's layout: on the line, or on a line of its own.

    A comment after the old last argument stays with it; the new argument takes over what
    closed the call (the trailing comma, the newline before the parenthesis).
    """
    no_space = cst.SimpleWhitespace("")
    new = cst.Arg(
        value=value,
        keyword=cst.Name(name),
        equal=cst.AssignEqual(whitespace_before=no_space, whitespace_after=no_space),
    )
    if not args:
        return [new]
    last = args[-1]
    trailing = last.comma if isinstance(last.comma, cst.Comma) else None
    closing = trailing.whitespace_after if trailing else last.whitespace_after_arg
    before = trailing.whitespace_before if trailing else no_space
    if isinstance(closing, cst.ParenthesizedWhitespace):
        separator = cst.Comma(
            whitespace_before=before,
            whitespace_after=closing.with_changes(last_line=_argument_indent(call, args, closing)),
        )
        end: cst.BaseParenthesizableWhitespace = closing.with_changes(
            first_line=cst.TrailingWhitespace(), empty_lines=()
        )
    else:
        separator = cst.Comma(whitespace_before=before, whitespace_after=cst.SimpleWhitespace(" "))
        end = closing
    if trailing:
        new = new.with_changes(comma=trailing.with_changes(whitespace_after=end))
        last = last.with_changes(comma=separator)
    else:
        new = new.with_changes(whitespace_after_arg=end)
        last = last.with_changes(comma=separator, whitespace_after_arg=no_space)
    return [*args[:-1], last, new]


def _argument_indent(
    call: cst.Call, args: list[cst.Arg], closing: cst.ParenthesizedWhitespace
) -> cst.SimpleWhitespace:
    """The indentation the call's arguments already use on their own lines."""
    candidates: list[cst.BaseParenthesizableWhitespace] = [call.whitespace_before_args]
    if len(args) >= 2 and isinstance(args[-2].comma, cst.Comma):
        candidates.insert(0, args[-2].comma.whitespace_after)
    for candidate in candidates:
        if isinstance(candidate, cst.ParenthesizedWhitespace):
            return candidate.last_line
    return closing.last_line


def _must_compile(source: str) -> None:
    """Raise unless Python compiles the text.

    Compiling, not just `ast.parse`: a rename can repeat a keyword, `f(b=1, b=2)`, which only the
    compiler refuses.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid escape sequences are not ours to report
        compile(source, "<fix>", "exec", dont_inherit=True)


@lru_cache(maxsize=256)
def _parse_expression(text: str) -> cst.BaseExpression:
    return cst.parse_expression(text)


def _fix_message(callee: str, keywords: Mapping[str, cst.BaseExpression]) -> str:
    extra = "".join(f", {k}={cst.Module([]).code_for_node(v)}" for k, v in keywords.items())
    return f"Use {callee}(...{extra})"


def build(env: CheckEnv) -> PolicyCheck:
    """The check for one run (checks/registry.py), declaring the active packs' policy codes."""
    return PolicyCheck(codes=[p.code for pack in env.packs.values() for p in pack.manifest.policies])
