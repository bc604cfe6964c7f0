"""`remora-review server status | stop | start` as a user runs them."""

from __future__ import annotations

import argparse
import os
import stat
from pathlib import Path

import pytest

from remora_review import server_client as client
from remora_review import server_commands
from remora_review.errors import UserError


def server_cli(argv: list[str], env: dict[str, str]) -> int:
    parser = argparse.ArgumentParser(prog="remora-review")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--config", type=Path)
    server_commands.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.handler(args, env))


@pytest.fixture(autouse=True)
def in_a_dir_without_pyproject(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_start_status_stop(runtime_env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert server_cli(["server", "status"], runtime_env) == 1
    assert "not running" in capsys.readouterr().out

    assert server_cli(["server", "start"], runtime_env) == 0
    started = capsys.readouterr().out
    assert "started (pid" in started
    sock = client.candidate_dir(runtime_env) / client.SOCKET_NAME
    pid = client.server_status(sock)["pid"]  # type: ignore[index]
    assert f"pid {pid}" in started

    assert server_cli(["server", "start"], runtime_env) == 0
    assert f"already running (pid {pid})" in capsys.readouterr().out

    assert server_cli(["server", "status"], runtime_env) == 0
    shown = capsys.readouterr().out
    for expected in (f"running (pid {pid})", "uptime:", "requests:", "models:       none loaded yet",
                     "peak RSS:", "idle timeout: 900 s", str(sock)):
        assert expected in shown

    assert server_cli(["server", "stop"], runtime_env) == 0
    assert f"stopped (pid {pid})" in capsys.readouterr().out
    assert not sock.exists()
    assert server_cli(["server", "stop"], runtime_env) == 0
    assert "not running" in capsys.readouterr().out
    assert server_cli(["server", "status"], runtime_env) == 1


def test_idle_timeout_from_config(
    runtime_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.remora-review.embedding]\nidle-timeout = 60\n')
    assert server_cli(["server", "start"], runtime_env) == 0
    assert server_cli(["server", "status"], runtime_env) == 0
    assert "idle timeout: 60 s" in capsys.readouterr().out


def test_unsafe_dir_is_one_clear_error(runtime_env: dict[str, str]) -> None:
    directory = client.candidate_dir(runtime_env)
    directory.mkdir(mode=0o700)
    directory.chmod(0o770)
    with pytest.raises(UserError, match="mode 0770"):
        server_cli(["server", "start"], runtime_env)
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o770  # left as it was
