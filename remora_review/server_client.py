"""Client of the warm embedding server: where its socket lives, starting it once, and RemoteEmbedder."""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from remora_review import __version__
from remora_review.config import Embedding
from remora_review.errors import UserError
from remora_review.packs.manifest import EmbeddingModel
from remora_review.retrieval.base import Embedder, TextKind

if TYPE_CHECKING:
    pass

SOCKET_NAME = "embed.sock"
PID_NAME = "server.pid"
LOCK_NAME = "start.lock"
LOG_NAME = "server.log"
MAX_REQUEST_BYTES = 64 * 1024 * 1024
MAX_RESPONSE_BYTES = 1024 * 1024 * 1024
MAX_LOG_BYTES = 1024 * 1024
REQUEST_CHUNK_BYTES = 8 * 1024 * 1024  # texts per embed request: well under MAX_REQUEST_BYTES
REQUEST_CHUNK_TEXTS = 1024
START_TIMEOUT_S = 10.0
EMBED_TIMEOUT_S = 600.0  # a cold first embed loads the model; big batches take a while on a CPU

Warn = Callable[[str], None]


class UnsafeRuntimeDir(UserError):
    """The socket directory is not private to this user; using it would let others talk to the server."""


class ServerUnavailable(Exception):
    """No server answered: nothing listens on the socket, it died, or it hung up mid-request."""


class ServerError(Exception):
    """The server answered a request with an error that is not the user's to fix."""


# --- where the socket lives -------------------------------------------------------------------


def candidate_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """`$XDG_RUNTIME_DIR/remora-review` when that dir exists and is ours, else `/tmp/remora-review-<uid>`."""
    uid = os.getuid()
    xdg = environ.get("XDG_RUNTIME_DIR", "")
    if xdg and os.path.isabs(xdg):
        try:
            st = os.stat(xdg)
        except OSError:
            st = None
        if st is not None and stat.S_ISDIR(st.st_mode) and st.st_uid == uid:
            return Path(xdg) / "remora-review"
    return Path("/tmp") / f"remora-review-{uid}"


def check_private_dir(path: Path) -> None:
    """Raise UnsafeRuntimeDir unless `path` is a real directory owned by us with no group/other bits."""
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafeRuntimeDir(f"{path} is not a directory; remove it to use the embedding server")
    if st.st_uid != os.getuid():
        raise UnsafeRuntimeDir(
            f"{path} belongs to uid {st.st_uid}, not to you (uid {os.getuid()}); "
            "refusing to use it for the embedding server"
        )
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        raise UnsafeRuntimeDir(
            f"{path} has mode {mode:04o}, open to other users; "
            f"run `chmod 700 {path}` to use the embedding server"
        )


def runtime_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """The private directory that holds the socket, pid, lock and log files; created 0700 if missing."""
    path = candidate_dir(environ)
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)
    check_private_dir(path)
    return path


def socket_path(environ: Mapping[str, str] = os.environ) -> Path:
    return runtime_dir(environ) / SOCKET_NAME


# --- the wire: one JSON object per line each way -----------------------------------------------


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


def request(sock_path: Path, payload: Mapping[str, Any], timeout: float = 5.0) -> dict[str, Any]:
    """Send one request and return the reply; ServerUnavailable when no live server answers."""
    line = json.dumps(payload, separators=(",", ":")).encode("utf-8") + b"\n"
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(timeout)
            conn.connect(str(sock_path))
            conn.sendall(line)
            with conn.makefile("rb") as reader:
                answer = reader.readline(MAX_RESPONSE_BYTES)
    except OSError as e:  # refused, missing, reset, timed out
        raise ServerUnavailable(f"embedding server at {sock_path}: {e}") from None
    if not answer.endswith(b"\n"):
        raise ServerUnavailable(f"embedding server at {sock_path} hung up without an answer")
    reply = json.loads(answer)
    if not isinstance(reply, dict):
        raise ServerError(f"embedding server sent {type(reply).__name__}, not an object")
    if "error" in reply:
        if reply.get("user_error"):
            raise UserError(str(reply["error"]))
        raise ServerError(str(reply["error"]))
    return reply


def server_version(sock_path: Path, timeout: float = 1.0) -> str | None:
    """The remora-review version of the server answering on `sock_path`, or None if none answers."""
    try:
        reply = request(sock_path, {"op": "ping"}, timeout)
    except (ServerUnavailable, ServerError, ValueError):
        return None
    return str(reply.get("version", "unknown")) if reply.get("ok") is True else None


def ping(sock_path: Path, timeout: float = 1.0) -> bool:
    return server_version(sock_path, timeout) is not None


def server_status(sock_path: Path, timeout: float = 2.0) -> dict[str, Any] | None:
    """The server's status (pid, uptime_s, requests, models, peak_rss_mb, ...), or None if none runs."""
    try:
        return request(sock_path, {"op": "status"}, timeout)
    except (ServerUnavailable, ServerError, ValueError):
        return None


def stop_server(sock_path: Path, timeout: float = 10.0) -> int | None:
    """Ask the server to exit and wait until its socket is gone; its pid, or None if none was running."""
    status = server_status(sock_path)
    if status is None:
        return None
    with contextlib.suppress(ServerUnavailable, ServerError, ValueError):
        request(sock_path, {"op": "stop"}, timeout=2.0)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and sock_path.exists():
        time.sleep(0.05)
    return int(status["pid"])


# --- starting one server, once ------------------------------------------------------------------


@contextlib.contextmanager
def _exclusive(lock_file: Path, timeout: float) -> Iterator[None]:
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{lock_file} stayed locked for {timeout:.0f} s") from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing drops the lock


def _child_env(environ: Mapping[str, str]) -> dict[str, str]:
    env = dict(environ)
    # The server must run this very code, also from a source checkout that is not installed.
    package_parent = str(Path(__file__).resolve().parent.parent)
    if Path(package_parent).name not in ("site-packages", "dist-packages"):
        rest = env.get("PYTHONPATH", "")
        env["PYTHONPATH"] = package_parent + (os.pathsep + rest if rest else "")
    return env


def spawn_server(
    sock_path: Path, idle_timeout: float, environ: Mapping[str, str], python: str
) -> subprocess.Popen[bytes]:
    """Start `python -m remora_review.server` detached from this process and its terminal."""
    command = [python, "-m", "remora_review.server", "--socket", str(sock_path),
               "--idle-timeout", str(idle_timeout)]
    log_file = sock_path.parent / LOG_NAME
    fresh = log_file.exists() and log_file.stat().st_size > MAX_LOG_BYTES  # keep one run's worth
    with open(log_file, "wb" if fresh else "ab") as log:
        proc = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True, cwd="/", env=_child_env(environ),
        )
    # Reap it when it exits, should this process outlive it (tests, editors); a daemon thread
    # does not keep a short-lived hook alive.
    threading.Thread(target=proc.wait, name="remora-server-reaper", daemon=True).start()
    return proc


def _log_tail(directory: Path, lines: int = 3) -> str:
    try:
        text = (directory / LOG_NAME).read_text("utf-8", errors="replace")
    except OSError:
        return ""
    return " | ".join(text.strip().splitlines()[-lines:])


def start_server(
    settings: Embedding,
    environ: Mapping[str, str] = os.environ,
    python: str = sys.executable,
    wait_s: float = START_TIMEOUT_S,
) -> Path:
    """Return the socket of a live server, starting one if none runs; raise with the reason otherwise."""
    sock = socket_path(environ)
    if server_version(sock) == __version__:
        return sock
    with _exclusive(sock.parent / LOCK_NAME, timeout=wait_s + 5.0):
        running = server_version(sock)
        if running == __version__:  # another process started it while we waited for the lock
            return sock
        if running is not None:  # left by another remora-review release: it runs other code
            stop_server(sock)
        if sock.exists() or sock.is_symlink():
            sock.unlink()  # stale: nothing answered on it
        proc = spawn_server(sock, settings.idle_timeout, environ, python)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if ping(sock, timeout=0.5):
                return sock
            if proc.poll() is not None:
                raise ServerUnavailable(
                    f"embedding server exited with status {proc.returncode}: {_log_tail(sock.parent)}"
                )
            time.sleep(0.05)
        raise ServerUnavailable(f"embedding server did not answer within {wait_s:.0f} s")


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
        from remora_review.retrieval.embedder import local_embedder

        return local_embedder(spec, settings.device, model_path)

    if settings.server:
        sock = ensure_server(settings, environ, python, warn=warn)
        if sock is not None:
            return RemoteEmbedder(spec, sock, model_path, device=settings.device,
                                  fallback=in_process, warn=warn)
    return in_process()
