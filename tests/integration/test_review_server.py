"""Reviews in the warm server: the real CLI against a real server process, in real repositories,
printing and writing exactly what the in-process review does, and never a stale answer after an
edit, a project change, a branch switch, a temporary index or a pack upgrade."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from remora_review import server_client as client
from remora_review.api_table import ApiTable, ClassInfo, Member
from remora_review.packs.archive import finalize_pack
from tests.integration.conftest import Repo
from tests.packs.conftest import write_pack_files

pytestmark = pytest.mark.slow

IN_PROCESS = {"REMORA_REVIEW_IN_PROCESS": "1"}
CONFIG = "[tool.remora-review.typehints]\nreport-below = true\n"
DB = ("from sqlalchemy.orm import Session\n\n\n"
      "def store(session: Session, row) -> None:\n    session.add(row)\n")
VIEWS = ("import sqlalchemy\n\nfrom app.db import store\n\n\n"
         "def save(x, row):\n    store(x, row)\n    x.execute(row)\n")
SAVE = ("import sqlalchemy\n\n\ndef save(s, user):\n    s.add(user)\n    s.flush()\n"
        "    s.commit()\n    return user\n")


@pytest.fixture(scope="module")
def runtime() -> Iterator[Path]:
    """One runtime dir (one server, one model load) for the module's repositories."""
    path = Path(tempfile.mkdtemp(prefix="rrs", dir="/tmp"))
    yield path
    sock = client.candidate_dir({"XDG_RUNTIME_DIR": str(path)}) / client.SOCKET_NAME
    if sock.exists():
        client.stop_server(sock)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def srepo(tmp_path: Path, runtime: Path) -> Repo:
    path = tmp_path / "repo"
    path.mkdir()
    r = Repo(path, runtime)
    r.env["XDG_CACHE_HOME"] = str(tmp_path / "cache")  # packs' extracted copies, per test
    r.git("init", "-q", "-b", "main")
    r.write("pyproject.toml", CONFIG)
    return r


def _reviews(repo: Repo) -> int:
    status = client.server_status(client.candidate_dir(repo.env) / client.SOCKET_NAME)
    return -1 if status is None else int(status["reviews"])


def both(repo: Repo, *args: str, env: dict[str, str] | None = None) -> str:
    """The output of the server's review, checked equal to the in-process one (exit code and
    stdout byte for byte, stderr too); asserts the server did run it."""
    if _reviews(repo) < 0:  # no server yet: this run reviews in-process and starts one
        repo.review("check", *args, env=env)
    before = _reviews(repo)
    served = repo.review("check", *args, env=env)
    assert served.returncode in (0, 1), served.stderr
    assert _reviews(repo) == before + 1, served.stderr
    local = repo.review("check", *args, env={**(env or {}), **IN_PROCESS})
    assert (served.returncode, served.stdout, served.stderr) == (
        local.returncode, local.stdout, local.stderr)
    return served.stdout


def test_every_output_format_is_the_same_as_in_process(srepo: Repo) -> None:
    srepo.commit("base")
    srepo.write("app/users.py", SAVE)
    srepo.git("add", "-A")
    text = both(srepo)
    assert "RR101" in text and "Session" in text
    for fmt in ("json", "sarif", "github"):
        both(srepo, "--output-format", fmt)
    diff = both(srepo, "--diff-output")
    assert "+def save(s: Session, user):" in diff
    both(srepo, "--select", "RR2")
    both(srepo, "--all")


def test_fix_writes_the_same_file_as_in_process(srepo: Repo) -> None:
    srepo.commit("base")
    srepo.write("app/users.py", SAVE)
    srepo.git("add", "-A")
    served = srepo.review("check", "--fix")
    fixed = (srepo.path / "app/users.py").read_bytes()
    assert b"s: Session" in fixed, served.stderr
    srepo.git("checkout", "--", "app/users.py")
    local = srepo.review("check", "--fix", env=IN_PROCESS)
    assert (srepo.path / "app/users.py").read_bytes() == fixed
    assert (served.returncode, served.stdout) == (local.returncode, local.stdout)


def test_an_edit_between_two_runs_is_seen(srepo: Repo) -> None:
    srepo.commit("base")
    srepo.write("app/users.py", SAVE)
    srepo.git("add", "-A")
    first = both(srepo)
    srepo.write("app/users.py", "\n\n" + SAVE.replace("s.flush()", "s.execute(user)"))
    srepo.git("add", "-A")
    second = both(srepo)
    assert first != second and "app/users.py:6:" in second


def test_a_project_change_outside_the_commit_is_seen(srepo: Repo) -> None:
    """The callee's annotation in another module is evidence; unstaging that module changes the
    answer, and the server's project index must follow."""
    srepo.write("app/__init__.py", "")
    srepo.write("app/db.py", DB)
    srepo.commit("base")
    srepo.write("app/views.py", VIEWS)
    srepo.git("add", "app/views.py")
    with_db = json.loads(both(srepo, "--output-format", "json"))
    srepo.git("rm", "-q", "--cached", "app/db.py")
    without = json.loads(both(srepo, "--output-format", "json"))
    assert with_db != without


def test_a_branch_switch_is_seen(srepo: Repo) -> None:
    srepo.write("app/__init__.py", "")
    srepo.write("app/db.py", DB)
    srepo.commit("base")
    srepo.git("checkout", "-q", "-b", "other")
    srepo.write("app/db.py", DB.replace("Session", "Connection").replace(
        "sqlalchemy.orm", "sqlalchemy.engine"))
    srepo.commit("connection")
    srepo.write("app/views.py", VIEWS)
    srepo.git("add", "app/views.py")
    on_other = both(srepo, "--output-format", "json")
    srepo.git("stash", "-q")
    srepo.git("checkout", "-q", "main")
    srepo.git("stash", "pop", "-q")
    srepo.git("add", "app/views.py")
    on_main = both(srepo, "--output-format", "json")
    assert on_other != on_main


def _staged_in_a_temporary_index(repo: Repo) -> dict[str, str]:
    """As `git commit -a` stages: a temporary index (a relative GIT_INDEX_FILE) from HEAD, with
    app/users.py three lines lower than in the repository's own index; its environment."""
    alt = {"GIT_INDEX_FILE": ".git/alt-index"}
    subprocess.run(["git", "read-tree", "HEAD"], cwd=repo.path, env={**repo.env, **alt},
                   check=True)
    repo.write("app/users.py", "\n\n\n" + SAVE)
    subprocess.run(["git", "add", "app/users.py"], cwd=repo.path, env={**repo.env, **alt},
                   check=True)
    return alt


def test_a_temporary_index_from_git_commit_a_is_the_one_reviewed(srepo: Repo) -> None:
    """`git commit -a` runs the hook with GIT_INDEX_FILE on a temporary index (a relative path
    here): the server must read that index, not the repository's."""
    srepo.commit("base")
    srepo.write("app/users.py", SAVE)
    srepo.git("add", "-A")
    normal = both(srepo)
    alt = _staged_in_a_temporary_index(srepo)
    temporary = both(srepo, env=alt)
    assert "app/users.py:7:" in temporary and temporary != normal


def _tiny_pack(directory: Path, members: tuple[str, ...], version: str) -> None:
    """The tests' tiny pack (tests/packs) with its Session's members replaced: a new release."""
    write_pack_files(directory, version=version, dim=384)
    session = ClassInfo(name="tiny.Session", defined_in="tiny.session.Session", bases=(),
                        members={m: Member(m, "method") for m in members})
    ApiTable(library="tiny", version="1.0", classes={session.name: session}).save(
        directory / "api.json")
    finalize_pack(directory)


def test_a_pack_upgrade_is_seen(srepo: Repo, tmp_path: Path) -> None:
    packs = srepo.path / "packs" / "tiny"
    _tiny_pack(packs, ("add", "commit"), "0.1.0")
    srepo.write("pyproject.toml", '[tool.remora-review]\npack-paths = ["packs"]\n' + CONFIG)
    srepo.commit("base")
    srepo.write("app/use.py", "from tiny import Session\n\n\n"
                "def go(s: Session, x):\n    s.add(x)\n    s.commit()\n")
    srepo.git("add", "app/use.py")
    before = both(srepo)
    shutil.rmtree(packs)
    _tiny_pack(packs, ("execute", "scalars"), "0.2.0")
    after = both(srepo)
    assert "RR201" not in before and "`Session` has no attribute `add`" in after


def test_cold_the_hook_reviews_itself_and_leaves_a_server_for_the_next_commit(
        tmp_path: Path) -> None:
    """With no server running, waiting for one to import everything would be slower than
    reviewing here while it starts (it imports the embedding library at once, on the other core)."""
    runtime = Path(tempfile.mkdtemp(prefix="rrc", dir="/tmp"))
    try:
        repo = Repo(tmp_path / "cold", runtime)
        repo.path.mkdir()
        repo.git("init", "-q", "-b", "main")
        repo.write("README", "x\n")
        repo.commit("base")
        repo.write("app/users.py", SAVE)
        repo.git("add", "-A")
        first = repo.review("check")
        assert first.returncode == 1 and "RR101" in first.stdout, first.stderr
        assert _reviews(repo) == 0  # started, but this run reviewed in its own process
        second = repo.review("check")
        assert _reviews(repo) == 1
        assert (second.returncode, second.stdout) == (first.returncode, first.stdout)
    finally:
        sock = client.candidate_dir({"XDG_RUNTIME_DIR": str(runtime)}) / client.SOCKET_NAME
        if sock.exists():
            client.stop_server(sock)
        shutil.rmtree(runtime, ignore_errors=True)


def test_without_the_server_the_review_runs_in_process(srepo: Repo) -> None:
    srepo.write("pyproject.toml", "[tool.remora-review.embedding]\nserver = false\n")
    srepo.commit("base")
    srepo.write("app/users.py", SAVE)
    srepo.git("add", "-A")
    before = _reviews(srepo)
    result = srepo.review("check")
    assert result.returncode == 1 and "RR101" in result.stdout, result.stderr
    assert _reviews(srepo) == before  # no review reached a server


def test_the_hook_imports_nothing_heavy_when_the_server_reviews(srepo: Repo) -> None:
    """Its [tool.remora-review] table was validated by the first run and is remembered."""
    srepo.commit("base")
    srepo.write("app/users.py", SAVE)
    srepo.git("add", "-A")
    srepo.review("check")  # the server is warm now
    probe = ("import runpy, sys\n"
             "sys.argv = ['remora-review', 'check']\n"
             "try:\n    runpy.run_module('remora_review', run_name='__main__')\n"
             "except SystemExit:\n    pass\n"
             "heavy = sorted(m for m in ('libcst', 'pydantic', 'numpy', 'torch', 'rich')\n"
             "               if m in sys.modules)\n"
             "print('HEAVY', heavy, file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", probe], cwd=srepo.path, env=srepo.env,
                            capture_output=True, text=True)
    assert "RR101" in result.stdout, result.stderr
    assert "HEAVY []" in result.stderr, result.stderr


# Runs the hook and reports which of remora-review's modules it imported. Its sys.path is that
# of Repo.review's `python -m` (the directory first), which the remembered discovery is keyed by.
_PROBE = ("import os, runpy, sys\n"
          "sys.path[0] = os.getcwd()\n"
          "sys.argv = ['remora-review', 'check', *sys.argv[1:]]\n"
          "try:\n    runpy.run_module('remora_review', run_name='__main__')\n"
          "except SystemExit as e:\n    code = e.code\n"
          "print('LOADED', sorted(m for m in sys.modules if m.startswith('remora_review')),"
          " file=sys.stderr)\n"
          "raise SystemExit(code)\n")


def test_an_unconfigured_repositorys_check_runs_whole_in_the_server(srepo: Repo) -> None:
    """A repository that configures nothing: the hook's no-pack path sees a file activate a pack
    and hands the whole command to the warm server, printing what the in-process run prints
    without reading the settings, the change or the packs itself."""
    (srepo.path / "pyproject.toml").unlink()
    srepo.write("README", "x\n")
    srepo.commit("base")
    srepo.write("app/users.py", SAVE)
    srepo.write("app/plain.py", "import os\n")
    srepo.git("add", "-A")
    # `python -m` puts the repository first on sys.path, and discovery is remembered only once
    # the directories on it are two seconds old (discovery_cache.py): as after a while here.
    past = time.time() - 10
    os.utime(srepo.path, (past, past))
    for named in ((), ("app/users.py", "app/plain.py")):  # as pre-commit passes the files
        both(srepo, *named)
        before = _reviews(srepo)
        served = subprocess.run([sys.executable, "-c", _PROBE, *named], cwd=srepo.path,
                                env=srepo.env, capture_output=True, text=True)
        local = srepo.review("check", *named, env=IN_PROCESS)
        assert _reviews(srepo) == before + 1
        assert served.returncode == local.returncode == 1
        assert served.stdout == local.stdout and "RR101" in served.stdout
        loaded = served.stderr.rsplit("LOADED", 1)[1]
        assert "remora_review.check_client" in loaded
        assert "remora_review.review'" not in loaded and "remora_review.config_file" not in loaded
    # A commit -a's temporary index (a relative path) is the one the server reads.
    alt = _staged_in_a_temporary_index(srepo)
    assert "app/users.py:7:" in both(srepo, env=alt)
