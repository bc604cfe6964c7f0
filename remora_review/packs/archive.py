"""Write packs: manifest.toml (a small TOML writer), the `files` hashes, and deterministic `.pack` zips."""

from __future__ import annotations

import math
import re
import shutil
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from remora_review.atomic import atomic_writer, write_atomic
from remora_review.packs.loader import (
    MANIFEST,
    PackError,
    read_manifest,
    sha256_file,
    verify_directory,
    walk_files,
)
from remora_review.packs.manifest import Manifest

_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold: no build time leaks in
_FILE_MODE = 0o100644 << 16
_DIR_MODE = (0o040755 << 16) | 0x10  # 0x10: the MS-DOS directory flag
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+\Z")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def manifest_to_toml(manifest: Manifest) -> str:
    return dumps_toml(manifest.model_dump(mode="json", exclude_none=True))


def write_manifest(manifest: Manifest, path: Path) -> None:
    write_atomic(path, manifest_to_toml(manifest).encode("utf-8"), 0o644)


def finalize_pack(directory: Path) -> Manifest:
    """Hash every file but manifest.toml into the manifest's `files` table, and rewrite it.

    The manifest is only rewritten when the result verifies (no pickles, no links, the named files
    present), so a failed finalize leaves the directory as it was.
    """
    manifest = read_manifest(directory)
    label = f"{manifest.name} ({directory})"
    files, _ = walk_files(directory, label)
    hashes = {rel: sha256_file(directory / rel) for rel in files if rel != MANIFEST}
    finalized = Manifest.model_validate({**manifest.model_dump(), "files": hashes})
    verify_directory(directory, finalized, label)
    write_manifest(finalized, directory / MANIFEST)
    return finalized


def write_pack(directory: Path, out: Path) -> Path:
    """Verify a finalized pack directory and zip it into `out`, byte-identical for the same files."""
    manifest = read_manifest(directory)
    label = f"{manifest.name} ({directory})"
    if out.resolve().is_relative_to(directory.resolve()):
        raise PackError(f"pack {label}: write the .pack outside the pack directory, not at {out}")
    verify_directory(directory, manifest, label)
    _, empty_dirs = walk_files(directory, label)
    entries = sorted([*manifest.files, MANIFEST, *(d + "/" for d in empty_dirs)])
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(out, 0o644) as raw, zipfile.ZipFile(raw, "w") as zf:
        for name in entries:
            _add_entry(zf, directory, name)
    return out


def _add_entry(zf: zipfile.ZipFile, directory: Path, name: str) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
    info.create_system = 3  # unix, whatever the building machine is
    if name.endswith("/"):
        info.external_attr = _DIR_MODE
        zf.writestr(info, b"")
        return
    info.external_attr = _FILE_MODE
    info.compress_type = zipfile.ZIP_DEFLATED
    path = directory / name
    info.file_size = path.stat().st_size
    with path.open("rb") as src, zf.open(info, "w") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)




# A TOML writer for the shapes a manifest has: scalars, arrays of scalars, tables, arrays of tables.


def dumps_toml(table: Mapping[str, Any]) -> str:
    lines: list[str] = []
    _emit_table(lines, (), table)
    return "\n".join(lines).lstrip("\n") + "\n"


def _emit_table(lines: list[str], path: tuple[str, ...], table: Mapping[str, Any]) -> None:
    nested = []
    for key, value in table.items():
        if value is None:
            continue
        if (isinstance(value, Mapping) and value) or _is_table_array(value):
            nested.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_value(value)}")
    for key, value in nested:
        sub = (*path, key)
        header = ".".join(_key(k) for k in sub)
        if isinstance(value, Mapping):
            lines.extend(["", f"[{header}]"])
            _emit_table(lines, sub, value)
        else:
            for item in value:
                lines.extend(["", f"[[{header}]]"])
                _emit_table(lines, sub, item)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _string(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)  # the shortest text that reads back as the same float
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items() if v is not None) + "}"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _string(text: str) -> str:
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'
