"""The warm server: keeps models (and, for reviews, modules, packs and project indexes) loaded and
answers JSON lines on a private unix socket."""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import resource
import signal
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from remora_review import __version__
from remora_review.atomic import write_atomic
from remora_review.errors import UserError
from remora_review.server_socket import code_identity
from remora_review.user_dirs import default_onnx_dir

if TYPE_CHECKING:
    import numpy as np

    from remora_review.packs.manifest import EmbeddingModel
    from remora_review.retrieval.base import Embedder, TextKind
    from remora_review.server_review import ReviewCache

EXPORT_AFTER_IDLE_S = 10.0  # a loaded model is exported to ONNX once the commits pause this long
PID_NAME = "server.pid"  # the same names as server_client's, kept here so this module stays light
MAX_REQUEST_BYTES = 64 * 1024 * 1024


def peak_rss_mb() -> float:
    """This process's peak resident set size (ru_maxrss: kilobytes on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


@dataclass
class ServerState:
    """What the server knows between requests; every mutation happens under `lock`."""

    idle_timeout: float
    identity: str = field(default_factory=code_identity)  # the code this process runs
    started: float = field(default_factory=time.monotonic)
    last_request: float = field(default_factory=time.monotonic)
    requests: int = 0
    active: int = 0
    loaded: dict[str, Any] = field(default_factory=dict)  # LoadedModel by (name, device)
    embedders: dict[str, Embedder] = field(default_factory=dict)  # by (spec, model_path, device)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)  # what status reports
    lock: threading.Lock = field(default_factory=threading.Lock)
    model_lock: threading.Lock = field(default_factory=threading.Lock)  # load and encode one at a time
    review_lock: threading.Lock = field(default_factory=threading.Lock)  # one review at a time
    reviews: ReviewCache | None = None  # made by the first review request
    exports_tried: set[Any] = field(default_factory=set)  # LoadedModels _export_idle_models saw
    review_count: int = 0

    def begin(self) -> None:
        with self.lock:
            self.active += 1
            self.last_request = time.monotonic()

    def end(self) -> None:
        with self.lock:
            self.active -= 1
            self.requests += 1
            self.last_request = time.monotonic()

    def idle_for(self) -> float:
        with self.lock:
            return 0.0 if self.active else time.monotonic() - self.last_request


def _status(state: ServerState, sock: str) -> dict[str, Any]:
    with state.lock:
        return {
            "pid": os.getpid(),
            "socket": sock,
            "uptime_s": round(time.monotonic() - state.started, 3),
            "requests": state.requests,
            "reviews": state.review_count,
            "generator": state.reviews.generator_status() if state.reviews else None,
            "models": [dict(m, dimensions=list(m["dimensions"])) for m in state.models.values()],
            "peak_rss_mb": peak_rss_mb(),
            "idle_timeout": state.idle_timeout,
            "torch_loaded": "torch" in sys.modules,
            "version": __version__,
            "python": sys.executable,
        }


def _embedder_for(state: ServerState, spec: EmbeddingModel, model_path: str | None,
                  device: str) -> Embedder:
    """The embedder for this spec (call it under `model_lock`); specs that differ only in prompts
    share one model."""
    from remora_review.retrieval.embedder import LoadedModel, local_embedder

    key = json.dumps([spec.model_dump(), model_path, device], sort_keys=True)
    embedder = state.embedders.get(key)
    if embedder is not None:
        return embedder
    name = model_path or spec.model
    model_key = json.dumps([name, device])
    loaded = state.loaded.get(model_key)
    if loaded is None:
        began = time.monotonic()
        loaded = LoadedModel(name, device, default_onnx_dir())
        loaded.get()  # load now: a model that cannot load is this request's error, and not kept
        print(f"loaded {name} on {device} ({loaded.backend}) in "
              f"{time.monotonic() - began:.1f} s", file=sys.stderr, flush=True)
        with state.lock:
            state.loaded[model_key] = loaded
            state.models[model_key] = {"model": name, "device": device, "dimensions": [],
                                       "backend": loaded.backend}
    embedder = local_embedder(spec, device, model_path, shared=loaded)
    state.embedders[key] = embedder
    with state.lock:
        state.models[model_key]["dimensions"].append(embedder.dimension)
    return embedder


def _embed_texts(state: ServerState, spec: EmbeddingModel, model_path: str | None, device: str,
                 texts: Sequence[str], kind: TextKind) -> np.ndarray:
    with state.model_lock:
        return _embedder_for(state, spec, model_path, device).embed(texts, kind)


def _embed(state: ServerState, request: dict[str, Any]) -> dict[str, Any]:
    from remora_review.packs.manifest import EmbeddingModel
    from remora_review.server_client import encode_vectors

    kind, texts = request.get("kind"), request.get("texts")
    if kind not in ("query", "document"):
        raise ValueError("kind must be 'query' or 'document'")
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise ValueError("texts must be a list of strings")
    spec = EmbeddingModel.model_validate(request.get("spec"))
    model_path, device = request.get("model_path"), request.get("device") or "cpu"
    if not isinstance(model_path, (str, type(None))) or not isinstance(device, str):
        raise ValueError("model_path and device must be strings")
    return encode_vectors(_embed_texts(state, spec, model_path, device, texts, kind))


def _import_embedding_library() -> None:
    """What the first embed will need: onnxruntime when a model was exported, else
    sentence-transformers (5 s; its torch and transformers are what an export saves)."""
    import importlib.util

    exported = any(default_onnx_dir().glob("*/remora-onnx.json"))
    names = ("onnxruntime", "tokenizers") if exported else ("sentence_transformers",)
    for name in names:
        if importlib.util.find_spec(name) is not None:
            with contextlib.suppress(Exception):  # the embed itself reports what is wrong
                importlib.import_module(name)


def _export_idle_models(state: ServerState) -> None:
    """Export each model loaded through sentence-transformers to ONNX, once, so that the next
    server starts without torch (retrieval/onnx_export.py); the server is idle, and embeds wait
    for the model lock meanwhile."""
    with state.lock:
        waiting = [m for m in state.loaded.values() if m not in state.exports_tried]
        state.exports_tried.update(waiting)
    for loaded in waiting:
        began = time.monotonic()
        try:
            target = loaded.export_target()
            if target is None:
                continue
            with state.model_lock:
                from remora_review.retrieval.onnx_export import export_onnx

                reason = export_onnx(loaded.get(), *target)
        except Exception as e:  # a cache that cannot be written: the server serves on as it was
            reason = f"{type(e).__name__}: {e}"
        outcome = "exported to ONNX" if reason is None else f"not exported to ONNX: {reason}"
        print(f"{loaded.name}: {outcome} ({time.monotonic() - began:.1f} s)",
              file=sys.stderr, flush=True)


def _review(state: ServerState, request: dict[str, Any], whole: bool = False) -> dict[str, Any]:
    """A hook's review, run here with what the server keeps warm (server_review.py); `whole`:
    its whole `check` command (server_review.check_answer)."""
    if request.get("identity") != state.identity:
        # The hook runs other code (or another environment): its own review is the right one.
        return {"error": "the review server runs other code than this hook", "mismatch": True}
    from remora_review.server_review import ReviewCache, answer, check_answer

    with state.review_lock:
        if state.reviews is None:
            state.reviews = ReviewCache(
                lambda spec, path, device, texts, kind: _embed_texts(
                    state, spec, path, device, texts, kind))
        reply = (check_answer if whole else answer)(state.reviews, request)
        with state.lock:
            state.review_count += 1
        return reply


class _Handler(socketserver.StreamRequestHandler):
    server: EmbeddingServer

    def handle(self) -> None:
        while True:
            line = self.rfile.readline(MAX_REQUEST_BYTES + 1)
            if not line:
                return
            if len(line) > MAX_REQUEST_BYTES:
                while line and not line.endswith(b"\n"):  # drain it, so the client reads our answer
                    line = self.rfile.readline(1024 * 1024)
                self._reply({"error": f"request larger than {MAX_REQUEST_BYTES} bytes"})
                return
            self.server.state.begin()
            try:
                reply = self._answer(line)
            finally:
                self.server.state.end()
            self._reply(reply)
            if reply.get("stopping"):
                threading.Thread(target=self.server.shutdown, daemon=True).start()
                return

    def _answer(self, line: bytes) -> dict[str, Any]:
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("a request is a JSON object")
            op = request.get("op")
            if op == "ping":
                return {"ok": True, "version": __version__, "identity": self.server.state.identity}
            if op == "status":
                return _status(self.server.state, str(self.server.server_address))
            if op == "stop":
                return {"ok": True, "stopping": True}
            if op == "embed":
                return _embed(self.server.state, request)
            if op == "review":
                return _review(self.server.state, request)
            if op == "check":
                return _review(self.server.state, request, whole=True)
            return {"error": f"unknown op {op!r}"}
        except UserError as e:
            return {"error": str(e), "user_error": True}
        except Exception as e:  # one bad request must not take the server down
            return {"error": f"{type(e).__name__}: {e}"}

    def _reply(self, reply: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):  # the client went away
            self.wfile.write(json.dumps(reply, separators=(",", ":")).encode("utf-8") + b"\n")
            self.wfile.flush()


class EmbeddingServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, sock_path: Path, state: ServerState) -> None:
        self.state = state
        super().__init__(str(sock_path), _Handler)


def _claim_path(sock_path: Path) -> None:
    """Refuse a path a live server answers on; remove a stale socket nobody listens on."""
    if not (sock_path.exists() or sock_path.is_symlink()):
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(str(sock_path))
        except OSError:
            sock_path.unlink()
            return
    raise UserError(f"an embedding server already listens on {sock_path}")


def _watch_idle(server: EmbeddingServer, stopped: threading.Event) -> None:
    timeout = server.state.idle_timeout
    while not stopped.wait(min(1.0, max(0.05, timeout / 4))):
        idle = server.state.idle_for()
        if idle >= timeout:
            print(f"idle for {timeout:g} s, exiting", file=sys.stderr, flush=True)
            server.shutdown()
            return
        if idle >= EXPORT_AFTER_IDLE_S:
            _export_idle_models(server.state)


def _remove_if_ours(path: Path, inode: int | None = None, content: str | None = None) -> None:
    with contextlib.suppress(OSError):
        if inode is not None and os.lstat(path).st_ino != inode:
            return  # someone replaced it: not ours to remove
        if content is not None and path.read_text("utf-8").strip() != content:
            return
        path.unlink()


def _write_pid(path: Path) -> None:
    write_atomic(path, f"{os.getpid()}\n".encode(), follow_symlinks=False)


def serve(sock_path: Path, idle_timeout: float, preload: bool = False) -> None:
    """Listen on `sock_path` until stopped, SIGTERM, or `idle_timeout` seconds without a request;
    with `preload`, import the embedding library at once (a hook started this server for its
    reviews and will embed through it in a moment)."""
    _claim_path(sock_path)
    server = EmbeddingServer(sock_path, ServerState(idle_timeout=idle_timeout))
    os.chmod(sock_path, 0o600)  # the directory is 0700 already; this is a second lock on the door
    inode = os.lstat(sock_path).st_ino
    pid_file = sock_path.parent / PID_NAME
    _write_pid(pid_file)
    stopped = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():  # signals reach the main thread only
        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGHUP)}
    watcher = threading.Thread(target=_watch_idle, args=(server, stopped), daemon=True)
    watcher.start()
    if preload:
        threading.Thread(target=_import_embedding_library, daemon=True).start()
    print(f"pid {os.getpid()} listening on {sock_path} (idle timeout {idle_timeout:g} s)",
          file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        stopped.set()
        server.server_close()
        _remove_if_ours(pid_file, content=str(os.getpid()))
        _remove_if_ours(sock_path, inode=inode)  # last: clients wait for the socket to go
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        print(f"pid {os.getpid()} stopped", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m remora_review.server", description=__doc__)
    parser.add_argument("--socket", type=Path, required=True)
    parser.add_argument("--idle-timeout", type=float, default=900.0)
    parser.add_argument("--preload", action="store_true",
                        help="import the embedding library at once, not on the first embed")
    args = parser.parse_args(argv)
    # The server holds a large heap for good (packs, models, project indexes) and a review
    # allocates a few hundred thousand short-lived objects (syntax trees, profiles, posteriors):
    # with the default thresholds the cyclic collector ran so often that it took a tenth of a
    # warm review's CPU (gc disabled: 0.235 s instead of 0.266 s). Collecting a hundred times
    # less often took 0.214-0.222 s (bench/bench_hook.py's commit, 2026-12-05).
    gc.set_threshold(100_000, 50, 100)
    try:
        serve(args.socket, args.idle_timeout, args.preload)
    except UserError as e:
        print(f"remora-review server: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
