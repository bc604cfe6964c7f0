"""Building the project index from a repository's Python files, with facts cached per blob."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from remora_review.project_facts import ModuleFacts, extract_facts, module_name
from remora_review.project_index import ProjectIndex

_CACHE_FORMAT = 1
_MAX_FILE = 1_000_000  # bytes; generated modules beyond this say little about signatures


def is_package_file(path: str) -> bool:
    return path.rsplit("/", 1)[-1] in ("__init__.py", "__init__.pyi")


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
    """(path, blob id or None for the working tree) of the Python files git tracks."""
    from remora_review.changes import run_git

    if at is None or at == ":":
        _, out, _ = run_git(root, "ls-files", "-s", "-z", "--", "*.py")
        entries = []
        for entry in out.split(b"\0"):
            meta, sep, name = entry.partition(b"\t")
            parts = meta.decode().split()
            if sep and len(parts) == 3 and parts[0].startswith("100") and parts[2] == "0":
                entries.append((name.decode("utf-8", "surrogateescape"),
                                None if at is None else parts[1]))
        return entries
    _, out, _ = run_git(root, "ls-tree", "-r", "-z", at, "--", "*.py")
    entries = []
    for entry in out.split(b"\0"):
        meta, sep, name = entry.partition(b"\t")
        parts = meta.decode().split()
        if sep and len(parts) == 3 and parts[0].startswith("100") and parts[1] == "blob":
            entries.append((name.decode("utf-8", "surrogateescape"), parts[2]))
    return entries


def _read(root: Path, path: str, blob: str | None,
          objects: Callable[[str], bytes]) -> tuple[str, bytes] | None:
    if blob is not None:
        data = objects(blob)
        return blob, data
    full = root / path
    try:
        if full.is_symlink() or full.stat().st_size > _MAX_FILE:
            return None
        data = full.read_bytes()
    except OSError:
        return None
    return blob_id(data), data


def load_project_index(root: Path, at: str | None, cache_dir: Path | None,
                       note: Callable[[str], None] = lambda _: None) -> ProjectIndex:
    """The index of every tracked Python file as of `at` (":" the index, a commit, or None for the
    working tree). Facts are cached by blob id in `cache_dir`, so a run re-reads changed files only."""
    import git  # gitpython: one `cat-file --batch` process for all the blobs a run must read

    cache = _load_cache(cache_dir)
    repo_git = git.Git(str(root))

    def objects(blob: str) -> bytes:
        return bytes(repo_git.get_object_data(blob)[3])

    fresh: dict[str, dict[str, Any]] = {}
    modules: dict[str, ModuleFacts] = {}
    for path, blob in sorted(_listing(root, at)):
        key = f"{path}\0{blob}" if blob is not None else None
        if key is not None and key in cache:
            raw = cache[key]
        else:
            read = _read(root, path, blob, objects)
            if read is None:
                continue
            key = f"{path}\0{read[0]}"
            if key in cache:
                raw = cache[key]
            else:
                try:
                    text = read[1].decode("utf-8")
                except UnicodeDecodeError:
                    continue
                facts = facts_for(path, text) if len(read[1]) <= _MAX_FILE else None
                raw = facts.to_json() if facts is not None else {}
        fresh[key] = raw
        if raw and raw["module"] not in modules:
            modules[raw["module"]] = ModuleFacts.from_json(raw)
    if cache_dir is not None and fresh.keys() != cache.keys():
        _save_cache(cache_dir, fresh, note)
    return ProjectIndex(modules)


def _cache_file(cache_dir: Path) -> Path:
    return cache_dir / f"project-facts-v{_CACHE_FORMAT}.json"


def _load_cache(cache_dir: Path | None) -> dict[str, dict[str, Any]]:
    if cache_dir is None:
        return {}
    try:
        raw = json.loads(_cache_file(cache_dir).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return raw if isinstance(raw, dict) else {}


def _save_cache(cache_dir: Path, entries: dict[str, dict[str, Any]],
                note: Callable[[str], None]) -> None:
    """Atomic: a concurrent run reads the old cache or the new one, never half of one."""
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".project-facts-")
    except OSError as e:
        note(f"project cache not written: {e.strerror}")
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(entries, fh, separators=(",", ":"))
        os.replace(tmp, _cache_file(cache_dir))
    except OSError as e:
        os.unlink(tmp)
        note(f"project cache not written: {e.strerror}")
