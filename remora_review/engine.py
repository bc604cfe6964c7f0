"""Run the checks over one file's source: findings, filtered and suppressed; fixes applied in rounds.

A file's outcome never raises: a check that breaks becomes a note and the other checks still
run; a strict runtime (the tests') re-raises instead, so a broken check cannot pass for a quiet one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from remora_review.checks.syntax import error_finding, syntax_error
from remora_review.checks.trees import SharedTrees
from remora_review.findings import Finding
from remora_review.suppression import parse_suppressions

if TYPE_CHECKING:
    from remora_review.checks.base import Check, Retrieval
    from remora_review.config_file import PreSettings
    from remora_review.generate.fixing import GeneratedFixes
    from remora_review.packs.loader import LoadedPack

MAX_FIX_ROUNDS = 4


@dataclass(frozen=True)
class FileJob:
    path: str  # relative to the repository root
    source: str
    changed_lines: frozenset[int] | None  # None: the whole file is in scope
    packs: tuple[str, ...]  # names of the packs this file activates


@dataclass(frozen=True)
class Runtime:
    """What every file of one run shares."""

    settings: PreSettings  # Settings (validated) whenever packs are
    packs: Mapping[str, LoadedPack]
    checks: tuple[Check, ...]
    retrieval: Retrieval | None
    strict: bool = False  # a check that raises fails the run instead of becoming a note
    generated: GeneratedFixes | None = None  # the code model's fixes; None: no generator configured
    trees: SharedTrees = field(default_factory=SharedTrees)  # the libcst trees its readers share


@dataclass(frozen=True)
class FileOutcome:
    path: str
    findings: tuple[Finding, ...]
    notes: tuple[str, ...] = ()
    fixed_source: str | None = None  # set when fixes changed the file
    fixes_applied: int = 0


def _in_scope(finding: Finding, changed: frozenset[int] | None) -> bool:
    if changed is None:
        return True
    start, end = finding.related_lines
    lo, hi = min(start, finding.line), max(end, finding.end_line)
    return any(line in changed for line in range(lo, hi + 1))


def _runs(check: Check, job: FileJob, settings: PreSettings) -> bool:
    """Whether a check runs on this file: a pack check only where a pack is active, and only while
    --select / --ignore leave one of its codes on (a check that declares none is never skipped)."""
    if check.needs_packs and not job.packs:
        return False
    return not check.codes or any(settings.code_enabled(code) for code in check.codes)


def check_source(job: FileJob, runtime: Runtime) -> FileOutcome:
    """Findings for one file as it is now: syntax first, then the checks that apply to it. A file
    that activates no pack and no check runs on is not even parsed: the hook must cost what
    Python's start-up does there (no_pack.py), and a syntax error in it is Python's, ruff's and
    pre-commit's check-ast's to report."""
    checks = [c for c in runtime.checks if _runs(c, job, runtime.settings)]
    if not checks and not job.packs:
        return FileOutcome(job.path, ())
    error = runtime.trees.facts(job.source).error
    if error is not None:
        found = error_finding(job.path, error)
        return FileOutcome(job.path, (found,) if runtime.settings.code_enabled(found.code) else ())
    if not checks:  # --select / --ignore left none on: no libcst either
        return FileOutcome(job.path, ())
    from remora_review.checks.base import FileContext
    from remora_review.config_file import validated
    from remora_review.pysource.slicing import slice_source

    # Checks see the changed functions and everything around them at their own line numbers;
    # their edits therefore apply to the original text as they are.
    ctx = FileContext(
        path=job.path, source=slice_source(job.source, job.changed_lines, runtime.trees.syntax),
        changed_lines=job.changed_lines, packs=tuple(runtime.packs[name] for name in job.packs),
        retrieval=runtime.retrieval, settings=validated(runtime.settings),
        trees=runtime.trees,
    )
    if any(c.needs_packs for c in checks):  # pack checks work on the libcst tree
        import libcst as cst  # only files that activate a pack pay for libcst

        try:
            # Parsed here, once, so a failure skips the file plainly: the folded text the pack
            # checks analyse (the slice itself only where folding changed nothing or a check
            # reads its text through `ctx.module`).
            ctx.analysed  # noqa: B018
        except cst.ParserSyntaxError as e:  # Python accepts it, libcst does not (rare, new syntax)
            return FileOutcome(job.path, (), (f"{job.path}: skipped, libcst cannot parse it: {e}",))
    findings: list[Finding] = []
    notes: list[str] = []
    for check in checks:
        try:
            result = check.run(ctx)
        except Exception as e:
            if runtime.strict:
                raise
            notes.append(f"{job.path}: check {check.name} failed: {type(e).__name__}: {e}")
            continue
        findings.extend(result.findings)
        notes.extend(result.notes)
    suppressions = parse_suppressions(job.source)
    kept = tuple(
        f for f in findings
        if runtime.settings.code_enabled(f.code)
        and _in_scope(f, job.changed_lines)
        and not suppressions.suppresses(f)
    )
    return FileOutcome(job.path, _sorted(kept), tuple(notes))


def check_file(job: FileJob, runtime: Runtime) -> FileOutcome:
    """check_source, then the fixes the code model writes for findings a pack asks it to fix
    (each validated by re-running check_source on its result; a failing one is dropped with a
    note, the others kept)."""
    outcome = check_source(job, runtime)
    if not outcome.findings or not runtime.packs:
        return outcome
    if runtime.generated is None:
        from remora_review.generate.wanted import wanted_fixes

        codes = dict.fromkeys(w.finding.code for w in wanted_fixes(outcome.findings, runtime.packs))
        if not codes:
            return outcome
        return replace(outcome, notes=(*outcome.notes, (
            f"no generator is configured, so {', '.join(codes)} got no generated fix; enable it "
            "with [tool.remora-review.generator] and `pip install 'remora-review[generate]'`")))

    def check(text: str, lines: frozenset[int] | None) -> Sequence[Finding]:
        return check_source(replace(job, source=text, changed_lines=lines), runtime).findings

    from remora_review.errors import UserError

    try:
        fixed = runtime.generated.fix(job.path, job.source, job.changed_lines, outcome.findings,
                                      check)
    except UserError:
        raise  # the generator's configuration: the user must correct it
    except Exception as e:
        if runtime.strict:
            raise
        return replace(outcome, notes=(
            *outcome.notes, f"{job.path}: generated fixes failed: {type(e).__name__}: {e}"))
    return replace(outcome, findings=fixed.findings, notes=outcome.notes + fixed.notes)


def _sorted(findings: Sequence[Finding]) -> tuple[Finding, ...]:
    return tuple(sorted(findings, key=lambda f: (f.line, f.col, f.code, f.message)))


def remap_lines(changed: frozenset[int] | None, old: str, new: str) -> frozenset[int] | None:
    """Carry a set of changed line numbers across an edit; lines the edit wrote count as changed."""
    if changed is None:
        return None
    import difflib  # only fix rounds need it, never the no-pack path

    matcher = difflib.SequenceMatcher(a=old.splitlines(), b=new.splitlines(), autojunk=False)
    out: set[int] = set()
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out.update(j1 + (line - 1 - i1) + 1 for line in changed if i1 < line <= i2)
        else:
            out.update(range(j1 + 1, j2 + 1))
    return frozenset(out)


def _parses(source: str) -> bool:
    return syntax_error("<fix>", source) is None


def fix_source(job: FileJob, runtime: Runtime) -> FileOutcome:
    """Apply fixes in rounds until none is left; every round's result must parse.

    Fixes that conflict within a round wait for the next; the findings returned are those that
    remain after the last round, so a second `--fix` finds nothing left to do.
    """
    from remora_review.fixes import merge_fixes

    current = job
    applied_total = 0
    outcome = check_file(current, runtime)  # generated fixes are asked for once, here
    notes: list[str] = list(outcome.notes)  # a dropped generated fix says so even when others apply
    for _ in range(MAX_FIX_ROUNDS):
        fixable = [f for f in outcome.findings if f.fix is not None]
        if not fixable:
            break
        new_source, applied = merge_fixes(current.source, [f.fix for f in fixable if f.fix])
        if not applied or new_source == current.source:
            break
        if not _parses(new_source):
            notes.append(f"{job.path}: dropped fixes that would not parse")
            break
        applied_total += len(applied)
        current = replace(
            current, source=new_source,
            changed_lines=remap_lines(current.changed_lines, current.source, new_source),
        )
        outcome = check_source(current, runtime)
        notes.extend(outcome.notes)
    return FileOutcome(
        job.path, outcome.findings, tuple(dict.fromkeys(notes)),
        fixed_source=current.source if current.source != job.source else None,
        fixes_applied=applied_total,
    )
