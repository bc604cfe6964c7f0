"""Find packs (config paths, the install dir, entry points) by reading only their manifests.

Discovery runs on every commit, pack or not, so it reads the few fields activation needs with the
standard library; a manifest is validated in full (pydantic) when its pack loads, or here when
those fields are not what a valid manifest holds (for the precise error).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
import re
import sys
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from remora_review.packs import discovery_cache
from remora_review.packs.format import FORMAT_VERSION
from remora_review.packs.loader import (
    MANIFEST,
    PackError,
    parse_manifest,
)
from remora_review.user_dirs import default_cache_root, default_install_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

if TYPE_CHECKING:
    from remora_review.config_file import PreSettings
    from remora_review.packs.manifest import Manifest

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}\Z")

ENTRY_POINT_GROUP = "remora_review.packs"
# Where a name is found decides which copy is used: the repository's own config first, then what
# the user installed by hand, then what pip installed.
PACK_PATHS = "pack-paths"
INSTALL_DIR = "install dir"
ENTRY_POINT = "entry point"
PRECEDENCE = (PACK_PATHS, INSTALL_DIR, ENTRY_POINT)


@dataclass(frozen=True)
class PackRef:
    """A pack found but not loaded: where it is and what its manifest says about activation."""

    name: str
    origin: str  # "pack-paths", "install dir" or "entry point NAME"
    path: Path
    version: str = ""
    kind: str = "library"
    library: str = ""
    library_version: str = ""
    activate_on: tuple[str, ...] = ()

    @property
    def source(self) -> str:
        return ENTRY_POINT if self.origin.startswith(ENTRY_POINT) else self.origin


@dataclass(frozen=True)
class PackProblem:
    """A place that should hold a pack but does not hold a readable one."""

    origin: str
    path: Path | None
    message: str


@dataclass(frozen=True)
class Shadowed:
    ref: PackRef
    by: PackRef


@dataclass(frozen=True)
class Discovery:
    packs: tuple[PackRef, ...]  # one per name, the winning copy, sorted by name
    shadowed: tuple[Shadowed, ...]
    problems: tuple[PackProblem, ...]
    searched: tuple[str, ...]  # where it looked, for "no packs found" messages


def discover_packs(
    settings: PreSettings,
    root: Path,
    environ: Mapping[str, str] = os.environ,
    on_problem: Callable[[str], None] | None = None,
) -> list[PackRef]:
    """The packs available to this repository, one per name.

    A place that should hold a pack but holds no readable one (a broken pip package, a bad file in
    pack-paths) raises PackError, or, given `on_problem`, is reported to it and skipped.
    """
    if not settings.pack_paths and (remembered := _remembered(environ)) is not None:
        return remembered
    found = scan_packs(settings, root, environ)
    if found.problems and on_problem is None:
        first = found.problems[0]
        more = f" (and {len(found.problems) - 1} more problems)" if len(found.problems) > 1 else ""
        raise PackError(f"{first.message}{more}")
    if on_problem is not None:
        for problem in found.problems:
            on_problem(problem.message)
    return list(found.packs)


def _remembered(environ: Mapping[str, str]) -> list[PackRef] | None:
    """The packs the last scan found, while nothing it read has changed (discovery_cache.py)."""
    found = discovery_cache.read(str(default_cache_root(environ).parent),
                                 str(default_install_dir(environ)))
    if found is None:
        return None
    try:
        return [PackRef(name=str(f["name"]), origin=str(f["origin"]), path=Path(str(f["path"])),
                        version=str(f["version"]), kind=str(f["kind"]), library=str(f["library"]),
                        library_version=str(f["library_version"]),
                        activate_on=tuple(str(m) for m in f["activate_on"]))  # type: ignore[attr-defined]
                for f in found]
    except (KeyError, TypeError):
        return None


def _found(ref: PackRef) -> discovery_cache.Found:
    return {"name": ref.name, "origin": ref.origin, "path": str(ref.path), "version": ref.version,
            "kind": ref.kind, "library": ref.library, "library_version": ref.library_version,
            "activate_on": list(ref.activate_on)}


def scan_packs(
    settings: PreSettings,
    root: Path,
    environ: Mapping[str, str] = os.environ,
) -> Discovery:
    """Every pack found, which copies are shadowed, and what could not be read."""
    problems: list[PackProblem] = []
    candidates: list[PackRef] = []
    searched: list[str] = []
    for entry in settings.pack_paths:
        path = root / Path(entry).expanduser()
        searched.append(f"{PACK_PATHS} {entry}")
        if not path.exists():
            problems.append(PackProblem(PACK_PATHS, path, f"pack-paths entry {entry!r}: {path} does not exist"))
            continue
        candidates.extend(_scan_location(path, PACK_PATHS, problems))
    install_dir = default_install_dir(environ)
    before = discovery_cache.environment_stamps(str(install_dir))
    searched.append(f"{INSTALL_DIR} {install_dir}")
    if install_dir.is_dir():
        candidates.extend(_scan_children(install_dir, INSTALL_DIR, problems))
    searched.append(f"entry points {ENTRY_POINT_GROUP!r}")
    modules = []
    for name, value in entry_points(environ):
        candidates.extend(_scan_entry_point(name, value, problems))
        modules.append(_module_file(value))

    winners: dict[str, PackRef] = {}
    shadowed: list[Shadowed] = []
    rank = {source: i for i, source in enumerate(PRECEDENCE)}
    for ref in sorted(candidates, key=lambda r: rank[r.source]):  # stable: order within a source
        if ref.name in winners:
            shadowed.append(Shadowed(ref, winners[ref.name]))
        else:
            winners[ref.name] = ref
    if not problems and not settings.pack_paths:  # read back by discover_packs and no_pack.py
        discovery_cache.remember(
            str(default_cache_root(environ).parent), before,
            [*(m or "" for m in modules), *(_manifest_file(r.path) for r in winners.values())],
            [_found(r) for r in sorted(winners.values(), key=lambda r: r.name)])
    return Discovery(
        packs=tuple(sorted(winners.values(), key=lambda r: r.name)),
        shadowed=tuple(shadowed),
        problems=tuple(problems),
        searched=tuple(searched),
    )


def read_pack_manifest(path: Path) -> Manifest:
    """The manifest of a pack directory or `.pack` zip, without extracting or verifying files."""
    return parse_manifest(_manifest_bytes(path), str(path))


def _manifest_bytes(path: Path) -> bytes:
    if path.is_dir():
        manifest_path = path / MANIFEST
        if manifest_path.is_symlink() or not manifest_path.is_file():
            raise PackError(f"pack {path}: has no manifest.toml")
        return manifest_path.read_bytes()
    try:
        with zipfile.ZipFile(path) as zf:
            return zf.read(MANIFEST)
    except KeyError:
        raise PackError(f"pack {path}: has no manifest.toml at its root") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as e:
        raise PackError(f"pack {path}: not a readable .pack (zip) file: {e}") from None


def _activation_fields(data: bytes) -> dict[str, Any] | None:
    """name, version, kind and the library's fields, read with tomllib; None unless each is what a
    valid manifest holds."""
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    library = raw.get("library")
    if (raw.get("format") != FORMAT_VERSION or isinstance(raw.get("format"), bool)
            or not isinstance(library, dict)):
        return None
    fields = {"name": raw.get("name"), "version": raw.get("version"),
              "kind": raw.get("kind", "library"), "library": library.get("name"),
              "library_version": library.get("version", ""),
              "activate_on": library.get("activate_on", [])}
    strings = ("name", "version", "library", "library_version")
    if (not all(isinstance(fields[k], str) for k in strings)
            or not _NAME.match(fields["name"]) or fields["kind"] not in ("library", "company")
            or not isinstance(fields["activate_on"], list)
            or not all(isinstance(m, str) for m in fields["activate_on"])):
        return None
    fields["activate_on"] = tuple(fields["activate_on"])
    return fields


def is_pack(path: Path) -> bool:
    """Whether a path looks like one pack (not a directory of several)."""
    if path.is_dir():
        return (path / MANIFEST).is_file()
    return path.suffix == ".pack" and path.is_file()


def _scan_location(path: Path, origin: str, problems: list[PackProblem]) -> Iterator[PackRef]:
    """A pack directory, a `.pack` file, or a directory holding several of either."""
    if is_pack(path) or not path.is_dir():
        if ref := _ref(path, origin, problems):
            yield ref
        return
    yield from _scan_children(path, origin, problems)


def _scan_children(directory: Path, origin: str, problems: list[PackProblem]) -> Iterator[PackRef]:
    # Hidden entries are skipped: installs write `.NAME.pack.*.tmp` before renaming.
    for child in sorted(directory.iterdir()):
        if child.name.startswith(".") or not is_pack(child):
            continue
        if ref := _ref(child, origin, problems):
            yield ref


def entry_points(environ: Mapping[str, str] = os.environ) -> list[tuple[str, str]]:
    """(name, value) of every `remora_review.packs` entry point, as importlib.metadata lists them.

    importlib.metadata costs more to import than the whole no-pack hook may take, so its answer is
    kept in the user's cache under a key made of the directories on sys.path and their modification
    times. pip installs, upgrades (a new version's dist-info) and removes a distribution by adding,
    renaming or deleting its dist-info directory in one of them, which changes that directory's
    mtime: the cache is never read after any of those. As git does for its index, nothing is cached
    while a directory's mtime is under two seconds old, so a change within the same timestamp tick
    cannot hide behind an equal mtime. (An entry_points.txt edited by hand inside an existing
    dist-info is not noticed.)
    """
    stamps = discovery_cache.path_stamps()
    key = hashlib.sha256(json.dumps([sys.version, stamps]).encode()).hexdigest()[:32]
    # One file per environment (as discovery_cache's), the stamps' key inside it: a file per key
    # would leave one behind at every install.
    cache = default_cache_root(environ).parent / f"entry-points-{discovery_cache.environment_key()}.json"
    with contextlib.suppress(OSError, ValueError, AttributeError):
        cached = json.loads(cache.read_text("utf-8"))
        found = cached.get("entry_points") if cached.get("key") == key else None
        if isinstance(found, list) and all(
                isinstance(p, list) and len(p) == 2 and all(isinstance(v, str) for v in p)
                for p in found):
            return [(name, value) for name, value in found]
    from importlib import metadata

    found = [(ep.name, ep.value) for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)]
    from remora_review.atomic import write_atomic

    racy = discovery_cache.too_fresh((s for _, s in stamps), time.time_ns())
    with contextlib.suppress(OSError):  # no cache: the next run asks importlib.metadata again
        if not racy:
            write_atomic(cache, json.dumps({"key": key, "entry_points": found}).encode("utf-8"),
                         make_parents=True)
    return found


# An entry point's value, "module.sub:attr.attr [extras]" (the packaging spec's object reference).
_REFERENCE = re.compile(r"(?P<module>[\w.]+)\s*(?::\s*(?P<attr>[\w.]+)\s*)?(?:\[.*\]\s*)?\Z")


def _module_file(reference: str) -> str | None:
    """The file of the module an entry point's reference names (imported by then), if any."""
    match = _REFERENCE.match(reference)
    module = sys.modules.get(match["module"]) if match else None
    return getattr(module, "__file__", None)


def _manifest_file(path: Path) -> str:
    """The file whose stamp changes when a pack's manifest does: a `.pack` itself, or a directory
    pack's manifest.toml."""
    return str(path / MANIFEST if path.is_dir() else path)


def _load_reference(value: str) -> object:
    """What importlib.metadata's EntryPoint.load() gives for `value`."""
    match = _REFERENCE.match(value)
    if match is None:
        raise ValueError(f"not an object reference: {value!r}")
    obj: object = importlib.import_module(match["module"])
    for part in match["attr"].split(".") if match["attr"] else ():
        obj = getattr(obj, part)
    return obj


def _scan_entry_point(name: str, reference: str,
                      problems: list[PackProblem]) -> Iterator[PackRef]:
    origin = f"{ENTRY_POINT} {name}"
    try:
        obj = _load_reference(reference)
        value = obj() if callable(obj) else obj
    except Exception as e:  # third-party code: any failure is that package's problem, reported
        problems.append(PackProblem(origin, None, f"{origin} ({reference}) failed: {e!r}"))
        return
    if not isinstance(value, (str, os.PathLike)):
        problems.append(
            PackProblem(origin, None, f"{origin} ({reference}) returned {type(value).__name__}, not a path")
        )
        return
    path = Path(value)
    if not path.exists():
        problems.append(PackProblem(origin, path, f"{origin}: {path} does not exist"))
        return
    if ref := _ref(path, origin, problems):
        yield ref


def _ref(path: Path, origin: str, problems: list[PackProblem]) -> PackRef | None:
    try:
        data = _manifest_bytes(path)
        fields = _activation_fields(data)
        if fields is None:  # not a valid manifest: the full parse says precisely why
            manifest = parse_manifest(data, str(path))
            fields = {"name": manifest.name, "version": manifest.version, "kind": manifest.kind,
                      "library": manifest.library.name,
                      "library_version": manifest.library.version,
                      "activate_on": manifest.library.activate_on}
    except PackError as e:
        problems.append(PackProblem(origin, path, f"{origin}: {e}"))
        return None
    return PackRef(origin=origin, path=path, **fields)
