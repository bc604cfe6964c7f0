"""install-hooks and the plain hooks it installs, run by real git commits and pushes."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from remora_review.errors import UserError
from remora_review.hook_scripts import HOOKS, MARKER, render
from remora_review.install_hooks import installed_by, register

from .gitrepo import GitRepo

REPO_HOOKS = Path(__file__).resolve().parents[2] / "hooks"
FOREIGN = "#!/bin/sh\necho 'my own hook'\n"
VENV_BIN = Path(sys.executable).parent
BARE_PATH = "/usr/bin:/bin"  # a shell where the environment with remora-review is not active


def installed(name: str) -> str:
    """The hook text install-hooks writes from this test's environment."""
    return render(name, *installed_by(sys.executable))


def install(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["install-hooks", *argv])
    return int(args.handler(args))


def test_hook_copies_match_the_package() -> None:
    for name, text in HOOKS.items():
        path = REPO_HOOKS / name
        assert path.read_text() == text, f"hooks/{name} differs from hook_scripts.py"
        assert os.access(path, os.X_OK)
        assert MARKER in text.splitlines()


def test_installs_and_is_idempotent(repo: GitRepo, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(repo.root)
    assert install("--hook", "all") == 0
    for name in ("pre-commit", "pre-push"):
        hook = repo.root / ".git" / "hooks" / name
        assert hook.read_text() == installed(name) and os.access(hook, os.X_OK)
        assert f"INSTALLED_SCRIPT={VENV_BIN / 'remora-review'}\n" in hook.read_text()
    assert "installed the pre-push hook" in capsys.readouterr().out
    assert install("--hook", "all") == 0
    assert "pre-commit hook already installed" in capsys.readouterr().out
    assert not list((repo.root / ".git" / "hooks").glob("*.remora-backup*"))


def test_refuses_a_foreign_hook_and_force_backs_it_up(repo: GitRepo,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo.root)
    hooks = repo.root / ".git" / "hooks"
    (hooks / "pre-commit").write_text(FOREIGN)
    with pytest.raises(UserError, match="not a remora-review hook; rerun with --force"):
        install("--hook", "all")
    assert (hooks / "pre-commit").read_text() == FOREIGN
    assert not (hooks / "pre-push").exists()  # nothing written when any target is refused
    assert install("--hook", "pre-commit", "--force") == 0
    assert (hooks / "pre-commit.remora-backup").read_text() == FOREIGN
    assert (hooks / "pre-commit").read_text() == installed("pre-commit")
    assert install("--force") == 0  # ours now: replaced in place, no second backup
    assert sorted(p.name for p in hooks.glob("pre-commit*") if p.suffix != ".sample") == [
        "pre-commit", "pre-commit.remora-backup"]


def test_honours_core_hooks_path_and_worktrees(repo: GitRepo, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    repo.write("a.py", "x = 1\n")
    repo.commit()
    repo.git("worktree", "add", "-q", str(tmp_path / "wt"))
    monkeypatch.chdir(tmp_path / "wt")
    install()
    assert (repo.root / ".git" / "hooks" / "pre-commit").read_text() == installed("pre-commit")
    repo.git("config", "core.hooksPath", ".githooks")
    monkeypatch.chdir(repo.root)
    install("--hook", "pre-push")
    assert (repo.root / ".githooks" / "pre-push").read_text() == installed("pre-push")


# A file the httpx pack reviews, which does not parse: RR001 blocks the commit. Reviewed in the
# hook's own process: these tests are about the hook script, not the warm server.
BROKEN = "import httpx\n\n\ndef f(:\n"
IN_PROCESS = {"REMORA_REVIEW_IN_PROCESS": "1"}


def run_git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


def test_installed_hook_runs_without_the_environment_on_path(
        repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    """Installed from a venv, then `git commit` from a shell that lacks it: the hook finds the
    executable that installed it and really reviews (a syntax error stops the commit)."""
    monkeypatch.chdir(repo.root)
    monkeypatch.delenv("REMORA_REVIEW", raising=False)
    install()
    repo.write("a.py", BROKEN)
    repo.git("add", "a.py")
    blocked = run_git(repo.root, "commit", "-m", "c", env={"PATH": BARE_PATH, **IN_PROCESS})
    assert blocked.returncode != 0, blocked.stderr
    assert "a.py:4:" in blocked.stderr and "RR001" in blocked.stderr  # git sends hook output there
    repo.write("a.py", "x = 1\n")
    repo.git("add", "a.py")
    done = run_git(repo.root, "commit", "-m", "c", env={"PATH": BARE_PATH})
    assert done.returncode == 0, done.stderr
    assert repo.git("log", "--format=%s") == "c"


def test_hook_falls_back_to_python_m_and_env_wins(repo: GitRepo, stub: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the script (`python -m remora_review install-hooks` from an environment without
    one) the hook runs `PYTHON -m remora_review`; REMORA_REVIEW still wins over both."""
    hook = repo.root / ".git" / "hooks" / "pre-commit"
    hook.write_text(render("pre-commit", python=sys.executable))
    hook.chmod(0o755)
    repo.write("a.py", BROKEN)
    repo.git("add", "a.py")
    monkeypatch.delenv("REMORA_REVIEW")
    blocked = run_git(repo.root, "commit", "-m", "c", env={"PATH": BARE_PATH, **IN_PROCESS})
    assert blocked.returncode != 0 and "RR001" in blocked.stderr
    assert stub.read_text() == ""
    done = run_git(repo.root, "commit", "-qm", "c",
                   env={"PATH": BARE_PATH, "REMORA_REVIEW": str(stub.parent / "bin" / "remora-review")})
    assert done.returncode == 0 and stub.read_text() == "check\n"


def test_installed_by_records_absolute_paths(tmp_path: Path) -> None:
    assert installed_by(sys.executable) == (str(VENV_BIN / "remora-review"), sys.executable)
    bare = tmp_path / "bin" / "python3"
    bare.parent.mkdir()
    bare.write_text("")  # a Python whose directory holds no remora-review script
    assert installed_by(str(bare)) == ("", str(bare))  # no script there: python -m


def test_hand_copied_hook_without_remora_review_on_path_blocks(
        repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    """A copy of hooks/pre-commit records nothing: with nothing on PATH it stops the commit."""
    hook = repo.root / ".git" / "hooks" / "pre-commit"
    shutil.copy(REPO_HOOKS / "pre-commit", hook)
    monkeypatch.delenv("REMORA_REVIEW", raising=False)
    repo.write("a.py", "x = 1\n")
    repo.git("add", "a.py")
    done = run_git(repo.root, "commit", "-m", "c", env={"PATH": BARE_PATH})
    assert done.returncode != 0
    assert "'remora-review' is not on PATH" in done.stderr
    assert "git commit --no-verify" in done.stderr


@pytest.fixture
def stub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in `remora-review` that records its arguments: the hooks' own logic is under test
    here (which command and range they run), not the check command, which has its own tests."""
    log = tmp_path / "calls.log"
    script = tmp_path / "bin" / "remora-review"
    script.parent.mkdir()
    script.write_text('#!/bin/sh\necho "$*" >> "$STUB_LOG"\nexit "${STUB_EXIT:-0}"\n')
    script.chmod(0o755)
    monkeypatch.setenv("REMORA_REVIEW", str(script))
    monkeypatch.setenv("STUB_LOG", str(log))
    log.write_text("")
    return log


def test_pre_commit_hook_runs_check(repo: GitRepo, stub: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo.root)
    install()
    repo.write("a.py", "x = 1\n")
    repo.git("add", "a.py")
    assert run_git(repo.root, "commit", "-qm", "ok").returncode == 0
    assert stub.read_text() == "check\n"
    repo.write("a.py", "x = 2\n")
    repo.git("add", "a.py")
    blocked = run_git(repo.root, "commit", "-qm", "no", env={"STUB_EXIT": "1"})
    assert blocked.returncode != 0
    assert repo.git("log", "--format=%s") == "ok"


def test_pre_push_hook_checks_each_pushed_range(repo: GitRepo, stub: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    repo.write("a.py", "x = 1\n")
    first = repo.commit()
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo.root), str(remote)], check=True)
    work = GitRepo(tmp_path / "work")
    subprocess.run(["git", "clone", "-q", str(remote), str(work.root)], check=True)
    monkeypatch.chdir(work.root)
    install("--hook", "pre-push")

    work.write("a.py", "x = 2\n")
    second = work.commit()
    assert run_git(work.root, "push", "-q", "origin", "main").returncode == 0
    assert stub.read_text() == f"check --diff {first}..{second}\n"

    stub.write_text("")
    work.git("checkout", "-q", "-b", "feature")
    work.write("b.py", "y = 1\n")
    third = work.commit()
    assert run_git(work.root, "push", "-q", "origin", "feature").returncode == 0
    # a new branch: compared with its merge-base with origin's default branch
    assert stub.read_text() == f"check --diff {second}..{third}\n"

    stub.write_text("")
    assert run_git(work.root, "push", "-q", "origin", ":feature").returncode == 0
    assert stub.read_text() == ""  # a deleted ref is not checked

    work.git("remote", "set-head", "origin", "-d")
    work.git("checkout", "-q", "-b", "other")
    work.write("c.py", "z = 1\n")
    work.commit()
    done = run_git(work.root, "push", "-q", "origin", "other")
    assert done.returncode == 0 and stub.read_text() == ""
    assert "git remote set-head origin --auto" in done.stderr

    work.write("c.py", "z = 2\n")
    work.commit()
    failed = run_git(work.root, "push", "-q", "origin", "other", env={"STUB_EXIT": "1"})
    assert failed.returncode != 0
