"""A project nobody has annotated yet: what is sure in one file of a run travels to the others,
and what the libraries return or construct is a declared type (infer/propagation.py, declared.py)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow

CONFIG = ("[tool.remora-review.embedding]\nserver = false\n"
          "[tool.remora-review.typehints]\nreport-below = true\n")
DB = ("def store(session, row):\n    session.add(row)\n    session.flush()\n"
      "    session.query(type(row)).count()\n    session.commit()\n")
VIEWS = "import sqlalchemy\n\nfrom app.db import store\n\n\ndef save(x, row):\n    store(x, row)\n"


def _finding(result, parameter):
    found = [f for f in json.loads(result.stdout) if f["data"]["parameter"] == parameter]
    return found[0] if found else None


def test_a_value_only_passed_on_takes_its_class_from_another_file_of_the_run(repo):
    repo.write("pyproject.toml", CONFIG)
    repo.write("app/__init__.py", "")
    repo.write("app/db.py", DB)
    repo.commit("base")
    repo.write("app/views.py", VIEWS)
    repo.git("add", "app/views.py")
    alone = _finding(repo.review("check", "--output-format", "json"), "x")
    # `store` in the committed project is unannotated too: alone, `x` says nothing sure.
    assert alone is None or alone["confidence"] < 0.9, alone

    # Two new modules in one commit: the callee's uses reach the caller's parameter.
    repo.write("app/store.py", DB)
    repo.write("app/views.py", VIEWS.replace("app.db", "app.store"))
    repo.git("add", "app/store.py", "app/views.py")
    result = repo.review("check", "--output-format", "json")
    assert result.returncode == 1, result.stderr
    x = _finding(result, "x")
    assert x is not None and x["path"] == "app/views.py", result.stdout
    assert x["data"]["annotation"] == "sqlalchemy.orm.Session"
    assert x["confidence"] >= 0.9 and x["severity"] == "warning"
    assert "annotate it `x: Session`" in x["message"]


CALLERS = ("from sqlalchemy import create_engine\nfrom sqlalchemy.orm import Session\n\n"
           "from app.db import keep, setup\n\n\n"
           "def main(url):\n    engine = create_engine(url)\n    setup(engine)\n"
           "    with Session(engine) as s:\n        keep(s)\n")
SETUP = ("import sqlalchemy\n\n\ndef setup(bind):\n    bind.begin()\n\n\n"
         "def keep(held):\n    held.add(1)\n")


def test_what_a_library_call_returns_is_declared_to_the_callee(repo):
    repo.write("pyproject.toml", CONFIG)
    repo.write("app/__init__.py", "")
    repo.write("app/db.py", SETUP)
    repo.commit("base")
    alone = repo.review("check", "--all", "--output-format", "json")
    repo.write("app/main.py", CALLERS)
    repo.commit("callers")
    called = repo.review("check", "--all", "--output-format", "json")
    # A library function's return type: `engine = create_engine(url); setup(engine)`.
    before, after = _finding(alone, "bind"), _finding(called, "bind")
    assert after["data"]["annotation"] == "sqlalchemy.Engine", called.stdout
    assert after["confidence"] > before["confidence"] + 0.1, (before, after)
    # A library class entered with `with ... as`: the usage alone is not sure of it.
    before, after = _finding(alone, "held"), _finding(called, "held")
    assert before["confidence"] < 0.9 <= after["confidence"], (before, after)
    assert after["data"]["annotation"] == "sqlalchemy.orm.Session"


ROUTES = ("from starlette.applications import Starlette\nfrom starlette.routing import Route\n\n"
          "from app.pages import homepage\n\napp = Starlette(routes=[Route(\"/\", homepage)])\n")
PAGES = ("from starlette.responses import PlainTextResponse\n\n\n"
         "async def homepage(request):\n    return PlainTextResponse(str(request))\n")
HANDLERS = ("from fastapi import FastAPI\n\napp = FastAPI()\n\n\n"
            "@app.exception_handler(ValueError)\nasync def on_error(request, exc):\n"
            "    print(request, exc)\n\n\n"
            "@app.middleware(\"http\")\nasync def timing(request, call_next):\n"
            "    return await call_next(request)\n")


def test_starlette_hands_a_request_to_a_route_endpoint_in_another_module(repo):
    repo.write("pyproject.toml", CONFIG)
    repo.write("app/__init__.py", "")
    repo.write("app/routes.py", ROUTES)
    repo.commit("base")
    repo.write("app/pages.py", PAGES)
    repo.git("add", "app/pages.py")
    result = repo.review("check", "--output-format", "json")
    found = _finding(result, "request")
    assert found is not None, (result.stdout, result.stderr)
    assert found["data"]["annotation"] == "fastapi.Request"  # the pack's public name for it
    assert found["confidence"] >= 0.9, found


def test_exception_handlers_and_http_middleware_get_the_request(repo):
    repo.write("pyproject.toml", CONFIG)
    repo.write("app/__init__.py", "")
    repo.write("app/main.py", HANDLERS.replace("request", "r"))
    repo.git("add", "-A")
    result = repo.review("check", "--output-format", "json")
    found = [f for f in json.loads(result.stdout) if f["data"]["parameter"] == "r"]
    assert {f["data"]["function"] for f in found} == {"on_error", "timing"}, result.stdout
    assert all(f["data"]["annotation"] == "fastapi.Request" and f["confidence"] >= 0.9
               for f in found), found


CONFTEST = ("import httpx\nimport pytest\n\n\n@pytest.fixture\ndef client():\n"
            "    with httpx.Client(base_url=\"http://test\") as c:\n        yield c\n")
TEST = "import httpx\n\nfrom tests.helpers import check\n\n\ndef test_root(client):\n    check(client)\n"


def test_pytest_fixtures_pass_their_values_by_name(repo):
    repo.write("pyproject.toml", CONFIG)
    repo.write("tests/test_root.py", TEST)
    repo.commit("base")
    alone = _finding(repo.review("check", "--all", "--output-format", "json"), "client")
    repo.write("tests/conftest.py", CONFTEST)
    repo.commit("fixture")
    result = repo.review("check", "--all", "--output-format", "json")
    found = _finding(result, "client")
    assert found is not None, (result.stdout, result.stderr)
    assert found["data"]["annotation"] == "httpx.Client"
    # The value a library call makes takes a caller's share below a written annotation's.
    assert found["confidence"] > (alone["confidence"] if alone else 0.0) + 0.15, (alone, found)


REPO = "".join(f"def op{i}(db, row):\n    db.add(row)\n    db.flush()\n    db.query(type(row)).all()\n\n\n"
               for i in range(5))
SHOW = "import sqlalchemy\n\n\ndef show(db):\n    print(db)\n"


def test_the_naming_habit_of_sure_predictions_in_other_files(repo):
    repo.write("pyproject.toml", CONFIG)
    repo.write("app/__init__.py", "")
    repo.write("app/repo.py", "import sqlalchemy\n\n\n" + REPO)
    repo.write("app/show.py", SHOW)
    repo.commit("base")
    result = repo.review("check", "--all", "--output-format", "json")
    found = [f for f in json.loads(result.stdout) if f["data"]["parameter"] == "db"]
    sure = {(f["path"], f["data"]["annotation"]) for f in found if f["confidence"] >= 0.9}
    assert sure == {("app/repo.py", "sqlalchemy.orm.Session"),
                    ("app/show.py", "sqlalchemy.orm.Session")}, result.stdout
