"""The warm server's process, seen from a client: where its socket lives, one JSON request, and
starting, identifying and stopping it. Standard library only: the hook imports this before it
knows whether a review needs anything heavier."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from remora_review import __version__
from remora_review.errors import UserError

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


class UnsafeRuntimeDir(UserError):
    """The socket directory is not private to this user; using it would let others talk to the server."""


class ServerUnavailable(Exception):
    """No server answered: nothing listens on the socket, it died, or it hung up mid-request."""


class ServerError(Exception):
    """The server answered a request with an error that is not the user's to fix."""


def code_identity(python: str = sys.executable) -> str:
    """Which code a server runs: the release, the interpreter (its environment decides which packs
    entry points offer) and every module's size and mtime, so that a server started before an
    upgrade or an edit of this package is never taken for a current one. A few milliseconds."""
    package = os.path.dirname(os.path.abspath(__file__))
    stamps = []
    for directory, subdirs, files in os.walk(package):
        subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                with contextlib.suppress(OSError):
                    st = os.stat(os.path.join(directory, name))
                    stamps.append(f"{directory[len(package):]}/{name}:{st.st_size}:{st.st_mtime_ns}")
    text = "\0".join([__version__, python, *stamps])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


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

# --- the wire: one JSON object per line each way -----------------------------------------------


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


def server_identity(sock_path: Path, timeout: float = 1.0) -> str | None:
    """The code_identity() of the server answering on `sock_path` ("" for a server too old to
    say), or None if none answers."""
    try:
        reply = request(sock_path, {"op": "ping"}, timeout)
    except (ServerUnavailable, ServerError, ValueError):
        return None
    return str(reply.get("identity", "")) if reply.get("ok") is True else None


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
    sock_path: Path, idle_timeout: float, environ: Mapping[str, str], python: str,
    preload: bool = False,
) -> subprocess.Popen[bytes]:
    """Start `python -m remora_review.server` detached from this process and its terminal; with
    `preload`, it imports the embedding library as soon as it listens."""
    command = [python, "-m", "remora_review.server", "--socket", str(sock_path),
               "--idle-timeout", str(idle_timeout), *(["--preload"] if preload else [])]
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
    idle_timeout: float,
    environ: Mapping[str, str] = os.environ,
    python: str = sys.executable,
    wait_s: float = START_TIMEOUT_S,
    identity: str | None = None,
    preload: bool = False,
) -> Path:
    """Return the socket of a live server running this code (`identity`, code_identity() when
    not given), starting one (`preload`: see spawn_server) if none runs; raise with the reason
    otherwise."""
    sock = socket_path(environ)
    ours = identity if identity is not None else code_identity(python)
    if server_identity(sock) == ours:
        return sock
    with _exclusive(sock.parent / LOCK_NAME, timeout=wait_s + 5.0):
        running = server_identity(sock)
        if running == ours:  # another process started it while we waited for the lock
            return sock
        if running is not None:  # another release, an edited checkout or another environment
            stop_server(sock)
        if sock.exists() or sock.is_symlink():
            sock.unlink()  # stale: nothing answered on it
        proc = spawn_server(sock, idle_timeout, environ, python, preload)
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
