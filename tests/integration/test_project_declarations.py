"""The hook reads the rest of the project: annotated callees and callers in other files are evidence
for a staged function's parameters, and their facts are cached under .git between runs."""

from __future__ import annotations

import json

import pytest

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


def test_staged_function_gets_its_type_from_the_project(repo):
    repo.write("pyproject.toml", CONFIG)
    repo.write("app/__init__.py", "")
    repo.write("app/db.py", DB)
    repo.write("app/main.py", MAIN)
    repo.commit("base")
    repo.write("app/views.py", VIEWS)
    repo.git("add", "app/views.py")
    (repo.path / ".git" / "remora-review").mkdir()
    (repo.path / ".git" / "remora-review" / "project-facts-v1.json").write_text("{}")  # older

    result = repo.review("check", "--output-format", "json")
    assert result.returncode == 1, result.stderr
    found = _x(result)
    assert found["data"]["annotation"] == "sqlalchemy.orm.Session"
    cache = repo.path / ".git" / "remora-review"
    assert [p.name for p in cache.iterdir()] == ["project-facts-v10.json"]

    # The same code without the rest of the project in the index is less certain.
    repo.git("rm", "-q", "--cached", "app/main.py", "app/db.py")
    alone = repo.review("check", "--output-format", "json")
    assert _x(alone)["confidence"] < found["confidence"] - 0.1, (found, _x(alone))
