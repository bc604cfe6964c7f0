"""The policy check: a pack's rules on calls, matched by qualified name, with semantic context and fixes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import libcst as cst
import numpy as np

from remora_review.checks.base import CheckResult, FileContext
from remora_review.checks.policies.calls import DEFAULT_FACTORIES, CallSite, FileFacts
from remora_review.checks.policies.conditions import (
    imported_modules,
    imports_satisfied,
    may_call,
    path_matches,
)
from remora_review.checks.policies.context import render_context
from remora_review.checks.policies.rewrite import (
    fix_message,
    must_compile,
    parse_expression,
    plan_callee,
    rewrite_call,
)
from remora_review.findings import Edit, Finding, Fix, Severity
from remora_review.fixes import apply_edits, edits_between
from remora_review.packs.manifest import Policy

if TYPE_CHECKING:
    from remora_review.checks.registry import CheckEnv
    from remora_review.packs.loader import LoadedPack
    from remora_review.retrieval.base import Embedder


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
            if path_matches(ctx.path, policy.paths) and may_call(ctx.source, policy)
        ]
        if rules and any(p.requires_imports for _, p in rules):
            imported = imported_modules(ctx.source)
            rules = [(k, p) for k, p in rules if imports_satisfied(p.requires_imports, imported)]
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
        facts = FileFacts(ctx, self._factories)
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
        self, ctx: FileContext, facts: FileFacts, match: _Match, similarity: float, notes: _Notes
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
            # A generated fix is written later, by the code model (generate/fixing.py).
            fix=None if match.policy.fix == "generate" else self._fix(ctx, facts, match, notes),
            data={
                "callee": match.callee,
                "policy": match.policy.code,
                "context_similarity": similarity,
            },
        )

    def _fix(self, ctx: FileContext, facts: FileFacts, match: _Match,
             notes: _Notes) -> Fix | None:
        """Edits for this call and the import it needs, checked to parse; None when not safe."""
        policy, call = match.policy, match.site.call
        keywords = self._parsed_keywords(policy, notes)
        if keywords is None:
            return None
        callee: cst.BaseExpression = call.func
        import_edits: tuple[Edit, ...] = ()
        if policy.replace_with:
            plan = plan_callee(policy.replace_with, facts.scopes.get(call), facts.global_scope)
            if plan is None:
                notes.add(
                    f"policies: {policy.code}: no fix in {ctx.path}, the names needed for "
                    f"{policy.replace_with} are bound to something else there"
                )
                return None
            callee = cst.parse_expression(plan.expression)
            if plan.import_ is not None:
                import_edits = facts.import_edits(plan.import_)
        new_call = rewrite_call(call, callee, keywords, policy.rename_keywords)
        try:
            new_source = facts.replace_in_statement(match.site.statement, call, new_call)
            edits = tuple(sorted((*import_edits, *edits_between(ctx.source, new_source))))
            must_compile(apply_edits(ctx.source, edits))
        except (ValueError, SyntaxError, cst.ParserSyntaxError):  # EditError is a ValueError
            return None
        return Fix(message=fix_message(ctx.module.code_for_node(callee), keywords), edits=edits)

    def _already_compliant(self, policy: Policy, call: cst.Call, notes: _Notes) -> bool:
        """A keyword-only policy (`timeout=10`) holds where the call already says so."""
        if policy.replace_with or not (policy.set_keywords or policy.rename_keywords):
            return False
        keywords = self._parsed_keywords(policy, notes)
        if keywords is None:
            return False
        return rewrite_call(call, call.func, keywords, policy.rename_keywords).deep_equals(call)

    def _parsed_keywords(self, policy: Policy, notes: _Notes) -> dict[str, cst.BaseExpression] | None:
        out: dict[str, cst.BaseExpression] = {}
        for name, text in policy.set_keywords.items():
            try:
                out[name] = parse_expression(text)
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
class _Match:
    pack: LoadedPack
    policy: Policy
    site: CallSite
    callee: str



def build(env: CheckEnv) -> PolicyCheck:
    """The check for one run (checks/registry.py), declaring the active packs' policy codes."""
    return PolicyCheck(codes=[p.code for pack in env.packs.values() for p in pack.manifest.policies])
