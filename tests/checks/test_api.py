"""The API check (RR2xx) on the first-party packs' real API tables: what it reports, what it must
leave alone, and its one kind of fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from remora_review.activation import PackTrigger, active_packs
from remora_review.checks.api import ApiCheck
from remora_review.config import Settings
from remora_review.engine import FileJob, Runtime, check_source, fix_source
from remora_review.findings import Finding
from remora_review.packs.loader import LoadedPack, load_pack

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "fixes" / "api"
PACKS = ROOT / "packs" / "remora_packs"


@pytest.fixture(scope="module")
def packs() -> dict[str, LoadedPack]:
    return {name: load_pack(PACKS / f"{name}.pack") for name in ("sqlalchemy", "httpx", "fastapi")}


def _runtime(packs: dict[str, LoadedPack]) -> Runtime:
    return Runtime(Settings(), packs, (ApiCheck(),), None, strict=True)


def _job(source: str, packs: dict[str, LoadedPack],
         changed: frozenset[int] | None = None) -> FileJob:
    triggers = [PackTrigger(p.name, p.kind, p.activate_on) for p in packs.values()]
    return FileJob("m.py", source, changed, active_packs(source, triggers, ()))


def _found(source: str, packs: dict[str, LoadedPack],
           changed: frozenset[int] | None = None) -> list[Finding]:
    outcome = check_source(_job(source, packs, changed), _runtime(packs))
    assert not outcome.notes, outcome.notes  # the check never broke
    return list(outcome.findings)


def _codes(source: str, packs: dict[str, LoadedPack]) -> list[tuple[int, str]]:
    return [(f.line, f.code) for f in _found(source, packs)]


def test_a_method_the_annotated_class_lacks(packs):
    source = (
        "from sqlalchemy.orm import Session\n"
        "def save(s: Session, user):\n"
        "    s.add(user)\n"
        "    s.add_many([user])\n"
    )
    (finding,) = _found(source, packs)
    assert (finding.line, finding.col, finding.code) == (4, 6, "RR201")
    assert finding.message == ("`Session` has no attribute `add_many` in sqlalchemy 2.1.9; "
                               "did you mean `add_all`?")
    assert finding.pack == "sqlalchemy" and finding.fix is None
    assert finding.data["class"] == "sqlalchemy.orm.Session"


def test_api_removed_in_the_installed_version_through_a_constructed_local(packs):
    # Engine.execute() was removed in SQLAlchemy 2.0; create_engine's declared return is Engine.
    source = (
        "from sqlalchemy import create_engine, text\n"
        "engine = create_engine('sqlite://', echo=True)\n"
        "def rows():\n"
        "    return engine.execute(text('select 1')).all()\n"
    )
    assert _codes(source, packs) == [(4, "RR201")]


def test_removed_keyword_on_a_library_constructor(packs):
    # httpx 0.28 removed `proxies=` (use `proxy=` or mounts).
    source = (
        "import httpx\n"
        "def make():\n"
        "    return httpx.Client(proxies='http://proxy:8080', timeout=3)\n"
    )
    (finding,) = _found(source, packs)
    assert finding.code == "RR202" and (finding.line, finding.col) == (3, 24)
    assert finding.message == "`Client()` takes no keyword `proxies` in httpx 0.28.1"


def test_too_many_positional_arguments(packs):
    source = (
        "from sqlalchemy.orm import Session\n"
        "def save(s: Session, a, b):\n"
        "    s.add(a, b)\n"
    )
    (finding,) = _found(source, packs)
    assert finding.code == "RR203"
    assert finding.message == ("`Session.add()` takes at most 1 positional argument, 2 given, "
                               "in sqlalchemy 2.1.9")


def test_receivers_through_annotations_with_and_returns(packs):
    source = (
        "from typing import Annotated, Optional\n"
        "import httpx\n"
        "import sqlalchemy as sa\n"
        "from fastapi import Depends\n"
        "from sqlalchemy.ext.asyncio import AsyncSession\n"
        "async def a(s: Optional[sa.orm.Session], t: 'AsyncSession',\n"
        "            u: Annotated[AsyncSession, Depends(object)], v: AsyncSession | None):\n"
        "    s.nope1\n"
        "    t.nope2\n"
        "    u.nope3\n"
        "    v.nope4\n"
        "    with sa.create_engine('sqlite://').connect() as conn:\n"
        "        conn.nope5\n"
        "    async with httpx.AsyncClient() as client:\n"
        "        response = await client.get('/')\n"
        "        response.nope6\n"
        "    stmt = sa.select(1).where(sa.true())\n"
        "    stmt.nope7()\n"
    )
    assert _codes(source, packs) == [(line, "RR201") for line in (8, 9, 10, 11, 13, 16, 18)]


def test_no_finding_where_the_api_exists_or_the_class_is_not_certain(packs):
    source = (
        "import httpx\n"
        "from sqlalchemy import create_engine, Row, Result\n"
        "from sqlalchemy.orm import Session\n"
        "\n"
        "class MySession(Session):\n"
        "    def audit(self): ...\n"
        "\n"
        "def ok(s: MySession, row: Row, res: Result, stmt, client: httpx.Client):\n"
        "    s.audit()                                # a subclass that adds a method\n"
        "    s.execute(stmt, execution_options={})    # a real keyword\n"
        "    create_engine('sqlite://', pool_pre_ping=True, anything=1)  # it takes **kwargs\n"
        "    row.email                                # Row answers any column by __getattr__\n"
        "    res.rowcount                             # a CursorResult has it\n"
        "    client.custom_flag = True\n"
        "    client.custom_flag                       # the project sets it\n"
        "    if hasattr(client, 'maybe'):\n"
        "        client.maybe()\n"
        "    try:\n"
        "        client.newer_api()\n"
        "    except AttributeError:\n"
        "        pass\n"
        "    client._private                          # tables list public members only\n"
        "    client.get('/', **{'x': 1})\n"
        "    args = (1, 2, 3)\n"
        "    s.add(*args)\n"
        "\n"
        "def rebound(s: Session, other):\n"
        "    s = other\n"
        "    s.whatever\n"
    )
    assert _found(source, packs) == []


def test_only_changed_lines(packs):
    source = (
        "from sqlalchemy.orm import Session\n"
        "def save(s: Session):\n"
        "    s.nope_old\n"
        "    s.nope_new\n"
    )
    assert [f.line for f in _found(source, packs, frozenset({4}))] == [4]


def test_deprecated_method_with_the_librarys_notice(packs):
    source = (
        "from sqlalchemy.orm import Query\n"
        "def one(q: Query, key):\n"
        "    return q.get(key)\n"
    )
    (finding,) = _found(source, packs)
    assert finding.code == "RR204" and finding.fix is None  # Session.get() is not a rename
    assert finding.message.startswith("`Query.get()` is deprecated since 2.0: The Query.get method")


def test_deprecated_fastapi_on_event_is_reported_without_a_fix(packs):
    source = (
        "from fastapi import FastAPI\n"
        "app = FastAPI()\n"
        "@app.on_event('startup')\n"
        "async def start(): ...\n"
    )
    (finding,) = _found(source, packs)
    assert finding.code == "RR204" and finding.fix is None
    assert "use lifespan event handlers instead" in finding.message


@pytest.mark.parametrize("case", sorted(p.name for p in GOLDEN.iterdir()))
def test_golden_fix(case, packs):
    source = (GOLDEN / case / "input.py").read_text()
    expected = (GOLDEN / case / "expected.py").read_text()
    outcome = fix_source(_job(source, packs), _runtime(packs))
    assert (outcome.fixed_source or source) == expected
    assert not [f for f in outcome.findings if f.code == "RR204"]  # nothing left to fix


def test_receivers_through_each_kind_of_binding(packs):
    # The parents the check reads a binding's class through (its own pass, no ParentNodeProvider):
    # an annotated local, an assignment, a walrus, `except ... as`, a called attribute; and
    # `*args: X` / `**kw: X`, which hold a tuple and a dict of X, not an X.
    source = (
        "from sqlalchemy.orm import Session\n"
        "from sqlalchemy.exc import NoResultFound\n"
        "def f(make, *many: Session, **named: Session):\n"
        "    many.nope0\n"
        "    named.nope0\n"
        "    local: Session = make()\n"
        "    local.nope1\n"
        "    other = Session()\n"
        "    other.nope2()\n"
        "    if (s := Session()) is not None:\n"
        "        s.nope3\n"
        "    try:\n"
        "        pass\n"
        "    except NoResultFound as e:\n"
        "        e.nope4\n"
        "    first = second = Session()\n"
        "    second.nope5\n"
        "    a, b = Session(), Session()\n"
        "    a.nope0\n"
        "    for x in [Session()]:\n"
        "        x.nope0\n"
    )
    assert _codes(source, packs) == [(line, "RR201") for line in (7, 9, 11, 15, 17)]


def test_every_import_form_that_names_the_library_is_read(packs):
    # A module is analysed only when some import could name a table's class (checks/api.py
    # _may_reach); each of these does, through a name the import binds or one below it.
    sources = {
        "import sqlalchemy.cyextension\ndef f(e: sqlalchemy.Engine):\n    e.nope\n": [(3, "RR201")],
        "import sqlalchemy.orm as orm\ndef f(s: orm.Session):\n    s.nope\n": [(3, "RR201")],
        "from sqlalchemy import orm\ndef f(s: orm.Session):\n    s.nope\n": [(3, "RR201")],
        "def f():\n    from httpx import Client\n    Client(proxies='x')\n": [(3, "RR202")],
        "import os\nfrom . import sqlalchemy\ndef f(s: sqlalchemy.orm.Session):\n    s.nope\n": [],
    }
    assert {s: _codes(s, packs) for s in sources} == sources
