"""The hook reads the rest of the project: annotated callees and callers in other files are evidence
for a staged function's parameters, and their facts are cached under .git between runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from remora_review.project.scan import cache_file

CACHE = cache_file(Path("."))  # its name: the current format's

pytestmark = pytest.mark.slow

CONFIG = ("[tool.remora-review.embedding]\nserver = false\n"
          "[tool.remora-review.typehints]\nreport-below = true\n")
DB = ("from sqlalchemy.orm import Session\n\n\n"
      "def store(session: Session, row) -> None:\n    session.add(row)\n")
MAIN = ("from sqlalchemy.orm import Session\n\nfrom app.views import save\n\n\n"
        "def main(session: Session) -> None:\n    save(session, 1)\n")
VIEWS = ("import sqlalchemy\n\nfrom app.db import store\n\n\n"
         "def save(x, row):\n    store(x, row)\n    x.execute(row)\n")


def _x(result):
    (x,) = [f for f in json.loads(result.stdout) if f["data"]["parameter"] == "x"]
    return x


def _stage_views(repo):
    """The project committed, and views.py (whose `x` only the project types) staged."""
    repo.write("pyproject.toml", CONFIG)
    repo.write("app/__init__.py", "")
    repo.write("app/db.py", DB)
    repo.write("app/main.py", MAIN)
    repo.commit("base")
    repo.write("app/views.py", VIEWS)
    repo.git("add", "app/views.py")


def test_staged_function_gets_its_type_from_the_project(repo):
    _stage_views(repo)
    (repo.path / ".git" / "remora-review").mkdir()
    (repo.path / ".git" / "remora-review" / "project-facts-v1.json").write_text("{}")  # older

    result = repo.review("check", "--output-format", "json")
    assert result.returncode == 1, result.stderr
    found = _x(result)
    assert found["data"]["annotation"] == "sqlalchemy.orm.Session"
    cache = repo.path / ".git" / "remora-review"
    # the older format's cache is gone, the current one written
    assert [p.name for p in cache.iterdir()] == [CACHE.name]

    # The same code without the rest of the project in the index is less certain.
    repo.git("rm", "-q", "--cached", "app/main.py", "app/db.py")
    alone = repo.review("check", "--output-format", "json")
    assert _x(alone)["confidence"] < found["confidence"] - 0.1, (found, _x(alone))


def test_a_worktree_shares_its_repository_s_project_cache(repo):
    # `git worktree add` for a review of another branch: its first run reads the facts the main
    # checkout cached (keyed by path and blob), instead of building the index of every file again.
    import subprocess
    import sys

    _stage_views(repo)
    here = repo.review("check", "--output-format", "json")
    assert _x(here)["data"]["annotation"] == "sqlalchemy.orm.Session", here.stderr
    cache = repo.path / ".git" / "remora-review" / CACHE.name
    cached = json.loads(cache.read_text("utf-8"))

    tree = repo.path.parent / "wt"
    repo.git("worktree", "add", "-q", "-b", "other", str(tree))
    (tree / "app" / "views.py").write_text(VIEWS, "utf-8")
    subprocess.run(["git", "add", "app/views.py"], cwd=tree, env=repo.env, check=True)
    there = subprocess.run([sys.executable, "-m", "remora_review.cli", "check", "--output-format",
                            "json"], cwd=tree, env=repo.env, capture_output=True, text=True)
    assert _x(there)["data"]["annotation"] == "sqlalchemy.orm.Session", there.stderr
    assert not (repo.path / ".git" / "worktrees" / "wt" / "remora-review").exists()
    assert json.loads(cache.read_text("utf-8")).keys() == cached.keys()  # the same blobs
