"""The packs discovery found (each winning copy's name, where it is, its manifest's activation
fields), remembered between runs so that neither the hook's no-pack path nor a review reads a
manifest again, or imports tomllib, zipfile or importlib.metadata to do so.

Discovery (discovery.scan_packs) writes it; discovery.discover_packs and no_pack.py read it. An
entry holds the stamps of everything discovery read: the directories on sys.path (pip adds,
renames or deletes a dist-info there), the install dir, the module behind each entry point, each
winning pack's manifest (a `.pack` file, or a directory pack's manifest.toml), the interpreter,
this release and this module's and discovery's own files; each stamp is a file's size, mtime and
inode. It is read only
while every stamp is unchanged, and, as git does for its index, nothing is written while any of
those mtimes is under two seconds old, so a change within one timestamp tick cannot hide behind an
equal stamp. Discovery with `pack-paths` is not remembered: a repository that configures those
configures remora-review, and its runs take the full path.

Standard library only, and cheap to import: it runs on every commit.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

# A PackRef's fields (discovery.py), as JSON holds them: name, origin, path, version, kind,
# library, library_version, activate_on (a list).
Found = dict[str, object]
_RACY_NS = 2_000_000_000
_DISCOVERY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "discovery.py")


def _stamp(path: str) -> list[int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns, info.st_ino]


def path_stamps() -> list[tuple[str, list[int] | None]]:
    """(directory, stamp) of each directory on sys.path: pip adds, renames or deletes a
    dist-info in one of them to install, upgrade or remove a distribution (entry points)."""
    return [(p, _stamp(p)) for p in (entry or os.getcwd() for entry in sys.path)]  # "" is cwd


def too_fresh(stamps: Iterable[list[int] | None], now_ns: int) -> bool:
    """Whether a stamp's mtime is within the racy window: a change in the same timestamp tick
    could hide behind it, so nothing resting on it is remembered."""
    return any(s is not None and now_ns - s[1] < _RACY_NS for s in stamps)


def environment_stamps(install_dir: str) -> dict[str, object]:
    """The stamps of what decides discovery before any pack is read: take them before scanning."""
    from remora_review import __version__

    own = [[p, _stamp(p)] for p in (__file__, _DISCOVERY, install_dir)]
    return {"python": sys.version, "release": __version__, "install_dir": install_dir,
            "stamps": [*own, *([p, s] for p, s in path_stamps())]}  # lists, as JSON reads them


def environment_key() -> str:
    """One name per interpreter environment, so two virtual environments do not evict each
    other's caches, and one environment keeps one file however often its packages change."""
    key = zlib.crc32(json.dumps([sys.prefix, sys.path]).encode("utf-8", "surrogateescape"))
    return f"{key:08x}"


def _cache_file(cache_dir: str) -> str:
    return os.path.join(cache_dir, f"discovered-{environment_key()}.json")


def read(cache_dir: str, install_dir: str) -> list[Found] | None:
    """The remembered packs, or None when there are none or anything they rest on changed."""
    try:
        with open(_cache_file(cache_dir), encoding="utf-8") as fh:
            entry = json.load(fh)
        if entry["environment"] != environment_stamps(install_dir):
            return None
        if any(_stamp(path) != stamp for path, stamp in entry["files"]):
            return None
        packs = entry["packs"]
        if not isinstance(packs, list) or not all(isinstance(p, dict) for p in packs):
            return None
        return packs
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remember(cache_dir: str, environment: dict[str, object], files: Iterable[str],
             packs: Sequence[Found]) -> None:
    """Keep `packs` under `environment` (taken before the scan) and the stamps of `files` (what
    the scan read), unless one of them is missing or too fresh to trust; a failure to write only
    means the next run scans again."""
    stamps = {path: _stamp(path) for path in files}
    earlier: list[tuple[str, list[int] | None]] = environment["stamps"]  # type: ignore[assignment]
    if any(s is None for s in stamps.values()) or too_fresh(
            [*stamps.values(), *(s for _, s in earlier)], time.time_ns()):
        return
    if read(cache_dir, str(environment["install_dir"])) == list(packs):
        return  # already remembered: no write on every full run
    from remora_review.atomic import write_atomic

    entry = {"environment": environment, "files": [[p, s] for p, s in stamps.items()],
             "packs": list(packs)}
    with contextlib.suppress(OSError):
        write_atomic(Path(_cache_file(cache_dir)),
                     json.dumps(entry).encode("utf-8", "surrogateescape"), make_parents=True)
