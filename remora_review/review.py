"""review(): what changed → files → packs → checks → a Review value; every entry point shares it.

The `check` command and the GitHub review are edges around this function: they build the
ChangeSet and the Settings, then write fixes, print or post what the Review holds.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from remora_review import git
from remora_review.activation import PackTrigger, activations
from remora_review.changes import ChangedFile, ChangeSet, python_files, unstaged_paths
from remora_review.checks import registry
from remora_review.config_file import PreSettings, validated
from remora_review.engine import FileJob, Runtime, check_file, fix_source
from remora_review.errors import UserError
from remora_review.findings import Finding
from remora_review.sources import Skipped, SourceFile, read_existing, read_source

if TYPE_CHECKING:
    from remora_review.checks.base import Retrieval
    from remora_review.config import Generator as GeneratorSettings
    from remora_review.config import Settings
    from remora_review.generate.base import Generator
    from remora_review.packs.discovery import PackRef
    from remora_review.packs.loader import LoadedPack
    from remora_review.project.index import ProjectIndex

Note = Callable[[str], None]

NO_EMBEDDING_NOTE = (
    "the embedding model is not installed, so type hints use structure and names only and "
    "policies with a semantic context were skipped; enable them with "
    "`pip install 'remora-review[embed]'` (pre-commit: additional_dependencies)")


@dataclass(frozen=True)
class Reviewed:
    """A finding with its fingerprint (stable across unrelated edits, for de-duplication)."""

    finding: Finding
    fingerprint: str


@dataclass(frozen=True)
class Checked:
    """A file the checks ran on."""

    path: str
    source: SourceFile  # the text reviewed, as the change has it (index, commit or working tree)
    packs: tuple[str, ...]  # the packs it activated
    findings: tuple[Reviewed, ...]  # after fixes, when fixes were asked for
    fixed_source: str | None = None  # the text with fixes applied; None when nothing changed
    fixes_applied: int = 0
    fixable: bool = True  # False: it has unstaged work, so it is reviewed but never fixed


# A file's outcome: checked, or skipped with the reason (binary, too big, not UTF-8...).
FileReview = Checked | Skipped


@dataclass(frozen=True)
class Review:
    """What one review found: per-file outcomes in the change's order, and the run's notes."""

    changes: ChangeSet
    files: tuple[FileReview, ...]
    notes: tuple[str, ...]  # each once, in the order they arose; for stderr or a summary
    packs: tuple[str, ...]  # the packs loaded for this run, sorted

    @property
    def checked(self) -> tuple[Checked, ...]:
        return tuple(f for f in self.files if isinstance(f, Checked))

    @property
    def findings(self) -> tuple[Reviewed, ...]:
        return tuple(r for f in self.checked for r in f.findings)

    @property
    def fixed(self) -> tuple[Checked, ...]:
        """The files whose fixes changed their text."""
        return tuple(f for f in self.checked if f.fixed_source is not None)


def _discover(settings: PreSettings, root: Path, environ: Mapping[str, str],
              note: Note) -> Sequence[PackRef]:
    from remora_review.packs.discovery import discover_packs

    # A broken pack is named once and left out; it must not block every commit.
    return discover_packs(settings, root, environ,
                          on_problem=lambda message: note(f"pack skipped: {message}"))


def _load(refs: Sequence[PackRef]) -> Mapping[str, LoadedPack]:
    from remora_review.packs.loader import load_pack

    return {r.name: load_pack(r.path, origin=r.origin) for r in refs}


def _retrieval(packs: Sequence[LoadedPack], settings: Settings, environ: Mapping[str, str],
               note: Note) -> Retrieval | None:
    if importlib.util.find_spec("sentence_transformers") is None:
        note(NO_EMBEDDING_NOTE)
        return None
    from remora_review.retrieval.runtime import PackRetrieval

    return PackRetrieval(list(packs), settings, environ, note)


def _project(root: Path, at: str | None, note: Note,
             blobs: git.Blobs) -> Callable[[], ProjectIndex]:
    """The project's declarations, read once and only if a check asks (cached under .git, one cache
    for all worktrees: entries are keyed by path and blob id), through
    the run's blob reader."""
    from functools import cache

    from remora_review.project.scan import load_project_index

    @cache
    def load() -> ProjectIndex:
        return load_project_index(root, at, git.common_path(root, "remora-review"), note, blobs)

    return load


@dataclass(frozen=True)
class Backends:
    """What a run shares and a caller may replace: where packs come from and how they load, the
    embedding side, the project's declarations, the checks. Each is called at most once per
    review, and only when a check needs it, so the defaults' heavy imports stay off the path
    where no pack is active."""

    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    discover: Callable[[PreSettings, Path, Mapping[str, str], Note], Sequence[PackRef]] = _discover
    load: Callable[[Sequence[PackRef]], Mapping[str, LoadedPack]] = _load
    retrieval: Callable[[Sequence[LoadedPack], Settings, Mapping[str, str], Note],
                        Retrieval | None] = _retrieval
    project: Callable[[Path, str | None, Note, git.Blobs],
                      Callable[[], ProjectIndex]] = _project
    checks: tuple[registry.Registered, ...] = registry.CHECKS  # checks/registry.py
    strict: bool = False  # a check that raises fails the review instead of becoming a note
    # Where a review that needs packs may run instead (the hook: the warm server, through
    # review_client.review_in_server); None from it, or no delegate, runs it here.
    delegate: Delegate | None = None
    # Opens the code model for the activated packs, on the run's first generated fix; the run
    # closes what it returns at its end. None: generate/factory.py opens a fresh one. The warm
    # server returns one it keeps (server_review.py), whose close() leaves it loaded.
    generator: Callable[[GeneratorSettings, Mapping[str, LoadedPack]], Generator] | None = None


# (root, changes, settings, fix, backends, note) -> the Review, or None to run it here.
Delegate = Callable[[Path, ChangeSet, PreSettings, bool, Backends, Note], "Review | None"]


def changed_lines(changed: ChangedFile, mode: str) -> frozenset[int] | None:
    """The lines findings are reported on under a filter mode; None: the whole file."""
    if changed.whole_file or mode == "file":
        return None
    return changed.hunk_lines if mode == "diff_context" else changed.added_lines


def fingerprint(finding: Finding, text: str) -> str:
    """The finding's fingerprint against the text it was reported on (see Finding.fingerprint)."""
    return finding.fingerprint(text)


def _read(root: Path, changes: ChangeSet, settings: PreSettings, fix: bool, note: Note,
          blobs: git.Blobs) -> list[tuple[ChangedFile, SourceFile | Skipped, bool]]:
    """Each Python file of the change: its text (or why not), and whether fixes may be written."""
    # A fix must never overwrite work the user has not staged.
    unstaged = unstaged_paths(root) if fix and changes.source_rev == ":" else frozenset()
    out: list[tuple[ChangedFile, SourceFile | Skipped, bool]] = []
    for changed in python_files(changes):
        if excluded(changed.path, settings.exclude):
            continue
        # The diff reported the new side's blob: it is read by id, without another lookup.
        entry = (git.TreeEntry(changed.path, changed.mode, changed.object_id, "0")
                 if changed.object_id and changed.mode else None)
        source = read_source(root, changed.path, settings.max_file_size, at=changes.source_rev,
                             blobs=blobs, entry=entry)
        if not isinstance(source, SourceFile):
            note(f"{source.path}: skipped, {source.reason}")
        elif changed.path in unstaged:
            note(f"{changed.path}: not fixed, it has unstaged changes (stage or stash them)")
        out.append((changed, source, changed.path not in unstaged))
    return out


def excluded(path: str, patterns: Sequence[str]) -> bool:
    """Whether `exclude` leaves a file out: a pattern matches the whole relative path
    (`migrations/*.py`, `**/generated/*`) or one of its leading directories (`migrations`)."""
    from fnmatch import fnmatchcase

    parts = path.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    return any(fnmatchcase(prefix, pattern.rstrip("/")) or fnmatchcase(path, pattern)
               for pattern in patterns for prefix in prefixes)


def _triggers(settings: PreSettings, root: Path, backends: Backends,
              note: Note) -> list[tuple[PackTrigger, PackRef]]:
    refs = backends.discover(settings, root, backends.environ, note)
    known = {r.name for r in refs}
    missing = [name for name in settings.packs if name not in known]
    if missing:
        raise UserError(f"pack {missing[0]!r} is listed in [tool.remora-review] packs but is not "
                        "installed (see `remora-review pack list`)")
    return [(PackTrigger(r.name, r.kind, tuple(r.activate_on)), r) for r in refs]


def _activations(root: Path, at: str | None, sources: Sequence[SourceFile],
                 triggers: Sequence[PackTrigger], settings: PreSettings, blobs: git.Blobs,
                 scanned: dict[str, frozenset[str]]) -> list[tuple[str, ...]]:
    """The packs each file activates; with `follow-imports`, the project modules it imports are
    read as of `at`, like the files, in one git query for all."""
    def read(paths: set[str]) -> Mapping[str, str]:
        return read_existing(root, paths, settings.max_file_size, at=at, blobs=blobs)

    return activations([(s.path, s.text) for s in sources], triggers, settings.packs,
                       read if settings.follow_imports else None, scanned)


def _runtime(root: Path, changes: ChangeSet, pre: PreSettings, backends: Backends,
             packs: Mapping[str, LoadedPack], note: Note, blobs: git.Blobs,
             files: Sequence[registry.RunFile] = ()) -> Runtime:
    wanted = registry.wanted(backends.checks, pre, packs)
    if not wanted:  # the fast path: no pack, so no pydantic, libcst, numpy or torch
        return Runtime(pre, packs, (), None, backends.strict)
    settings = validated(pre)  # a check will run: the whole table is validated now
    from remora_review.generate.factory import skipped_note

    if (skipped := skipped_note(settings.generator, packs)) is not None:
        note(skipped)
    retrieval = (backends.retrieval(list(packs.values()), settings, backends.environ, note)
                 if packs else None)
    from remora_review.checks.trees import SharedTrees

    trees = SharedTrees()
    env = registry.CheckEnv(root, settings, packs, retrieval,
                            backends.project(root, changes.source_rev, note, blobs), files, trees)
    generated = None
    if settings.generator is not None and packs:
        from remora_review.checks.import_style import read_import_style
        from remora_review.generate.fixing import GeneratedFixes

        opener, configured = backends.generator, settings.generator
        generated = GeneratedFixes(
            configured, packs, retrieval,
            open_generator=None if opener is None else lambda: opener(configured, packs),
            import_style=read_import_style(root))
    return Runtime(settings, packs, registry.build_checks(wanted, env), retrieval, backends.strict,
                   generated, trees)


def review(root: Path, changes: ChangeSet, settings: PreSettings, backends: Backends = Backends(),
           *, fix: bool = False) -> Review:
    """Review the Python files of `changes`; with `fix`, apply fixes in memory (the caller writes
    them, or not). Raises UserError for what the user must correct (a listed pack missing)."""
    with git.Blobs(root) as blobs:  # one `git cat-file --batch` for every blob this run reads
        return _review(root, changes, settings, backends, fix, blobs)


def _review(root: Path, changes: ChangeSet, settings: PreSettings, backends: Backends, fix: bool,
            blobs: git.Blobs) -> Review:
    notes: list[str] = []
    read = _read(root, changes, settings, fix, notes.append, blobs)
    sources = [s for _, s, _ in read if isinstance(s, SourceFile)]
    found = _triggers(settings, root, backends, notes.append) if sources else []
    triggers = [t for t, _ in found]
    scanned: dict[str, frozenset[str]] = {}

    def delegated() -> Review | None:
        return None if backends.delegate is None else backends.delegate(
            root, changes, settings, fix, backends, notes.append)

    # A file that activates a pack by its own imports settles where the review runs: the server
    # follows the imports itself (a tenth of a warm hook's time to do twice).
    direct = activations([(s.path, s.text) for s in sources], triggers, settings.packs,
                         scanned=scanned)
    if any(direct) and (elsewhere := delegated()) is not None:
        return elsewhere
    packs_per_file = _activations(root, changes.source_rev, sources, triggers, settings, blobs,
                                  scanned)
    wanted = {name for packs in packs_per_file for name in packs}
    if wanted and not any(direct) and (elsewhere := delegated()) is not None:
        return elsewhere
    loaded = backends.load([r for _, r in found if r.name in wanted]) if wanted else {}
    read_sources = [(c, s) for c, s, _ in read if isinstance(s, SourceFile)]
    runtime = _runtime(root, changes, settings, backends, loaded, notes.append, blobs,
                       [registry.RunFile(s.path, s.text, p, changed_lines(c, settings.filter_mode))
                        for (c, s), p in zip(read_sources, packs_per_file)])
    try:
        files = _review_files(read, packs_per_file, settings, runtime, fix, notes)
    finally:
        if runtime.generated is not None:
            runtime.generated.close()  # the code model's memory goes back at the run's end
    return Review(changes, tuple(files), tuple(dict.fromkeys(notes)), tuple(sorted(runtime.packs)))


def _review_files(read: list[tuple[ChangedFile, SourceFile | Skipped, bool]],
                  packs_per_file: list[tuple[str, ...]], settings: PreSettings, runtime: Runtime,
                  fix: bool, notes: list[str]) -> list[FileReview]:
    per_file = iter(packs_per_file)
    files: list[FileReview] = []
    for changed, source, fixable in read:
        if isinstance(source, Skipped):
            files.append(source)
            continue
        packs = next(per_file)
        job = FileJob(changed.path, source.text, changed_lines(changed, settings.filter_mode), packs)
        outcome = fix_source(job, runtime) if fix and fixable else check_file(job, runtime)
        notes.extend(outcome.notes)
        text = outcome.fixed_source or source.text
        files.append(Checked(
            changed.path, source, packs,
            tuple(Reviewed(f, fingerprint(f, text)) for f in outcome.findings),
            outcome.fixed_source, outcome.fixes_applied, fixable,
        ))
    return files
