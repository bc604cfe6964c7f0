"""Load a pack from a directory or a `.pack` zip, verifying every file against its manifest."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import shutil
import stat
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from remora_review.errors import UserError
from remora_review.user_dirs import default_cache_root

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# numpy, pydantic (the manifest's model) and the retrieval types are imported where used:
# discovery imports this module on the hook's fast path, which must not pay for them.
if TYPE_CHECKING:
    import numpy as np

    from remora_review.api_table import ApiTable
    from remora_review.packs.manifest import Manifest
    from remora_review.retrieval.base import Document

MANIFEST = "manifest.toml"
# Formats that unpickle on load: a pack ships safetensors, .npy without objects, JSON and text.
PICKLE_SUFFIXES = frozenset({".pkl", ".pickle", ".pt", ".pth", ".bin", ".ckpt", ".joblib"})
MAX_UNPACKED_BYTES = 16 * 2**30  # a zip bomb stops here; a real pack with a model is well under
_CHUNK = 1 << 20
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}\Z")
_DRIVE = re.compile(r"[A-Za-z]:")


class PackError(UserError):
    """A pack that is missing, corrupt, tampered, unsafe, or built for another format."""


@dataclass(frozen=True)
class LoadedPack:
    """A verified pack: its manifest and a directory holding exactly the files it lists."""

    manifest: Manifest = field(hash=False)
    root: Path
    origin: str  # the path it was loaded from, or "entry point NAME"
    # What checks derive from the verified files (a type inference model...), made once per pack
    # object: once per run, or once per pack version in the warm server, which keeps the pack.
    _derived: dict[str, Any] = field(default_factory=dict, hash=False, compare=False, repr=False)

    def derived(self, key: str, make: Callable[[], Any]) -> Any:
        """`make()`'s value, made on the first call for `key` and kept with this pack."""
        if key not in self._derived:
            self._derived[key] = make()
        return self._derived[key]

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def version(self) -> str:
        return self.manifest.version

    @property
    def kind(self) -> str:
        return self.manifest.kind

    @property
    def activate_on(self) -> tuple[str, ...]:
        return self.manifest.library.activate_on

    def file(self, rel: str) -> Path:
        """The path of a file the manifest lists; anything else is refused."""
        if rel not in self.manifest.files:
            raise PackError(f"pack {self.name}: has no file {rel!r}")
        return self.root / rel

    @functools.cached_property
    def api_table(self) -> ApiTable:
        from remora_review.api_table import ApiTable

        rel = self.manifest.api_table
        try:
            return ApiTable.load(self.file(rel))
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise PackError(f"pack {self.name}: {rel} is not a valid API table ({e!r})") from None

    @functools.cached_property
    def names(self) -> dict[str, dict[str, float]]:
        """How often each parameter name was annotated with each class (empty without the file)."""
        from remora_review.packs.data import DataError, read_names

        rel = self.manifest.names
        if rel is None:
            return {}
        try:
            return read_names(self.file(rel))
        except DataError as e:
            raise PackError(f"pack {self.name}: {rel} is not a table of name counts "
                            f"({e.reason})") from None

    @functools.cached_property
    def documents(self) -> list[Document]:
        from remora_review.packs.data import DataError, read_documents

        rel = self.manifest.index.documents
        try:
            return read_documents(self.file(rel))
        except DataError as e:
            where = f"line {e.line} is not a document record" if e.line else "cannot be read"
            raise PackError(f"pack {self.name}: {rel} {where} ({e.reason})") from None

    @functools.cached_property
    def vectors(self) -> np.ndarray:
        import numpy as np

        return np.load(self.file(self.manifest.index.vectors), mmap_mode="r", allow_pickle=False)

    @property
    def embedding_model_path(self) -> str:
        """The pack's own fine-tuned checkpoint when it ships one, else the model it names."""
        checkpoint = _checkpoint_dir(self.manifest)
        return str(self.root / checkpoint) if checkpoint else self.manifest.embedding.model

    @property
    def lora_path(self) -> Path | None:
        return self.root / self.manifest.lora.path if self.manifest.lora else None

    @property
    def template_paths(self) -> tuple[Path, ...]:
        return tuple(self.root / t for t in self.manifest.templates)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def unsafe_reason(rel: str) -> str | None:
    """Why a pack-relative path is unsafe or not canonical, or None when it is fine."""
    if not rel:
        return "is empty"
    if "\\" in rel or "\0" in rel:
        return "contains a backslash or NUL"
    if rel.startswith("/") or _DRIVE.match(rel):
        return "is an absolute path"
    parts = rel.split("/")
    if ".." in parts:
        return "escapes the pack with '..'"
    if "" in parts or "." in parts:
        return "is not a normalised relative path"
    return None


def parse_manifest(data: bytes, where: str) -> Manifest:
    """Parse and validate manifest.toml; `where` names the pack (its path) in errors."""
    from pydantic import ValidationError

    from remora_review.packs.format import FORMAT_VERSION
    from remora_review.packs.manifest import Manifest

    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise PackError(f"pack {where}: manifest.toml is not valid TOML: {e}") from None
    name = raw.get("name")
    label = f"{name} ({where})" if isinstance(name, str) else where
    fmt = raw.get("format")
    if not isinstance(fmt, int) or isinstance(fmt, bool):
        raise PackError(f"pack {label}: manifest.toml has no integer `format`")
    if fmt != FORMAT_VERSION:
        advice = "upgrade remora-review" if fmt > FORMAT_VERSION else "rebuild it with remora-train"
        raise PackError(
            f"pack {label} uses format {fmt}; this remora-review reads format {FORMAT_VERSION}, "
            f"{advice}"
        )
    try:
        manifest = Manifest.model_validate(raw)
    except ValidationError as e:
        errors = e.errors()
        first = errors[0]
        loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise PackError(f"pack {label}: manifest.toml: {loc}: {first['msg']}{more}") from None
    if not _NAME.match(manifest.name):
        raise PackError(
            f"pack {label}: name {manifest.name!r} must be letters, digits, '.', '_' or '-'"
        )
    _check_manifest_paths(manifest, label)
    return manifest


def read_manifest(directory: Path) -> Manifest:
    """The manifest of a pack directory, parsed and checked (the files are not verified)."""
    path = directory / MANIFEST
    if path.is_symlink() or not path.is_file():
        raise PackError(f"pack {directory}: has no manifest.toml")
    return parse_manifest(path.read_bytes(), str(directory))


def _check_manifest_paths(manifest: Manifest, label: str) -> None:
    for rel in manifest.files:
        if reason := unsafe_reason(rel):
            raise PackError(f"pack {label}: manifest.toml lists {rel!r}, which {reason}")
        if rel == MANIFEST:
            raise PackError(f"pack {label}: manifest.toml cannot list its own hash")
    for what, rel in (*_named_files(manifest), *_named_dirs(manifest)):
        if reason := unsafe_reason(rel):
            raise PackError(f"pack {label}: the {what} {rel!r} {reason}")


def _check_named_files(manifest: Manifest, label: str) -> None:
    for what, rel in _named_files(manifest):
        if rel not in manifest.files:
            raise PackError(f"pack {label}: the {what} {rel!r} is not listed in manifest.toml")
    for what, rel in _named_dirs(manifest):
        if not any(f.startswith(rel + "/") for f in manifest.files):
            raise PackError(f"pack {label}: the {what} {rel!r} has no files in manifest.toml")


def _named_files(manifest: Manifest) -> Iterator[tuple[str, str]]:
    yield "API table", manifest.api_table
    if manifest.names is not None:
        yield "name statistics", manifest.names
    yield "documents file", manifest.index.documents
    yield "vectors file", manifest.index.vectors
    for template in manifest.templates:
        yield "template", template


def _named_dirs(manifest: Manifest) -> Iterator[tuple[str, str]]:
    if manifest.lora:
        yield "LoRA adapter directory", manifest.lora.path.rstrip("/")
    if manifest.embedding_checkpoint:
        yield "embedding checkpoint", manifest.embedding_checkpoint.rstrip("/")


def _checkpoint_dir(manifest: Manifest) -> str | None:
    if manifest.embedding_checkpoint:
        return manifest.embedding_checkpoint.rstrip("/")
    # A pack built before the field was set still ships its checkpoint in the conventional place.
    if "embedding/modules.json" in manifest.files or "embedding/config.json" in manifest.files:
        return "embedding"
    return None


def walk_files(root: Path, label: str) -> tuple[list[str], list[str]]:
    """(files, empty directories) under root as sorted posix paths; links and devices refused."""
    files: list[str] = []
    empty: list[str] = []

    def visit(directory: Path, prefix: str) -> None:
        with os.scandir(directory) as it:
            entries = sorted(it, key=lambda e: e.name)
        if not entries and prefix:
            empty.append(prefix.rstrip("/"))
        for entry in entries:
            rel = prefix + entry.name
            if entry.is_symlink():
                raise PackError(f"pack {label}: {rel!r} is a symlink; packs may not contain links")
            if entry.is_dir(follow_symlinks=False):
                visit(Path(entry.path), rel + "/")
            elif entry.is_file(follow_symlinks=False):
                files.append(rel)
            else:
                raise PackError(f"pack {label}: {rel!r} is not a regular file")

    visit(root, "")
    return sorted(files), empty


def verify_directory(root: Path, manifest: Manifest, label: str) -> None:
    """Check that root holds exactly the files the manifest lists, unchanged and pickle-free."""
    _check_named_files(manifest, label)
    files, _ = walk_files(root, label)
    listed = manifest.files
    for rel in sorted(listed):
        if PurePosixPath(rel).suffix.lower() in PICKLE_SUFFIXES:
            raise PackError(
                f"pack {label}: refusing {rel!r}: pickle-based formats are never loaded "
                "(ship safetensors, .npy or JSON)"
            )
    present = set(files) - {MANIFEST}
    if unlisted := sorted(present - listed.keys()):
        raise PackError(f"pack {label}: file {unlisted[0]!r} is not listed in manifest.toml")
    if missing := sorted(listed.keys() - present):
        raise PackError(f"pack {label}: file {missing[0]!r} is listed in manifest.toml but missing")
    for rel in sorted(listed):
        _verify_file(root / rel, rel, listed[rel], label)
    _verify_arrays(root, manifest, label)


def _verify_file(path: Path, rel: str, expected: str, label: str) -> None:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        head = f.read(_CHUNK)
        if _looks_like_pickle(head):
            raise PackError(f"pack {label}: refusing {rel!r}: its content is a pickle")
        digest.update(head)
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    if digest.hexdigest() != expected.lower():
        raise PackError(
            f"pack {label}: {rel!r} does not match its sha256 in manifest.toml (tampered or corrupt)"
        )


def _looks_like_pickle(head: bytes) -> bool:
    # Protocol 2-5 pickles open with PROTO (0x80) and the protocol number. A safetensors file
    # opens with its header length (u64 LE), which can start with the same two bytes, then "{".
    if len(head) < 2 or head[0] != 0x80 or not 2 <= head[1] <= 5:
        return False
    is_safetensors = len(head) > 8 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") > 0
    return not is_safetensors


def _verify_arrays(root: Path, manifest: Manifest, label: str) -> None:
    rel = manifest.index.vectors
    if not rel.lower().endswith(".npy"):
        raise PackError(f"pack {label}: the vectors file {rel!r} must be a .npy array")
    import numpy as np

    npy = [f for f in sorted(manifest.files) if f.lower().endswith(".npy")]

    arrays: dict[str, Any] = {}
    for f in npy:
        try:
            arrays[f] = np.load(root / f, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            raise PackError(
                f"pack {label}: {f!r} is not a plain numeric array ({e}); "
                "object arrays and pickles are refused"
            ) from None
    vectors = arrays[rel]
    dims = {manifest.embedding.dimension, manifest.embedding.truncate_dim}
    if vectors.ndim != 2 or vectors.dtype != np.float32 or vectors.shape[1] not in dims:
        raise PackError(
            f"pack {label}: {rel!r} holds {vectors.dtype} {list(vectors.shape)}; expected float32 "
            f"[n, {manifest.embedding.truncate_dim or manifest.embedding.dimension}]"
        )
    n_docs = _count_records(root / manifest.index.documents)
    if vectors.shape[0] != n_docs:
        raise PackError(
            f"pack {label}: {rel!r} has {vectors.shape[0]} rows but "
            f"{manifest.index.documents!r} has {n_docs} documents"
        )


def _count_records(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for line in f if line.strip())


def load_pack(
    path: Path,
    *,
    origin: str | None = None,
    cache_root: Path | None = None,
    environ: Mapping[str, str] = os.environ,
) -> LoadedPack:
    """Load and verify a pack directory or `.pack` archive; raise PackError if anything is off."""
    origin = origin or str(path)
    if path.is_symlink() and path.is_dir():
        raise PackError(f"pack {path}: is a symlink; point at the pack directory itself")
    if path.is_dir():
        manifest = read_manifest(path)
        verify_directory(path, manifest, f"{manifest.name} ({path})")
        return LoadedPack(manifest=manifest, root=path.resolve(), origin=origin)
    if not path.is_file():
        raise PackError(f"pack {path}: no such file or directory")
    cache = cache_root if cache_root is not None else default_cache_root(environ)
    manifest, root = _load_archive(path, cache)
    return LoadedPack(manifest=manifest, root=root, origin=origin)


def _load_archive(path: Path, cache_root: Path) -> tuple[Manifest, Path]:
    # The archive's sha256 names its extracted copy, so a changed archive never reuses a stale one.
    # A cache hit is still re-verified file by file against the manifest, and that manifest must be
    # byte-identical to the archive's: the cache is only as trusted as the archive it came from,
    # and costs a second pass of hashing (milliseconds for a pack without a model checkpoint).
    # A damaged cache is discarded and extracted again from the archive.
    digest = sha256_file(path)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise PackError(f"pack {path}: not a readable .pack (zip) file: {e}") from None
    with zf:
        members = _check_members(zf, str(path))
        try:
            manifest_bytes = zf.read(MANIFEST)
        except (zipfile.BadZipFile, zlib.error, EOFError) as e:
            raise PackError(f"pack {path}: manifest.toml is corrupt: {e}") from None
        manifest = parse_manifest(manifest_bytes, str(path))
        label = f"{manifest.name} ({path})"
        _check_listing(members.keys(), manifest, label)
        final = cache_root / digest
        if final.is_dir():
            cached = final / MANIFEST
            if cached.is_file() and not cached.is_symlink() and cached.read_bytes() == manifest_bytes:
                try:
                    verify_directory(final, manifest, label)
                    return manifest, final
                except PackError:
                    pass  # a damaged cache; the archive (already hashed) is the truth
            _discard(final, cache_root)
        return manifest, _extract(zf, members, manifest, final, label)


def _check_members(zf: zipfile.ZipFile, label: str) -> dict[str, zipfile.ZipInfo]:
    members: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in zf.infolist():
        name = info.filename
        rel = name[:-1] if name.endswith("/") else name
        if reason := unsafe_reason(rel):
            raise PackError(f"pack {label}: member {name!r} {reason}")
        mode = stat.S_IFMT(info.external_attr >> 16)
        if mode == stat.S_IFLNK:
            raise PackError(f"pack {label}: member {name!r} is a symlink; packs may not contain links")
        if mode not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise PackError(f"pack {label}: member {name!r} is not a regular file")
        if info.is_dir():
            continue
        if rel in members:
            raise PackError(f"pack {label}: member {name!r} appears twice")
        members[rel] = info
        total += info.file_size
    if total > MAX_UNPACKED_BYTES:
        raise PackError(f"pack {label}: unpacks to {total} bytes, more than {MAX_UNPACKED_BYTES}")
    if MANIFEST not in members:
        nested = sorted(m for m in members if m.endswith("/" + MANIFEST))
        hint = f" (found {nested[0]}: put the pack's files at the zip's root)" if nested else ""
        raise PackError(f"pack {label}: has no manifest.toml at its root{hint}")
    return members


def _check_listing(names: Any, manifest: Manifest, label: str) -> None:
    present = set(names) - {MANIFEST}
    if unlisted := sorted(present - manifest.files.keys()):
        raise PackError(f"pack {label}: file {unlisted[0]!r} is not listed in manifest.toml")
    if missing := sorted(manifest.files.keys() - present):
        raise PackError(f"pack {label}: file {missing[0]!r} is listed in manifest.toml but missing")


def _extract(
    zf: zipfile.ZipFile,
    members: Mapping[str, zipfile.ZipInfo],
    manifest: Manifest,
    final: Path,
    label: str,
) -> Path:
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{final.name[:16]}-", dir=final.parent))
    try:
        for info in zf.infolist():
            if info.is_dir():
                (tmp / info.filename.rstrip("/")).mkdir(parents=True, exist_ok=True)
        for rel, info in members.items():
            dest = tmp / rel
            try:
                dest.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, dest.open("xb") as dst:
                    shutil.copyfileobj(src, dst, _CHUNK)
            except (zipfile.BadZipFile, zlib.error, EOFError) as e:
                raise PackError(f"pack {label}: member {rel!r} is corrupt: {e}") from None
            except OSError as e:  # e.g. a file and a folder of the same name; or a full disk
                raise PackError(f"pack {label}: cannot extract member {rel!r}: {e}") from None
        verify_directory(tmp, manifest, label)
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.is_dir():
                raise
            # Another process extracted the same archive first; check its copy instead.
            shutil.rmtree(tmp, ignore_errors=True)
            verify_directory(final, manifest, label)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _discard(directory: Path, cache_root: Path) -> None:
    # Rename first so that no reader ever sees a half-deleted cache under its real name.
    doomed = Path(tempfile.mkdtemp(prefix=".discard-", dir=cache_root))
    with contextlib.suppress(OSError):  # already replaced or removed by another process
        os.rename(directory, doomed / "pack")
    shutil.rmtree(doomed, ignore_errors=True)
