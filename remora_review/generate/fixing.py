"""Generated fixes for one file: the findings that want one, their regions, one batch of requests
to the configured generator (each through its pack's adapter), and the gate (validate.py).

A rewrite that fails the gate is dropped with a note naming why; the others are kept. Kept ones
are ordinary fixes on their findings, so `--fix`, `--diff-output` and the PR review's
suggestions take them like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from remora_review.findings import Finding, Fix
from remora_review.generate.base import Generation, GenerationRequest, Generator
from remora_review.generate.prompt import STOP, Answer, Example, build_prompt, read_answer
from remora_review.generate.wanted import Wanted, wanted_fixes

if TYPE_CHECKING:
    from remora_review.checks.base import Retrieval
    from remora_review.checks.import_style import ImportStyle
    from remora_review.config import Generator as GeneratorSettings
    from remora_review.generate.region import Region
    from remora_review.packs.loader import LoadedPack

# The file's findings as they would be for a text, with these lines in scope (None: all).
CheckText = Callable[[str, frozenset[int] | None], Sequence[Finding]]


@dataclass(frozen=True)
class FileFixes:
    findings: tuple[Finding, ...]  # the file's findings, generated fixes attached
    notes: tuple[str, ...]


@dataclass(frozen=True)
class FixJob:
    region: Region
    wanted: tuple[Wanted, ...]
    request: GenerationRequest


def plan_requests(path: str, source: str, wanted: Sequence[Wanted], settings: GeneratorSettings,
                  retrieval: Retrieval | None) -> tuple[list[FixJob], list[str]]:
    """One request per region (the findings in it together), and notes for findings in none.

    Public so that an adapter can be trained on exactly the prompts a review asks with."""
    import libcst as cst

    from remora_review.generate.region import regions_for

    regions = regions_for(cst.parse_module(source), [w.finding.line for w in wanted])
    source_lines = source.splitlines(keepends=True)
    grouped: dict[Region, list[Wanted]] = {}
    notes: list[str] = []
    for w, region in zip(wanted, regions):
        if region is not None:
            grouped.setdefault(region, []).append(w)
        else:
            notes.append(f"{path}:{w.finding.line}: no fix generated for {w.finding.code}: "
                         "it is in no statement")
    jobs = [_job(region, tuple(group), source_lines, settings, retrieval)
            for region, group in grouped.items()]
    return jobs, notes


def _job(region: Region, wanted: tuple[Wanted, ...], source_lines: list[str],
         settings: GeneratorSettings, retrieval: Retrieval | None) -> FixJob:
    pack = wanted[0].pack
    code = region.text(source_lines)
    hints = [w.hint for w in wanted]
    problems = [f"line {w.finding.line - region.start_line + 1}: {w.finding.message}"
                for w in wanted]
    examples = [Example(e.before, e.after) for w in wanted for e in w.examples]
    library = pack.manifest.library
    label = f"{library.name} {library.built_from}".strip()
    context = _context(retrieval, pack, " ".join(hints) + "\n" + code, settings.context_documents)
    prompt = build_prompt(label, hints, problems, list(dict.fromkeys(examples)), context, code)
    return FixJob(region, wanted, GenerationRequest(
        prompt, adapter=pack.name if pack.lora_path is not None else None,
        max_tokens=answer_budget(code, settings.max_tokens), stop=STOP,
    ))


def answer_budget(code: str, most: int) -> int:
    """Tokens a rewrite of `code` may take: about half a token per character of the region (code
    runs 3-4 characters a token, so room for half again as long) plus room for imports, at most
    `most`. A small model that falls into repeating a line stops there, not at `max-tokens`."""
    return min(most, len(code) // 2 + 64)


def _context(retrieval: Retrieval | None, pack: LoadedPack, query: str, k: int) -> list[str]:
    """The pack's API documents nearest the hint and the code (none without the embedding model)."""
    if retrieval is None or k == 0:
        return []
    vector = retrieval.embedder_for(pack).embed([query], "query")
    hits = retrieval.index().search(vector, k, packs=[pack.name], kinds=["api"])
    return [h.document.text for h in hits[0]] if hits else []


@dataclass
class GeneratedFixes:
    """Writes the fixes the packs ask the code model for; the generator is opened on first use
    and shared by every file of the run (close() when the run ends)."""

    settings: GeneratorSettings
    packs: Mapping[str, LoadedPack]
    retrieval: Retrieval | None
    open_generator: Callable[[], Generator] | None = None  # default: from the settings
    import_style: ImportStyle | None = None  # where isort puts an import (the project's settings)
    _generator: Generator | None = field(default=None, repr=False)

    def generator(self) -> Generator:
        if self._generator is None:
            if self.open_generator is not None:
                self._generator = self.open_generator()
            else:
                from remora_review.generate.factory import open_generator, pack_adapters

                self._generator = open_generator(self.settings, pack_adapters(self.packs))
        return self._generator

    def close(self) -> None:
        if self._generator is not None:
            self._generator.close()
            self._generator = None

    def fix(self, path: str, source: str, changed: frozenset[int] | None,
            findings: Sequence[Finding], check: CheckText) -> FileFixes:
        wanted = wanted_fixes(findings, self.packs)
        if not wanted:
            return FileFixes(tuple(findings), ())
        jobs, notes = plan_requests(path, source, wanted, self.settings, self.retrieval)
        generations = self.generator().generate([j.request for j in jobs])
        scope = None if changed is None else changed.union(
            *(frozenset(j.region.lines()) for j in jobs))
        before = check(source, scope)
        fixes: dict[int, Fix] = {}
        for job, generation in zip(jobs, generations):
            outcome = self._validated(path, source, job, generation, before, check, scope)
            if isinstance(outcome, Fix):
                fixes.update((id(w.finding), outcome) for w in job.wanted)
            else:
                notes.append(outcome)
        out = tuple(
            replace(f, fix=fixes[id(f)], data={**f.data, "fix_generated": True})
            if id(f) in fixes else f for f in findings
        )
        return FileFixes(out, tuple(notes))

    def _validated(self, path: str, source: str, job: FixJob, generation: Generation,
                   before: Sequence[Finding], check: CheckText,
                   scope: frozenset[int] | None) -> Fix | str:
        from remora_review.fixes import edits_between
        from remora_review.generate.validate import Rejected, apply_answer, gate

        codes = ", ".join(dict.fromkeys(w.finding.code for w in job.wanted))
        where = f"{path}:{job.wanted[0].finding.line}"
        answer = read_answer(generation.text)
        if not isinstance(answer, Answer):
            return f"{where}: generated fix for {codes} dropped: {answer}"
        new = apply_answer(source, job.region, answer, self.import_style)
        if isinstance(new, Rejected):
            return f"{where}: generated fix for {codes} dropped: {new.reason}"
        tables = [p.api_table for p in self.packs.values() if p.kind == "library"]
        rejected = gate(source, new, job.region, answer, [w.finding for w in job.wanted], before,
                        check, tables, scope)
        if rejected is not None:
            return f"{where}: generated fix for {codes} dropped: {rejected.reason}"
        model = Path(self.settings.model).name or self.settings.model
        adapter = job.request.adapter
        by = f"{adapter}'s adapter on {model}" if adapter else model
        return Fix(f"rewrite generated by {by}, validated by the checks", edits_between(source, new))
