"""The dev set: each project's stripped files and gold, built once per harness version and cached."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any

import libcst as cst

from bench.devset.extract import GoldParam, StrippedFile, extract
from bench.devset.fetch import Project, SourceFile
from bench.devset.resolve import LIBRARIES, Resolver
from remora_review import atomic

_HERE = Path(__file__).parent
_FORMAT = 2


@dataclass(frozen=True)
class ProjectSet:
    """One project's share: stripped files (only those with gold) in both modes, and what was left out."""

    project: Project
    files_scanned: int
    files_unparsed: int
    kept: tuple[StrippedFile, ...]
    blind: tuple[StrippedFile, ...]
    skipped: Mapping[str, int] = field(default_factory=dict)
    negatives: tuple[StrippedFile, ...] = ()  # names kept, other annotations stripped too

    @property
    def size(self) -> int:
        return sum(len(f.gold) for f in self.kept)

    @property
    def orphaned(self) -> int:
        """Gold parameters whose stripped file imports none of the libraries any more."""
        return sum(len(f.gold) for f in self.kept if not f.imports)

    @property
    def unused(self) -> int:
        """Gold parameters that their function never refers to (stubs, overloads, pass-through)."""
        return sum(1 for f in self.kept for g in f.gold if not g.used)

    def files_for(self, mode: str) -> tuple[StrippedFile, ...]:
        """"kept", "blind" or "negatives"."""
        return {"kept": self.kept, "blind": self.blind, "negatives": self.negatives}[mode]


def library_versions() -> dict[str, str]:
    return {lib: metadata.version(lib) for lib in LIBRARIES}


def harness_key(project: Project) -> str:
    """Changes whenever the release, the libraries or the extraction code change."""
    digest = hashlib.sha256()
    for name in ("extract.py", "resolve.py", "dataset.py", "fetch.py"):
        digest.update((_HERE / name).read_bytes())
    digest.update(json.dumps([project.pin, project.max_files, library_versions(), _FORMAT]).encode())
    return digest.hexdigest()[:16]


def _mentions_library(text: str, libraries: tuple[str, ...] = LIBRARIES) -> bool:
    return any(lib in text for lib in libraries)


def build_project(project: Project, files: Sequence[SourceFile], resolver: Resolver) -> ProjectSet:
    kept: list[StrippedFile] = []
    blind: list[StrippedFile] = []
    negatives: list[StrippedFile] = []
    skipped: Counter[str] = Counter()
    unparsed = 0
    for source in files:
        if not _mentions_library(source.text, resolver.libraries):
            continue  # no import of the libraries, so no gold: skip the parse
        try:
            found = extract(source.text, source.path, resolver)
        except cst.ParserSyntaxError:
            unparsed += 1
            continue
        skipped.update(found.skipped)
        if found.kept.gold:
            kept.append(found.kept)
            blind.append(found.blind)
            if found.negatives is not None:
                negatives.append(found.negatives)
    return ProjectSet(project, len(files), unparsed, tuple(kept), tuple(blind), dict(skipped),
                      tuple(negatives))


def _file_json(f: StrippedFile) -> dict[str, Any]:
    return {"path": f.path, "source": f.source, "gold": [asdict(g) for g in f.gold],
            "imports": list(f.imports)}


def _file(raw: Mapping[str, Any]) -> StrippedFile:
    gold = tuple(GoldParam(**g) for g in raw["gold"])
    return StrippedFile(raw["path"], raw["source"], gold, tuple(raw["imports"]))


def to_json(ps: ProjectSet) -> dict[str, Any]:
    return {
        "files_scanned": ps.files_scanned,
        "files_unparsed": ps.files_unparsed,
        "kept": [_file_json(f) for f in ps.kept],
        "blind": [_file_json(f) for f in ps.blind],
        "skipped": dict(ps.skipped),
        "negatives": [_file_json(f) for f in ps.negatives],
    }


def from_json(project: Project, raw: Mapping[str, Any]) -> ProjectSet:
    return ProjectSet(
        project,
        raw["files_scanned"],
        raw["files_unparsed"],
        tuple(_file(f) for f in raw["kept"]),
        tuple(_file(f) for f in raw["blind"]),
        dict(raw["skipped"]),
        tuple(_file(f) for f in raw["negatives"]),
    )


def write_atomic(path: Path, text: str) -> None:
    atomic.write_atomic(path, text.encode("utf-8"), make_parents=True)


def load_or_build(
    project: Project,
    cache: Path,
    files: Callable[[], Sequence[SourceFile]],
    resolver: Resolver,
) -> ProjectSet:
    """The cached extraction when the harness and release are unchanged, else a fresh one."""
    path = cache / "extract" / f"{project.name}-{project.version}-{harness_key(project)}.json"
    if path.is_file():
        return from_json(project, json.loads(path.read_text("utf-8")))
    built = build_project(project, files(), resolver)
    write_atomic(path, json.dumps(to_json(built)))
    return built


def cap(ps: ProjectSet, limit: int) -> ProjectSet:
    """The first files (in path order) that together hold at least `limit` gold parameters."""
    count = 0
    total = 0
    for k in ps.kept:
        if total >= limit:
            break
        count += 1
        total += len(k.gold)
    return replace(ps, kept=ps.kept[:count], blind=ps.blind[:count], negatives=ps.negatives[:count])
