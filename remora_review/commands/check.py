"""`remora-review check`: what changed → which packs → checks → fixes and output."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from remora_review.activation import PackTrigger, activations
from remora_review.config import Settings, load_settings
from remora_review.engine import FileJob, FileOutcome, Runtime, check_source, fix_source
from remora_review.errors import UserError

if TYPE_CHECKING:
    from remora_review.changes import ChangedFile, ChangeSet
    from remora_review.packs.discovery import PackRef
    from remora_review.packs.loader import LoadedPack
    from remora_review.project.index import ProjectIndex
    from remora_review.sources import SourceFile

FORMATS = ("text", "json", "sarif", "github")
FILTER_MODES = ("added", "diff_context", "file")


def _codes(value: str) -> tuple[str, ...]:
    return tuple(c.strip().upper() for c in value.split(",") if c.strip())


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="review changed Python files (pre-commit mode by default)")
    p.add_argument("files", nargs="*", help="files pre-commit passes; default: every staged file")
    scope = p.add_mutually_exclusive_group()
    scope.add_argument("--diff", metavar="BASE[..HEAD]", help="review a range instead of the index")
    scope.add_argument("--all", action="store_true", help="review every tracked file, every line")
    p.add_argument("--fix", action="store_true", help="apply fixes to the files in place")
    p.add_argument("--diff-output", action="store_true",
                   help="print fixes as a unified diff; write nothing")
    p.add_argument("--output-format", choices=FORMATS, default="text")
    p.add_argument("--select", type=_codes, help="only these codes (prefixes), comma-separated")
    p.add_argument("--ignore", type=_codes, help="skip these codes (prefixes), comma-separated")
    p.add_argument("--filter-mode", choices=FILTER_MODES,
                   help="report on added lines, whole diff hunks, or whole changed files")
    p.add_argument("--config", type=Path, default=argparse.SUPPRESS)
    p.add_argument("--verbose", "-v", action="store_true", default=argparse.SUPPRESS)
    p.set_defaults(handler=run)


def _settings(args: argparse.Namespace, root: Path) -> Settings:
    settings = load_settings(args.config, root)
    overrides: dict[str, object] = {}
    if args.select is not None:
        overrides["select"] = args.select
    if args.ignore is not None:
        overrides["ignore"] = args.ignore
    if args.filter_mode is not None:
        overrides["filter_mode"] = args.filter_mode
    return settings.model_copy(update=overrides) if overrides else settings


def _changeset(args: argparse.Namespace, root: Path, environ: Mapping[str, str]) -> ChangeSet:
    from remora_review import changes

    paths = [_relative(root, f) for f in args.files] if args.files else None
    if args.all:
        return changes.all_files(root)
    if args.diff:
        return changes.range_changes(root, args.diff)
    # pre-commit's pre-push stage passes the pushed range in the environment.
    from_ref, to_ref = environ.get("PRE_COMMIT_FROM_REF"), environ.get("PRE_COMMIT_TO_REF")
    if from_ref and to_ref:
        ranged = changes.range_changes(root, f"{from_ref}..{to_ref}")
        return changes.restrict(ranged, paths) if paths else ranged
    return changes.staged_changes(root, paths)


def _relative(root: Path, name: str) -> str:
    path = Path(name)
    absolute = path if path.is_absolute() else (Path.cwd() / path)
    try:
        return absolute.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        raise UserError(f"{name} is outside the repository {root}") from None


def _changed_lines(changed: ChangedFile, mode: str) -> frozenset[int] | None:
    if changed.whole_file or mode == "file":
        return None
    return changed.hunk_lines if mode == "diff_context" else changed.added_lines


def _triggers(settings: Settings, root: Path,
              note: Callable[[str], None]) -> list[tuple[PackTrigger, PackRef]]:
    from remora_review.packs.discovery import discover_packs

    # A broken pack is named once and left out; it must not block every commit.
    refs = discover_packs(settings, root, os.environ,
                          on_problem=lambda message: note(f"pack skipped: {message}"))
    known = {r.name for r in refs}
    missing = [name for name in settings.packs if name not in known]
    if missing:
        raise UserError(f"pack {missing[0]!r} is listed in [tool.remora-review] packs but is not "
                        "installed (see `remora-review pack list`)")
    return [(PackTrigger(r.name, r.kind, tuple(r.activate_on)), r) for r in refs]


def _activations(root: Path, at: str | None, sources: Sequence[SourceFile],
                 triggers: Sequence[PackTrigger], settings: Settings) -> list[tuple[str, ...]]:
    """The packs each file activates; with `follow-imports`, the project modules it imports are
    read as of `at`, like the files, in one git query for all."""
    def read(paths: set[str]) -> Mapping[str, str]:
        from remora_review.sources import read_existing

        return read_existing(root, paths, settings.max_file_size, at=at)

    return activations([(s.path, s.text) for s in sources], triggers, settings.packs,
                       read if settings.follow_imports else None)


def _load_packs(refs: Sequence[PackRef], names: set[str]) -> dict[str, LoadedPack]:
    from remora_review.packs.loader import load_pack

    return {r.name: load_pack(r.path, origin=r.origin) for r in refs if r.name in names}


def _project_loader(root: Path, at: str | None,
                    note: Callable[[str], None]) -> Callable[[], ProjectIndex]:
    """The project's declarations, read once and only if a check asks (cached under .git)."""
    from functools import cache

    from remora_review.changes import run_git
    from remora_review.project.scan import load_project_index

    @cache
    def load() -> ProjectIndex:
        _, out, _ = run_git(root, "rev-parse", "--git-path", "remora-review")
        cache_dir = root / out.decode("utf-8", "surrogateescape").strip()
        return load_project_index(root, at, cache_dir, note)

    return load


def _build_runtime(settings: Settings, packs: Mapping[str, LoadedPack], root: Path,
                   at: str | None, note: Callable[[str], None]) -> Runtime:
    from remora_review.checks.policies import PolicyCheck
    from remora_review.checks.typehints import InfererCache, TypeHintCheck
    from remora_review.generate.factory import skipped_note
    from remora_review.retrieval.runtime import PackRetrieval

    retrieval = None
    if importlib.util.find_spec("sentence_transformers") is None:
        note("the embedding model is not installed, so type hints use structure and names only "
             "and policies with a semantic context were skipped; enable them with "
             "`pip install 'remora-review[embed]'` (pre-commit: additional_dependencies)")
    else:
        retrieval = PackRetrieval(list(packs.values()), settings, os.environ, note)
    if (skipped := skipped_note(settings.generator, packs)) is not None:
        note(skipped)
    inferers = InfererCache(retrieval, top_k=settings.typehints.top_k)
    checks = (TypeHintCheck(inferers, root, _project_loader(root, at, note)), PolicyCheck())
    return Runtime(settings, packs, checks, retrieval)


@dataclass(frozen=True)
class _Planned:
    job: FileJob
    source: SourceFile
    fix: bool  # False for a file with unstaged work: it is reviewed, never rewritten


def _read_files(root: Path, changeset: ChangeSet, settings: Settings, fix: bool,
                note: Callable[[str], None]) -> list[tuple[ChangedFile, SourceFile, bool]]:
    from remora_review import changes
    from remora_review.sources import SourceFile, read_source

    # A fix must never overwrite work the user has not staged.
    unstaged = changes.unstaged_paths(root) if fix and changeset.source_rev == ":" else frozenset()
    out = []
    for changed in changes.python_files(changeset):
        source = read_source(root, changed.path, settings.max_file_size, at=changeset.source_rev)
        if not isinstance(source, SourceFile):
            note(f"{source.path}: skipped, {source.reason}")
            continue
        if changed.path in unstaged:
            note(f"{changed.path}: not fixed, it has unstaged changes (stage or stash them)")
        out.append((changed, source, fix and changed.path not in unstaged))
    return out


def run(args: argparse.Namespace) -> int:
    from remora_review import changes
    from remora_review.output import FORMATTERS, Report

    args.config = getattr(args, "config", None)
    root = changes.repo_root(Path.cwd())
    settings = _settings(args, root)
    notes: list[str] = []
    wants_fix = args.fix or args.diff_output
    changeset = _changeset(args, root, os.environ)
    files = _read_files(root, changeset, settings, wants_fix, notes.append)

    found = _triggers(settings, root, notes.append) if files else []
    triggers = [t for t, _ in found]
    activations = _activations(root, changeset.source_rev, [s for _, s, _ in files], triggers,
                               settings)
    planned = [
        _Planned(FileJob(changed.path, source.text, _changed_lines(changed, settings.filter_mode),
                         packs), source, fix)
        for (changed, source, fix), packs in zip(files, activations)
    ]
    wanted = {name for p in planned for name in p.job.packs}
    if wanted:
        packs = _load_packs([r for _, r in found], wanted)
        runtime = _build_runtime(settings, packs, root, changeset.source_rev, notes.append)
    else:  # the fast path: no pack, so no libcst, numpy or torch
        runtime = Runtime(settings, {}, (), None)

    outcomes = [fix_source(p.job, runtime) if p.fix else check_source(p.job, runtime)
                for p in planned]
    notes.extend(n for o in outcomes for n in o.notes)
    for line in dict.fromkeys(notes):  # each note once, on stderr, so stdout stays parseable
        print(f"remora-review: {line}", file=sys.stderr)
    sources = {p.job.path: p.source for p in planned}
    rewritten = _write_fixes(root, outcomes, sources, args.diff_output)
    if args.diff_output:  # like `ruff --diff`: the diff is the whole output
        return 1 if rewritten else 0

    findings = tuple(f for o in outcomes for f in o.findings)
    texts = {o.path: o.fixed_source or sources[o.path].text for o in outcomes}
    report = Report(
        findings=findings,
        fingerprints=tuple(f.fingerprint(_line(texts[f.path], f.line)) for f in findings),
        notes=tuple(notes),
        fixed=sum(o.fixes_applied for o in outcomes if o.fixed_source is not None),
        files_checked=len(planned),
    )
    sys.stdout.write(FORMATTERS[args.output_format](report))
    if getattr(args, "verbose", False):
        used = ", ".join(sorted(runtime.packs)) or "none"
        print(f"remora-review: {len(planned)} files, packs: {used}", file=sys.stderr)
    return 1 if findings or rewritten else 0


def _line(text: str, number: int) -> str:
    lines = text.splitlines()
    return lines[number - 1] if 0 < number <= len(lines) else ""


def _write_fixes(root: Path, outcomes: Sequence[FileOutcome],
                 originals: Mapping[str, SourceFile], diff_only: bool) -> int:
    from remora_review.fixes import unified_diff, write_atomic

    changed = 0
    for outcome in outcomes:
        if outcome.fixed_source is None:
            continue
        source = originals[outcome.path]
        if diff_only:
            sys.stdout.write(unified_diff(outcome.path, source.text, outcome.fixed_source))
        else:
            write_atomic(root / outcome.path, outcome.fixed_source, source.newline,
                         bom=source.bom)
        changed += 1
    return changed
