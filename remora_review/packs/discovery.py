"""Find packs (config paths, the install dir, entry points) by reading only their manifests."""

from __future__ import annotations

import os
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

from remora_review.config import Settings
from remora_review.packs.loader import MANIFEST, PackError, default_install_dir, parse_manifest
from remora_review.packs.manifest import Manifest

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
    settings: Settings,
    root: Path,
    environ: Mapping[str, str] = os.environ,
    on_problem: Callable[[str], None] | None = None,
) -> list[PackRef]:
    """The packs available to this repository, one per name.

    A place that should hold a pack but holds no readable one (a broken pip package, a bad file in
    pack-paths) raises PackError, or, given `on_problem`, is reported to it and skipped.
    """
    found = scan_packs(settings, root, environ)
    if found.problems and on_problem is None:
        first = found.problems[0]
        more = f" (and {len(found.problems) - 1} more problems)" if len(found.problems) > 1 else ""
        raise PackError(f"{first.message}{more}")
    if on_problem is not None:
        for problem in found.problems:
            on_problem(problem.message)
    return list(found.packs)


def scan_packs(
    settings: Settings,
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
    searched.append(f"{INSTALL_DIR} {install_dir}")
    if install_dir.is_dir():
        candidates.extend(_scan_children(install_dir, INSTALL_DIR, problems))
    searched.append(f"entry points {ENTRY_POINT_GROUP!r}")
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        candidates.extend(_scan_entry_point(ep, problems))

    winners: dict[str, PackRef] = {}
    shadowed: list[Shadowed] = []
    rank = {source: i for i, source in enumerate(PRECEDENCE)}
    for ref in sorted(candidates, key=lambda r: rank[r.source]):  # stable: order within a source
        if ref.name in winners:
            shadowed.append(Shadowed(ref, winners[ref.name]))
        else:
            winners[ref.name] = ref
    return Discovery(
        packs=tuple(sorted(winners.values(), key=lambda r: r.name)),
        shadowed=tuple(shadowed),
        problems=tuple(problems),
        searched=tuple(searched),
    )


def read_pack_manifest(path: Path) -> Manifest:
    """The manifest of a pack directory or `.pack` zip, without extracting or verifying files."""
    if path.is_dir():
        manifest_path = path / MANIFEST
        if manifest_path.is_symlink() or not manifest_path.is_file():
            raise PackError(f"pack {path}: has no manifest.toml")
        return parse_manifest(manifest_path.read_bytes(), str(path))
    try:
        with zipfile.ZipFile(path) as zf:
            data = zf.read(MANIFEST)
    except KeyError:
        raise PackError(f"pack {path}: has no manifest.toml at its root") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as e:
        raise PackError(f"pack {path}: not a readable .pack (zip) file: {e}") from None
    return parse_manifest(data, str(path))


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


def _scan_entry_point(ep: EntryPoint, problems: list[PackProblem]) -> Iterator[PackRef]:
    origin = f"{ENTRY_POINT} {ep.name}"
    try:
        obj = ep.load()
        value = obj() if callable(obj) else obj
    except Exception as e:  # third-party code: any failure is that package's problem, reported
        problems.append(PackProblem(origin, None, f"{origin} ({ep.value}) failed: {e!r}"))
        return
    if not isinstance(value, (str, os.PathLike)):
        problems.append(
            PackProblem(origin, None, f"{origin} ({ep.value}) returned {type(value).__name__}, not a path")
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
        manifest = read_pack_manifest(path)
    except PackError as e:
        problems.append(PackProblem(origin, path, f"{origin}: {e}"))
        return None
    return PackRef(
        name=manifest.name,
        origin=origin,
        path=path,
        version=manifest.version,
        kind=manifest.kind,
        library=manifest.library.name,
        library_version=manifest.library.version,
        activate_on=manifest.library.activate_on,
    )
