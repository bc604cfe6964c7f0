"""Client of the warm embedding server: RemoteEmbedder and make_embedder; the socket, the wire and
the process live in server_socket.py (standard library only) and are re-exported here."""

from __future__ import annotations

import base64
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from remora_review import server_socket
from remora_review.config import Embedding
from remora_review.errors import UserError
from remora_review.packs.manifest import EmbeddingModel
from remora_review.retrieval.base import Embedder, TextKind
from remora_review.server_socket import (  # noqa: F401 (re-exported: the server's client API)
    LOCK_NAME,
    LOG_NAME,
    MAX_LOG_BYTES,
    MAX_REQUEST_BYTES,
    MAX_RESPONSE_BYTES,
    PID_NAME,
    REQUEST_CHUNK_BYTES,
    REQUEST_CHUNK_TEXTS,
    SOCKET_NAME,
    START_TIMEOUT_S,
    ServerError,
    ServerUnavailable,
    UnsafeRuntimeDir,
    _child_env,
    candidate_dir,
    check_private_dir,
    ping,
    request,
    runtime_dir,
    server_status,
    server_version,
    spawn_server,
    stop_server,
)
from remora_review.server_socket import start_server as _start

socket_path = server_socket.socket_path  # where the server listens, for this user

EMBED_TIMEOUT_S = 600.0  # a cold first embed loads the model; big batches take a while on a CPU

Warn = Callable[[str], None]


def encode_vectors(vectors: np.ndarray) -> dict[str, Any]:
    array = np.ascontiguousarray(vectors, dtype="<f4")
    n, dim = array.shape
    return {"n": n, "dim": dim, "vectors": base64.b64encode(array.tobytes()).decode("ascii")}


def decode_vectors(reply: Mapping[str, Any]) -> np.ndarray:
    n, dim = int(reply["n"]), int(reply["dim"])
    raw = base64.b64decode(reply["vectors"])
    if len(raw) != n * dim * 4:
        raise ServerError(f"embedding server sent {len(raw)} bytes for {n} x {dim} float32")
    return np.frombuffer(raw, dtype="<f4").reshape(n, dim).astype(np.float32)


def start_server(
    settings: Embedding,
    environ: Mapping[str, str] = os.environ,
    python: str = sys.executable,
    wait_s: float = START_TIMEOUT_S,
) -> Path:
    """Return the socket of a live server, starting one if none runs; raise with the reason otherwise."""
    return _start(settings.idle_timeout, environ, python, wait_s)


def ensure_server(
    settings: Embedding,
    environ: Mapping[str, str] = os.environ,
    python: str = sys.executable,
    *,
    warn: Warn | None = None,
) -> Path | None:
    """The socket of a live server (started if needed), or None: the caller then embeds in-process."""
    try:
        return start_server(settings, environ, python)
    except (UserError, ServerUnavailable, ServerError, TimeoutError, OSError) as e:
        if warn is not None:
            warn(f"embedding server unavailable, loading the model in this process: {e}")
        return None


# --- embedders ----------------------------------------------------------------------------------


class RemoteEmbedder:
    """An Embedder whose model lives in the warm server; switches to `fallback()` once if it dies."""

    def __init__(
        self,
        spec: EmbeddingModel,
        socket_path: Path,
        model_path: str | None = None,
        *,
        device: str = "cpu",
        fallback: Callable[[], Embedder] | None = None,
        warn: Warn | None = None,
        timeout: float = EMBED_TIMEOUT_S,
        max_texts_per_request: int = REQUEST_CHUNK_TEXTS,
    ) -> None:
        self._spec = spec
        self._socket = socket_path
        self._model_path = model_path
        self._device = device
        self._fallback = fallback
        self._warn = warn
        self._timeout = timeout
        self._max_texts = max_texts_per_request
        self._local: Embedder | None = None

    @property
    def model_id(self) -> str:
        return self._model_path or self._spec.model  # as the in-process embedder names it

    @property
    def spec_key(self) -> str:
        """The same key the in-process embedder gives: its vectors and these are interchangeable."""
        from remora_review.retrieval.embedder import (
            EmbeddingSpec,
            embedding_spec_key,
            model_identity,
        )

        spec = self._spec
        return embedding_spec_key(EmbeddingSpec(
            model_identity(self.model_id), spec.query_prompt, spec.document_prompt,
            spec.truncate_dim, spec.normalize,
        ))

    @property
    def dimension(self) -> int:
        return self._spec.dimension

    @property
    def socket_path(self) -> Path:
        return self._socket

    @property
    def is_remote(self) -> bool:
        """False once the server died and this embedder moved in-process."""
        return self._local is None

    def embed(self, texts: Sequence[str], kind: TextKind) -> np.ndarray:
        if self._local is None and texts:
            try:
                return self._embed_remote(texts, kind)
            except ServerUnavailable as e:
                if self._fallback is None:
                    raise
                if self._warn is not None:
                    self._warn(f"embedding server stopped answering ({e}); embedding in this process")
                self._local = self._fallback()
        if self._local is not None:
            return self._local.embed(texts, kind)
        return np.zeros((0, self.dimension), dtype=np.float32)

    def _embed_remote(self, texts: Sequence[str], kind: TextKind) -> np.ndarray:
        base = {"op": "embed", "spec": self._spec.model_dump(), "model_path": self._model_path,
                "device": self._device, "kind": kind}
        parts = [
            decode_vectors(request(self._socket, {**base, "texts": chunk}, self._timeout))
            for chunk in request_chunks(texts, max_texts=self._max_texts)
        ]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)


def request_chunks(
    texts: Sequence[str], max_bytes: int = REQUEST_CHUNK_BYTES, max_texts: int = REQUEST_CHUNK_TEXTS
) -> Iterator[list[str]]:
    """Split texts into requests well under the server's size bound (one text alone may exceed it)."""
    chunk: list[str] = []
    size = 0
    for text in texts:
        cost = len(json.dumps(text)) + 1  # ASCII-escaped, as request() sends it
        if chunk and (size + cost > max_bytes or len(chunk) >= max_texts):
            yield chunk
            chunk, size = [], 0
        chunk.append(text)
        size += cost
    if chunk:
        yield chunk


def make_embedder(
    spec: EmbeddingModel,
    settings: Embedding,
    environ: Mapping[str, str] = os.environ,
    model_path: str | None = None,
    *,
    warn: Warn | None = None,
    python: str = sys.executable,
) -> Embedder:
    """The warm server's embedder when enabled and reachable, else one in this process."""

    def in_process() -> Embedder:
        from remora_review.retrieval.embedder import LoadedModel, local_embedder
        from remora_review.user_dirs import default_onnx_dir

        # A model a warm server exported before loads through onnxruntime here too (no torch).
        model = LoadedModel(model_path or spec.model, settings.device, default_onnx_dir(environ))
        return local_embedder(spec, settings.device, model_path, shared=model)

    if settings.server:
        sock = ensure_server(settings, environ, python, warn=warn)
        if sock is not None:
            return RemoteEmbedder(spec, sock, model_path, device=settings.device,
                                  fallback=in_process, warn=warn)
    return in_process()
