"""Real git repositories and the real CLI, run in a subprocess like pre-commit runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
}


class Repo:
    def __init__(self, path: Path, runtime: Path) -> None:
        self.path = path
        # Strict: a check that raises fails the run (exit 2) instead of becoming a quiet note.
        self.env = {**os.environ, **GIT_ENV, "REMORA_REVIEW_STRICT": "1",
                    "XDG_RUNTIME_DIR": str(runtime),
                    "XDG_CACHE_HOME": str(runtime / "cache"),
                    "XDG_DATA_HOME": str(runtime / "data")}

    def git(self, *args: str) -> str:
        return subprocess.run(["git", *args], cwd=self.path, env=self.env, check=True,
                              capture_output=True, text=True).stdout

    def write(self, rel: str, text: str | bytes) -> Path:
        path = self.path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, "utf-8")
        return path

    def commit(self, message: str = "commit") -> None:
        self.git("add", "-A")
        self.git("commit", "-qm", message)

    def review(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "remora_review.cli", *args], cwd=self.path,
                              env={**self.env, **(env or {})}, capture_output=True, text=True)


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repo]:
    path = tmp_path / "repo"
    path.mkdir()
    runtime = Path(os.path.realpath("/tmp")) / f"rr-{os.getpid()}-{tmp_path.name[-12:]}"
    runtime.mkdir(mode=0o700, exist_ok=True)
    r = Repo(path, runtime)
    r.git("init", "-q", "-b", "main")
    yield r
    stop_server_in(runtime)


def stop_server_in(runtime: Path) -> None:
    """Stop the server a test's reviews started with `runtime` as XDG_RUNTIME_DIR, if one runs: a
    review with packs active starts one, and it must not outlive the test."""
    from remora_review import server_client

    sock = server_client.candidate_dir({"XDG_RUNTIME_DIR": str(runtime)}) / server_client.SOCKET_NAME
    if sock.exists():
        server_client.stop_server(sock)
