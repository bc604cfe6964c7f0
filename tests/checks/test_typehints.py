"""The type-hint check on the first-party packs: golden fixes, idempotence, scope and confidence.

These use the structure, name and flow signals only (no embedding model), which is also what a
user without the `embed` extra gets.
"""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from remora_review.activation import PackTrigger, active_packs
from remora_review.checks.typehints import TypeHintCheck
from remora_review.config import Settings
from remora_review.engine import FileJob, Runtime, check_source, fix_source
from remora_review.findings import Severity
from remora_review.infer.inferer import InfererCache, build_inferer
from remora_review.infer.rounds import predict_source
from remora_review.packs.loader import load_pack

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "fixes" / "typehints"
PACKS = ROOT / "packs" / "remora_packs"


@pytest.fixture(scope="module")
def packs():
    return {name: load_pack(PACKS / f"{name}.pack") for name in ("sqlalchemy", "httpx", "fastapi")}


def _runtime(packs, threshold=0.9, report_below=False, root=None):
    settings = Settings.model_validate({"typehints": {"threshold": threshold,
                                                      "report-below": report_below}})
    return Runtime(settings, packs, (TypeHintCheck(InfererCache(None), root),), None, strict=True)


def _job(source, packs, changed=None):
    triggers = [PackTrigger(p.name, p.kind, p.activate_on) for p in packs.values()]
    return FileJob("m.py", source, changed, active_packs(source, triggers, ()))


@pytest.mark.parametrize("case", sorted(p.name for p in GOLDEN.iterdir()))
def test_golden_fix(case, packs, tmp_path):
    source = (GOLDEN / case / "input.py").read_text()
    expected = (GOLDEN / case / "expected.py").read_text()
    (tmp_path / "app").mkdir()  # the project's own package: isort's first-party section
    outcome = fix_source(_job(source, packs), _runtime(packs, root=tmp_path))
    assert (outcome.fixed_source or source) == expected


def test_no_fix_where_the_short_name_means_something_else_in_the_module(packs):
    # `Session = sessionmaker()`: `session: Session` would name the factory, so the finding stands
    # and the fix is left to the user
    source = ("from sqlalchemy.orm import sessionmaker\n\nSession = sessionmaker()\n\n\n"
              "def save_all(session, items):\n"
              "    session.add_all(items)\n    session.flush()\n    session.commit()\n")
    outcome = check_source(_job(source, packs), _runtime(packs))
    assert outcome.notes == ()
    (finding,) = outcome.findings
    assert finding.data["annotation"] == "sqlalchemy.orm.Session" and finding.confidence >= 0.9
    assert finding.fix is None
    assert fix_source(_job(source, packs), _runtime(packs)).fixed_source is None


def test_no_fix_where_an_import_nothing_else_names_binds_the_short_name(packs):
    # The analysed text leaves the import out (checks/folded.py); the name is still taken.
    source = ("import sqlalchemy\nfrom myorm import Session\n\n\n"
              "def save_all(session, items):\n"
              "    session.add_all(items)\n    session.flush()\n    session.commit()\n")
    (finding,) = check_source(_job(source, packs), _runtime(packs)).findings
    assert finding.data["annotation"] == "sqlalchemy.orm.Session" and finding.fix is None


def test_finding_carries_parameter_annotation_and_ranked_candidates(packs):
    source = (GOLDEN / "new_import" / "input.py").read_text()
    (finding,) = [f for f in check_source(_job(source, packs), _runtime(packs)).findings
                  if f.data["parameter"] == "session"]
    assert finding.code == "RR101"
    assert finding.line == 8  # the parameter's own line
    assert finding.data["annotation"] == "sqlalchemy.orm.Session"
    scores = [c["score"] for c in finding.data["candidates"]]
    assert scores == sorted(scores, reverse=True)
    assert finding.data["candidates"][0]["annotation"] == "sqlalchemy.orm.Session"


def test_sync_and_async_twins_are_told_apart_by_use(packs):
    inferer = build_inferer([packs["httpx"]], None)
    sync = "import httpx\ndef f(client, url):\n    return client.get(url, timeout=3).json()\n"
    asyn = ("import httpx\nasync def f(client, url):\n"
            "    return (await client.get(url, timeout=3)).json()\n")
    (s,) = [p for p in predict_source(sync, inferer) if p.parameter == "client"]
    (a,) = [p for p in predict_source(asyn, inferer) if p.parameter == "client"]
    assert s.candidates[0].annotation == "httpx.Client"
    assert a.candidates[0].annotation == "httpx.AsyncClient"


def test_a_library_the_module_imports_wins_over_one_it_does_not(packs):
    # FastAPI subclasses Starlette: the usage fits both, and the name `app` favours FastAPI
    inferer = build_inferer([packs["fastapi"]], None)
    body = "def setup(app):\n    app.add_middleware(object)\n    app.state.ready = True\n"
    (starlette,) = [p for p in predict_source("import starlette.applications\n" + body, inferer)
                    if p.parameter == "app"]
    (fastapi,) = [p for p in predict_source("import fastapi\n" + body, inferer)
                  if p.parameter == "app"]
    assert starlette.candidates[0].annotation == "starlette.applications.Starlette"
    score = {m: {c.annotation: c.score for c in p.candidates}["fastapi.FastAPI"]
             for m, p in (("starlette", starlette), ("fastapi", fastapi))}
    assert score["fastapi"] > 2 * score["starlette"]


def test_a_module_named_for_a_dialect_takes_the_dialect_subclass(packs):
    # Every dialect's DDL compiler fits what DDLCompiler does; a module named for a dialect
    # sub-package of sqlalchemy means that dialect's (alembic/ddl/mssql.py)
    inferer = build_inferer([packs["sqlalchemy"]], None)
    source = ("import sqlalchemy\n"
              "def visit_add_column(element, compiler, **kw):\n"
              "    return compiler.get_column_specification(element.column, **kw)\n")
    best = {path: next(p for p in predict_source(source, inferer, path)
                       if p.parameter == "compiler").candidates[0].annotation
            for path in ("pkg/ddl/mssql.py", "pkg/ddl/oracle.py", "pkg/ddl/render.py")}
    assert best == {"pkg/ddl/mssql.py": "sqlalchemy.dialects.mssql.base.MSDDLCompiler",
                    "pkg/ddl/oracle.py": "sqlalchemy.dialects.oracle.base.OracleDDLCompiler",
                    "pkg/ddl/render.py": "sqlalchemy.sql.compiler.DDLCompiler"}


def test_a_package_named_for_a_library_takes_its_class_of_a_subclass_pair(packs):
    # An extension package per framework (advanced-alchemy's extensions/starlette/ and
    # extensions/fastapi/): the `app` its modules take is that framework's, where the usage fits
    # Starlette and its FastAPI subclass alike and the module imports neither.
    inferer = build_inferer([packs["fastapi"]], None)
    source = ("from pkg.config import settings\n"
              "def init_app(app):\n    app.add_middleware(object)\n    app.state.ready = True\n")
    best = {}
    for path in ("pkg/extensions/starlette/plugin.py", "pkg/extensions/fastapi/plugin.py",
                 "pkg/extensions/plugin.py"):
        (app,) = [p for p in predict_source(source, inferer, path) if p.parameter == "app"]
        best[path] = (app.candidates[0].annotation, app.confidence >= 0.9)
    assert best == {"pkg/extensions/starlette/plugin.py": ("starlette.applications.Starlette", True),
                    "pkg/extensions/fastapi/plugin.py": ("fastapi.FastAPI", True),
                    "pkg/extensions/plugin.py": ("starlette.applications.Starlette", False)}


def test_private_members_neither_rule_a_class_out_nor_count(packs):
    # API tables list public members: `_prefixes` on a Table must not rule every class out
    inferer = build_inferer([packs["sqlalchemy"]], None)
    body = ("def render(table):\n"
            "    return table.name, table.schema, table.c, table.constraints, table.metadata%s\n")
    public, private = ([p for p in predict_source("import sqlalchemy\n" + body % extra, inferer)
                        if p.parameter == "table"] for extra in ("", ", table._prefixes"))
    assert public[0].candidates[0].annotation == "sqlalchemy.Table"
    assert private and private[0].candidates == public[0].candidates
    # with no public member left there is nothing the table can verify: no candidate
    only = [p for p in predict_source("import sqlalchemy\ndef f(view):\n    return view._inlines\n",
                                      inferer) if p.parameter == "view"]
    assert only == []


def test_overload_stubs_are_read_through_the_implementation(packs):
    inferer = build_inferer([packs["sqlalchemy"]], None)
    source = ("import sqlalchemy\nfrom typing import overload\n"
              "class Repo:\n"
              "    @overload\n    async def get(self, db, key: int) -> int: ...\n"
              "    @overload\n    async def get(self, db, key: str) -> str: ...\n"
              "    async def get(self, db, key):\n"
              "        row = await db.execute(key)\n        await db.commit()\n        return row\n")
    found = [p for p in predict_source(source, inferer) if p.parameter == "db"]
    assert len(found) == 3
    assert {p.candidates[0].annotation for p in found} == {"sqlalchemy.ext.asyncio.AsyncSession"}
    assert len({p.confidence for p in found}) == 1


def test_a_method_returning_an_awaitable_may_be_awaited(packs):
    # starlette's Request.form() is a plain method returning AwaitableOrContextManager
    inferer = build_inferer([packs["fastapi"]], None)
    source = ("from starlette.requests import Request\n"
              "async def f(r):\n    form = await r.form()\n    return r.query_params, form\n")
    (found,) = [p for p in predict_source(source, inferer) if p.parameter == "r"]
    assert found.candidates[0].annotation == "fastapi.Request"


def test_only_changed_functions_are_reviewed(packs):
    source = (GOLDEN / "new_import" / "input.py").read_text()
    assert check_source(_job(source, packs, frozenset({1, 2})), _runtime(packs)).findings == ()
    assert check_source(_job(source, packs, frozenset({11})), _runtime(packs)).findings != ()


def test_default_threshold_is_stricter(packs):
    source = "import httpx\ndef f(d):\n    return d.get('x')\n"
    assert check_source(_job(source, packs), _runtime(packs, threshold=0.9)).findings == ()
    # There is a guess (httpx.Headers, about 0.11); it is only not sure enough. report-below shows
    # it as info without a fix, and a threshold under its confidence makes it a warning.
    (below,) = check_source(_job(source, packs), _runtime(packs, report_below=True)).findings
    assert (below.severity, below.fix, below.data["parameter"]) == (Severity.INFO, None, "d")
    assert below.confidence < 0.9
    (low,) = check_source(_job(source, packs), _runtime(packs, threshold=0.05)).findings
    assert low.severity is Severity.WARNING and low.fix is not None


_BODIES = st.lists(
    st.sampled_from([
        "    session.add(x)\n", "    session.commit()\n", "    session.flush()\n",
        "    session.refresh(x)\n", "    client.get(url, timeout=3)\n",
        "    client.post(url, json={})\n", "    print(url)\n",
    ]),
    min_size=1, max_size=6,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bodies=st.lists(_BODIES, min_size=1, max_size=3))
def test_fixing_twice_equals_fixing_once_and_parses(bodies, packs):
    header = "import httpx\nfrom sqlalchemy import select\n\n"
    functions = "".join(f"\ndef f{i}(session, client, url, x):\n{''.join(body)}"
                        for i, body in enumerate(bodies))
    source = header + functions
    runtime = _runtime(packs)
    once = fix_source(_job(source, packs), runtime).fixed_source or source
    cst.parse_module(once)
    twice = fix_source(_job(once, packs), runtime).fixed_source or once
    assert twice == once


def test_fixes_in_one_file_share_one_import_and_apply_in_one_round(packs):
    source = ("import sqlalchemy\n\n\n"
              "def a(s, t, row):\n    s.add(row)\n    s.commit()\n    t.add(row)\n    t.flush()\n"
              "    t.commit()\n    s.flush()\n\n\n"
              "def b(u, row):\n    u.add(row)\n    u.flush()\n    u.commit()\n")
    outcome = fix_source(_job(source, packs), _runtime(packs))
    fixed = outcome.fixed_source
    assert fixed is not None and outcome.fixes_applied == 3
    assert fixed.count("from sqlalchemy.orm import Session") == 1
    assert "def a(s: Session, t: Session, row):" in fixed and "def b(u: Session, row):" in fixed
    cst.parse_module(fixed)


def test_the_scope_analysis_is_skipped_only_for_fully_annotated_files():
    from remora_review.infer.rounds import has_unannotated

    def has(source):
        return has_unannotated(source)

    assert not has("def f(x: int, *a: str) -> None:\n    g(lambda z: z)\n"
                   "class C:\n    def m(self, y: int) -> None: ...\n")
    assert has("def f(x): ...\n") and has("class C:\n    def m(self, y): ...\n")
    assert has("def f(*, k): ...\n") and has("async def f(*args): ...\n")


def test_a_library_subclass_of_a_builtin_gives_way_to_the_builtin(packs):
    # sqlalchemy's immutabledict(dict): `.get` and `.items` say nothing beyond a dict
    inferer = build_inferer([packs["sqlalchemy"]], None)
    source = ("import sqlalchemy\n"
              "def options(execution_options):\n"
              "    return execution_options.get('x'), list(execution_options.items())\n"
              "def merged(execution_options):\n"
              "    return execution_options.union({'x': 1})\n")
    found = {p.function: p for p in predict_source(source, inferer)
             if p.parameter == "execution_options"}
    assert all(c.annotation != "sqlalchemy.util.immutabledict"
               for c in found["options"].candidates)
    # a member only the library's class has still names it
    assert found["merged"].candidates[0].annotation == "sqlalchemy.util.immutabledict"


def test_the_project_rivals_are_worked_out_once_per_index_and_catalogue(packs):
    # The warm server builds a new inferer for every review but keeps the packs (and with them
    # the catalogue) and an unchanged tree's project index: the rivals carry over by identity.
    from remora_review.project.scan import index_from_sources

    index = index_from_sources([("app/store.py", "class Store:\n    def add(self, x): ...\n")])
    first = build_inferer([packs["sqlalchemy"]], None)
    again = build_inferer([packs["sqlalchemy"]], None)
    assert again.catalogue is first.catalogue
    own, rivals = first._own(index.classes())
    assert set(own) == {"app.store.Store"} and rivals.having(frozenset({"add"})) == list(own)
    assert again._own(index.classes())[1] is rivals
    other = index_from_sources([("app/store.py", "class Store:\n    def put(self, x): ...\n")])
    assert again._own(other.classes())[1].having(frozenset({"add"})) == []
    assert first._own(index.classes())[1] is rivals  # a server reviewing two repositories in turn
