"""The dev-set projects: pinned releases downloaded from PyPI by pip and unpacked into the bench cache."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PROJECTS_FILE = Path(__file__).with_name("projects.toml")
# Never part of a project's published code for our purpose: its tests, vendored copies, build scripts.
_SKIP_PARTS = frozenset({"tests", "test", "testing", "_vendor", "vendor", "node_modules"})


class FetchError(Exception):
    """A pinned release could not be downloaded or unpacked."""


@dataclass(frozen=True)
class Project:
    name: str  # PyPI distribution name
    version: str
    why: str
    max_files: int | None = None  # cap for very large generated SDKs, in sorted path order

    @property
    def pin(self) -> str:
        return f"{self.name}=={self.version}"


@dataclass(frozen=True)
class SourceFile:
    path: str  # relative to the unpacked release, e.g. fastapi_users/router/auth.py
    text: str


def load_projects(path: Path = PROJECTS_FILE) -> list[Project]:
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    return [
        Project(p["name"], p["version"], p.get("why", ""), p.get("max_files"))
        for p in raw.get("project", [])
    ]


def _pip_download(pin: str, wheels: Path, binary: bool) -> None:
    flag = "--only-binary=:all:" if binary else "--no-binary=:all:"
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", flag, pin, "-d", str(wheels)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise FetchError(f"pip download {pin} failed: {done.stderr.strip().splitlines()[-1:]}")


def _archive(project: Project, wheels: Path) -> Path | None:
    stem = project.name.replace("-", "_").lower()
    for candidate in sorted(wheels.iterdir()) if wheels.is_dir() else []:
        name = candidate.name.lower().replace("-", "_")
        if name.startswith(f"{stem}_{project.version}") and candidate.suffix in (".whl", ".gz", ".zip"):
            return candidate
    return None


def _unpack(archive: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=dest.parent))
    try:
        if archive.suffix in (".whl", ".zip"):
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(tmp)
        else:
            with tarfile.open(archive) as tf:
                tf.extractall(tmp, filter="data")
        os.replace(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def fetch(project: Project, cache: Path) -> Path:
    """The unpacked release's directory, downloading and unpacking it on first use."""
    dest = cache / "src" / f"{project.name}-{project.version}"
    if dest.is_dir():
        return dest
    wheels = cache / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    archive = _archive(project, wheels)
    if archive is None:
        try:
            _pip_download(project.pin, wheels, binary=True)
        except FetchError:
            _pip_download(project.pin, wheels, binary=False)
        archive = _archive(project, wheels)
    if archive is None:
        raise FetchError(f"pip download {project.pin} left no archive in {wheels}")
    _unpack(archive, dest)
    return dest


def source_files(root: Path, project: Project) -> list[SourceFile]:
    """The release's Python modules, tests and vendored code left out, sorted by path."""
    out = []
    for file in sorted(root.rglob("*.py")):
        rel = file.relative_to(root)
        if any(p in _SKIP_PARTS or p.endswith((".dist-info", ".data")) for p in rel.parts[:-1]):
            continue
        try:
            text = file.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        out.append(SourceFile(rel.as_posix(), text))
    return out[: project.max_files] if project.max_files else out


def fetch_all(projects: Sequence[Project], cache: Path) -> dict[str, Path]:
    return {p.name: fetch(p, cache) for p in projects}
