"""Building the project index from a repository's Python files, with facts cached per blob."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Iterable, MutableMapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from remora_review.project.facts import ModuleFacts, extract_facts
from remora_review.project.index import ProjectIndex
from remora_review.pysource.imports import is_package_file, module_name

if TYPE_CHECKING:
    from remora_review.git import Blobs

_CACHE_FORMAT = 17
# Files to work out before worker processes pay for their start (about 0.1 s each, against
# 5-30 ms a file); and at most this many workers.
PARALLEL_FROM = 200
MAX_WORKERS = 8
# The warm server writes the project cache once more than this many entries are not in it.
UNSAVED_MAX = 64
_MAX_FILE = 1_000_000  # bytes; generated modules beyond this say little about signatures


def facts_for(path: str, text: str) -> ModuleFacts | None:
    module = module_name(path)
    if module is None:
        return None
    return extract_facts(module, text, is_package_file(path))


def index_from_sources(files: Iterable[tuple[str, str]]) -> ProjectIndex:
    """An index over (repository path, text) pairs; files that do not parse are left out."""
    modules: dict[str, ModuleFacts] = {}
    for path, text in files:
        facts = facts_for(path, text)
        # A module and a stub of the same name: the first listed (sorted: .py before .pyi) wins.
        if facts is not None and facts.module not in modules:
            modules[facts.module] = facts
    return ProjectIndex(modules)


def blob_id(data: bytes) -> str:
    """Git's object id for a blob, so working-tree files and staged blobs share cache entries."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _listing(root: Path, at: str | None) -> list[tuple[str, str | None]]:
    """(path, blob id, or None for the working tree) of the regular Python files git tracks."""
    from remora_review import git

    # The whole listing, filtered here: `ls-tree` matches no "*.py" glob (a commit's project
    # came out empty when it was asked for one).
    return sorted((e.path, None if at is None else e.object_id)
                  for e in git.tree_entries(root, at)
                  if e.path.endswith(".py") and e.is_file and e.stage == "0")


def _working_tree_file(root: Path, path: str) -> bytes | None:
    full = root / path
    try:
        if full.is_symlink() or full.stat().st_size > _MAX_FILE:
            return None
        return full.read_bytes()
    except OSError:
        return None


def _facts_of(files: Sequence[tuple[str, bytes]], parallel_from: int) -> list[dict[str, Any]]:
    """_facts_json of each (path, content), in order; on worker processes when there are many.
    Spawned, not forked: the warm server that builds indexes runs threads (and model runtimes)
    that a fork would copy mid-work."""
    workers = min(os.cpu_count() or 1, MAX_WORKERS)
    if len(files) < parallel_from or workers < 2:
        return [_facts_json(path, data) for path, data in files]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(_facts_json, [p for p, _ in files], [d for _, d in files],
                             chunksize=max(1, len(files) // (workers * 8))))


def _facts_json(path: str, data: bytes) -> dict[str, Any]:
    """A file's facts as cached; {} for one that is too big, not UTF-8 or does not parse."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return {}
    facts = facts_for(path, text) if len(data) <= _MAX_FILE else None
    return facts.to_json() if facts is not None else {}


@dataclass(frozen=True)
class ProjectMemo:
    """What the warm server keeps of one repository's index between runs: the last index with
    its key (every file's path and blob id), each entry's facts (an entry is a path and a blob
    id, so it never goes stale), and the entries the cache file on disk holds. A new change
    works out its new blobs only: the cache file is read again only when another run has
    written it since, and written when its entries would change."""

    key: list[tuple[str, str]]
    index: ProjectIndex
    entries: dict[str, tuple[dict[str, Any], ModuleFacts | None]]
    on_disk: frozenset[str]
    # The cache file as last read or written (another run may have written it since).
    stamp: tuple[int, int, int] | None
    # The git index's checksum when `key` was listed from it (git.index_checksum): the same
    # checksum again is the same listing.
    listed: bytes | None = None


def load_project_index(root: Path, at: str | None, cache_dir: Path | None,
                       note: Callable[[str], None] = lambda _: None,
                       blobs: Blobs | None = None,
                       memo: MutableMapping[str, ProjectMemo] | None = None,
                       parallel_from: int = PARALLEL_FROM, unsaved_max: int = 0) -> ProjectIndex:
    """The index of every tracked Python file as of `at` (":" the index, a commit, or None for the
    working tree). Facts are cached by blob id in `cache_dir`, so a run re-reads changed files only.
    `blobs` is the run's blob reader; one is opened for this call when it is None. `memo` (the warm
    server's, one entry per repository) keeps the last index built and its entries' facts
    (ProjectMemo): any edit, a staged change or another branch makes another key. From
    `parallel_from` files not in the cache on (a first run in a large repository), their facts
    are worked out on every core. The cache file is written when its entries would change, or
    (`unsaved_max`, the warm server's) once more than that many of the run's entries are not in
    it: a new commit's few entries are kept in `memo` instead of rewriting the whole file, which
    in a repository of 5,000 files took a seventh of a review. An entry never goes stale, so one
    left unwritten costs at most its file's facts worked out again.

    An edit that changes no module's facts (a comment, a function body that passes no typed
    value and uses no annotated parameter differently) gives the memo's index itself, and with
    it all that the run and the inferer worked out from it."""
    from remora_review import git

    if blobs is None:
        with git.Blobs(root) as own:
            return load_project_index(root, at, cache_dir, note, own, memo, parallel_from,
                                      unsaved_max)
    remembered = memo.get(str(root)) if memo is not None else None
    # Read before the listing: a listing is never kept under the checksum of an older index.
    listed = git.index_checksum(root) if at == ":" and memo is not None else None
    if remembered is not None and listed is not None and remembered.listed == listed:
        return remembered.index  # the same listing: the same key
    files: list[tuple[str, str, bytes | None]] = []
    for path, blob in _listing(root, at):
        data = None
        if blob is None:  # the working tree: hash the file to find its cache entry
            data = _working_tree_file(root, path)
            if data is None:
                continue
            blob = blob_id(data)
        files.append((path, blob, data))
    key = [(path, blob) for path, blob, _ in files]
    if remembered is not None and remembered.key == key:
        if memo is not None and listed is not None:
            memo[str(root)] = replace(remembered, listed=listed)
        return remembered.index
    stamp = _stamp(cache_dir)
    cache: dict[str, dict[str, Any]] = {}
    if remembered is not None and stamp == remembered.stamp:
        known, on_disk = remembered.entries, remembered.on_disk
    else:
        known = remembered.entries if remembered is not None else {}
        cache = _load_cache(cache_dir)
        on_disk = frozenset(cache)
    missing = [(path, data if data is not None else (blobs.read(blob) or b""))
               for path, blob, data in files
               if f"{path}\0{blob}" not in known and f"{path}\0{blob}" not in cache]
    made = dict(zip((path for path, _ in missing), _facts_of(missing, parallel_from)))
    entries: dict[str, tuple[dict[str, Any], ModuleFacts | None]] = {}
    modules: dict[str, ModuleFacts] = {}
    for path, blob, _ in files:
        entry = f"{path}\0{blob}"
        found = known.get(entry)
        if found is None:
            raw = cache.get(entry)
            if raw is None:
                raw = made[path]
            found = (raw, ModuleFacts.from_json(raw) if raw else None)
        entries[entry] = found
        if found[1] is not None and found[1].module not in modules:
            modules[found[1].module] = found[1]
    write = len(entries.keys() - on_disk) > unsaved_max if unsaved_max \
        else entries.keys() != on_disk
    if cache_dir is not None and write and _save_cache(
            cache_dir, {entry: raw for entry, (raw, _) in entries.items()}, note):
        on_disk, stamp = frozenset(entries), _stamp(cache_dir)
    # Values compare by identity first: only the changed modules' facts are compared in depth.
    if remembered is not None and modules == remembered.index.modules:
        index = remembered.index
    else:
        index = ProjectIndex(modules)
        if remembered is not None:
            index.adopt(remembered.index)
    if memo is not None:
        memo[str(root)] = ProjectMemo(key, index, entries, on_disk, stamp, listed)
    return index


def cache_file(cache_dir: Path) -> Path:
    """Where the project's facts are cached in `cache_dir` (the name carries the format)."""
    return cache_dir / f"project-facts-v{_CACHE_FORMAT}.json"


def _stamp(cache_dir: Path | None) -> tuple[int, int, int] | None:
    """The cache file's identity as of now: another run's write changes it."""
    try:
        st = cache_file(cache_dir).stat() if cache_dir is not None else None
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size) if st is not None else None


def _load_cache(cache_dir: Path | None) -> dict[str, dict[str, Any]]:
    if cache_dir is None:
        return {}
    try:
        raw = json.loads(cache_file(cache_dir).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return raw if isinstance(raw, dict) else {}


def _save_cache(cache_dir: Path, entries: dict[str, dict[str, Any]],
                note: Callable[[str], None]) -> bool:
    """Atomic: a concurrent run reads the old cache or the new one, never half of one. Whether
    it was written."""
    from remora_review.atomic import write_atomic

    try:
        write_atomic(cache_file(cache_dir),
                     json.dumps(entries, separators=(",", ":")).encode("utf-8"), make_parents=True)
    except OSError as e:
        note(f"project cache not written: {e.strerror}")
        return False
    for stale in cache_dir.glob("project-facts-v*.json"):  # an older format's cache
        if stale != cache_file(cache_dir):
            with contextlib.suppress(OSError):
                stale.unlink()
    return True
