"""A file that names no library class is still reviewed when it imports a project module that
imports the library: `s.add(u); s.commit()` beside the project's models is a Session."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow

CONFIG = "[tool.remora-review.embedding]\nserver = false\n"
MODELS = ("from sqlalchemy.orm import DeclarativeBase\n\n\n"
          "class Base(DeclarativeBase):\n    pass\n")
SERVICE = ("from .models import Base\n\n\n"
           "def save(s, row: Base) -> None:\n"
           "    s.add(row)\n    s.flush()\n    s.refresh(row)\n    s.commit()\n")


def _parameters(result):
    return {f["data"]["parameter"]: f["data"]["annotation"] for f in json.loads(result.stdout)}


def test_a_staged_file_activates_the_packs_of_the_project_modules_it_imports(repo):
    repo.write("pyproject.toml", CONFIG)
    repo.write("app/__init__.py", "")
    repo.write("app/models.py", MODELS)
    repo.commit("models")
    repo.write("app/service.py", SERVICE)
    repo.git("add", "app/service.py")

    result = repo.review("check", "--output-format", "json", "-v")
    assert result.returncode == 1, result.stderr
    assert _parameters(result) == {"s": "sqlalchemy.orm.Session"}
    assert "packs: sqlalchemy" in result.stderr

    # Off: the file imports no library, so nothing is loaded and nothing is found.
    repo.write("pyproject.toml", CONFIG + "[tool.remora-review]\nfollow-imports = false\n")
    quiet = repo.review("check", "--output-format", "json", "-v")
    assert quiet.returncode == 0, quiet.stderr
    assert json.loads(quiet.stdout) == []
    assert "packs: none" in quiet.stderr


def test_a_module_missing_from_the_index_activates_nothing(repo):
    repo.write("pyproject.toml", CONFIG)
    repo.write("app/__init__.py", "")
    repo.write("app/models.py", MODELS)  # in the working tree only
    repo.write("app/service.py", SERVICE)
    repo.git("add", "pyproject.toml", "app/__init__.py", "app/service.py")

    result = repo.review("check", "--output-format", "json", "-v")
    assert result.returncode == 0, result.stderr
    assert "packs: none" in result.stderr
