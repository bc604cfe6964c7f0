"""A real `pre-commit run` with the fixing hook on a partially staged file.

pre-commit stashes the unstaged part, runs the hook on what is staged, and puts the unstaged part
back: the fix must land and the unstaged work must survive, byte for byte.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BASE = "from sqlalchemy import select\n\nfrom app.models import User\n"
STAGED = BASE + (
    "\n\ndef create_user(session, name):\n"
    "    user = User(name=name)\n"
    "    session.add(user)\n"
    "    session.flush()\n"
    "    session.commit()\n"
    "    return user\n"
)
UNSTAGED_TAIL = "\n\n# work in progress, not staged\nDRAFT = True\n"


def _config(python: str) -> str:
    return (
        "repos:\n"
        "  - repo: local\n"
        "    hooks:\n"
        "      - id: remora-review-fix\n"
        "        name: remora-review (fix)\n"
        f"        entry: {python} -m remora_review.cli check --fix\n"
        "        language: system\n"
        "        types: [python]\n"
        "        require_serial: true\n"
    )


def test_fix_under_pre_commit_keeps_unstaged_work(repo):
    repo.write(".pre-commit-config.yaml", _config(sys.executable))
    repo.write("pyproject.toml", "[tool.remora-review.embedding]\nserver = false\n")
    repo.write("app/users.py", BASE)
    repo.commit("base")
    repo.write("app/users.py", STAGED)
    repo.git("add", "app/users.py")
    repo.write("app/users.py", STAGED + UNSTAGED_TAIL)

    pre_commit = Path(sys.executable).parent / "pre-commit"
    result = subprocess.run([str(pre_commit), "run"], cwd=repo.path,
                            env=repo.env, capture_output=True, text=True)
    assert result.returncode == 1, result.stdout + result.stderr  # files were modified
    assert "files were modified by this hook" in result.stdout

    text = (repo.path / "app" / "users.py").read_text()
    assert "def create_user(session: Session, name):" in text
    assert "from sqlalchemy.orm import Session" in text
    assert text.endswith(UNSTAGED_TAIL)  # the unstaged part came back untouched
    assert repo.git("show", ":app/users.py") == STAGED  # pre-commit never stages fixes

    repo.git("add", "app/users.py")
    again = subprocess.run([str(pre_commit), "run"], cwd=repo.path,
                           env=repo.env, capture_output=True, text=True)
    assert again.returncode == 0, again.stdout + again.stderr  # a second fix changes nothing


def test_plain_fix_refuses_files_with_unstaged_work(repo):
    repo.write("pyproject.toml", "[tool.remora-review.embedding]\nserver = false\n")
    repo.write("app/users.py", BASE)
    repo.commit("base")
    repo.write("app/users.py", STAGED)
    repo.git("add", "app/users.py")
    repo.write("app/users.py", STAGED + UNSTAGED_TAIL)
    result = repo.review("check", "--fix")
    assert "not fixed, it has unstaged changes" in result.stderr
    assert (repo.path / "app" / "users.py").read_text() == STAGED + UNSTAGED_TAIL
    assert "RR101" in result.stdout  # still reviewed, just not rewritten
