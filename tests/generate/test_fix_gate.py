"""The gate a generated fix passes (generate/validate.py), on candidate answers written here and the
real checks of the first-party packs: what it accepts, and each reason it drops one for."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

import libcst as cst
import pytest

from remora_review.checks import registry
from remora_review.config import Settings
from remora_review.engine import FileJob, Runtime, check_source
from remora_review.findings import Finding
from remora_review.generate.prompt import Answer, read_answer
from remora_review.generate.region import regions_for
from remora_review.generate.validate import Rejected, apply_answer, gate
from remora_review.generate.wanted import wanted_fixes
from remora_review.packs.loader import LoadedPack, load_pack

ROOT = Path(__file__).resolve().parents[2]

SHOP = '''\
import httpx
from fastapi import FastAPI
from sqlalchemy.orm import Session

from shop.models import User, database


def find(session: Session, name: str):
    return session.query(User).filter_by(name=name).first()


app = FastAPI(title="shop")


@app.on_event("startup")
async def connect() -> None:
    await database.connect()


@app.on_event("shutdown")
async def disconnect() -> None:
    await database.disconnect()


def client(url: str) -> httpx.Client:
    return httpx.Client(proxies=url)
'''


@pytest.fixture(scope="module")
def packs() -> dict[str, LoadedPack]:
    return {n: load_pack(ROOT / "packs" / "remora_packs" / f"{n}.pack")
            for n in ("sqlalchemy", "fastapi", "httpx")}


@pytest.fixture(scope="module")
def runtime(packs: dict[str, LoadedPack]) -> Runtime:
    settings = Settings.model_validate({"select": ["SQLA", "RR2"]})
    env = registry.CheckEnv(ROOT, settings, packs, None, lambda: None)  # type: ignore[arg-type,return-value]
    return Runtime(settings, packs, registry.build_checks(registry.CHECKS, env), None, strict=True)


# Two shapes callers depend on: a classmethod, and a helper whose callers finish its Query.
USERS = '''\
from sqlalchemy.orm import Session

from shop.models import User


class Users:
    @classmethod
    def find(cls, session: Session, name: str, limit: int = 1):
        return session.query(User).filter_by(name=name).first()


def named(session: Session, name: str):
    return session.query(User).filter_by(name=name)


def member(session: Session, group, role):
    return session.query(User).filter(User.group == group).filter(User.role == role).first()
'''


def _findings(runtime: Runtime, text: str = SHOP) -> Sequence[Finding]:
    return check_source(FileJob("shop/app.py", text, None, tuple(runtime.packs)), runtime).findings


def _try(runtime: Runtime, packs: dict[str, LoadedPack], line: int, answer_text: str,
         source: str = SHOP) -> str | Rejected:
    """The file after the answer for the region of the finding on `line`, or why it is dropped."""
    findings = _findings(runtime, source)
    wanted = [w for w in wanted_fixes(findings, packs)]
    regions = regions_for(cst.parse_module(source), [w.finding.line for w in wanted])
    region = next(r for w, r in zip(wanted, regions) if w.finding.line == line)
    assert region is not None
    targets = [w.finding for w, r in zip(wanted, regions) if r == region]
    answer = read_answer(textwrap.dedent(answer_text))
    if not isinstance(answer, Answer):
        return Rejected(answer)
    new = apply_answer(source, region, answer)
    if isinstance(new, Rejected):
        return new

    def check(text: str, lines: frozenset[int] | None) -> Sequence[Finding]:
        job = FileJob("shop/app.py", text, lines, tuple(runtime.packs))
        return check_source(job, runtime).findings

    tables = [p.api_table for p in packs.values()]
    rejected = gate(source, new, region, answer, targets, findings, check, tables, None)
    return rejected if rejected is not None else new


def test_the_three_first_party_cases_ask_for_a_generated_fix(runtime, packs) -> None:
    wanted = wanted_fixes(_findings(runtime), packs)
    assert [(w.finding.line, w.finding.code, w.pack.name) for w in wanted] == [
        (9, "SQLA001", "sqlalchemy"), (15, "RR204", "fastapi"), (20, "RR204", "fastapi"),
        (26, "RR202", "httpx")]
    assert "lifespan" in wanted[1].hint and wanted[1].examples  # the pack's rewrite, not the notice
    assert "mounts=" in wanted[3].hint


def test_both_on_event_handlers_and_the_app_are_one_region() -> None:
    regions = regions_for(cst.parse_module(SHOP), [9, 15, 20])
    assert regions[0] is not None and (regions[0].start_line, regions[0].end_line) == (8, 9)
    assert regions[1] == regions[2]
    assert regions[1] is not None
    assert (regions[1].start_line, regions[1].end_line, regions[1].keeps) == (12, 22, {"app"})


def test_a_right_lifespan_rewrite_is_accepted_and_its_import_goes_to_the_top(runtime, packs) -> None:
    new = _try(runtime, packs, 15, '''\
        from contextlib import asynccontextmanager


        @asynccontextmanager
        async def lifespan(app: FastAPI):
            await database.connect()
            yield
            await database.disconnect()


        app = FastAPI(title="shop", lifespan=lifespan)
        ### End''')
    assert isinstance(new, str), new
    assert new.startswith("from contextlib import asynccontextmanager\n\nimport httpx\n")
    assert "on_event" not in new
    assert [f.code for f in _findings(runtime, new)] == ["SQLA001", "RR202"]


def test_a_right_query_rewrite_is_accepted(runtime, packs) -> None:
    new = _try(runtime, packs, 9, '''\
        from sqlalchemy import select

        def find(session: Session, name: str):
            return session.scalars(select(User).filter_by(name=name)).first()
        ''')
    assert isinstance(new, str), new
    assert "from sqlalchemy import select\n" in new


@pytest.mark.parametrize(("line", "answer", "reason"), [
    (9, "def find(session: Session, name: str):\n    return session.querry(User).first()\n",
     "the API check reports RR201 on it: `Session` has no attribute `querry` in sqlalchemy 2.1.9"),
    (9, "from sqlalchemy import select_all\n\ndef find(session: Session, name: str):\n"
        "    return session.scalars(select_all(User)).first()\n",
     "the API check: sqlalchemy 2.1.9 has no `sqlalchemy.select_all`"),
    (26, "def client(url: str) -> httpx.Client:\n    return httpx.Client(proxy_url=url)\n",
     "the API check reports RR202 on it: `Client()` takes no keyword `proxy_url` in httpx 0.28.1"),
    (9, "def find(session: Session, name: str):\n    return session.scalars(select(User)).first()\n",
     "it uses `select`, which nothing defines"),
    (9, "def find(session: Session, name: str):\n"
        "    return session.query(User).first()  # remora: ignore[SQLA001]\n",
     "it suppresses the finding instead of fixing it"),
    (9, "def lookup(session: Session, name: str):\n    return None\n",
     "it no longer defines `find`"),
    (9, "def find(session: Session, name: str):\n    return session.query(User).get(name)\n",
     "SQLA001 is still reported"),
    (26, "def client(url: str) -> httpx.Client:\n    return httpx.Client(proxy=url\n",
     "it does not parse"),
    (9, "```python\ndef find(session):\n```\n", "it does not parse"),
])
def test_a_rewrite_is_dropped_for_what_is_wrong_with_it(runtime, packs, line, answer, reason) -> None:
    outcome = _try(runtime, packs, line, answer)
    assert isinstance(outcome, Rejected)
    assert outcome.reason.startswith(reason), outcome.reason


def test_a_rewrite_of_a_method_keeps_its_decorators_and_parameters(runtime, packs) -> None:
    right = '''\
        from sqlalchemy import select

        @classmethod
        def find(cls, session: Session, name: str, limit: int = 1):
            return session.scalars(select(User).filter_by(name=name)).first()
        '''
    new = _try(runtime, packs, 9, right, USERS)
    assert isinstance(new, str), new
    assert "    @classmethod\n    def find(cls, session: Session, name: str, limit: int = 1):\n" in new
    # What Gemma 3 270M wrote for jupyterhub's `find`: the decorator gone, `cls` a plain parameter.
    undecorated = right.replace("        @classmethod\n", "")
    outcome = _try(runtime, packs, 9, undecorated, USERS)
    assert isinstance(outcome, Rejected)
    assert outcome.reason == "it changes the decorators of `find` (@classmethod before)"
    for changed in ("limit: int = 10", "limit: int"):
        outcome = _try(runtime, packs, 9, right.replace("limit: int = 1", changed), USERS)
        assert isinstance(outcome, Rejected)
        assert outcome.reason == "it changes the parameters of `find`, which its callers pass"
    annotated = right.replace("limit: int = 1)", "limit: int = 1) -> User | None")
    assert isinstance(_try(runtime, packs, 9, annotated, USERS), str)


def test_a_helper_that_returns_the_query_keeps_returning_one(runtime, packs) -> None:
    # Its callers call .first(), .all() or .update() on what it returns: a Select or a result
    # breaks them, and the rewrite cannot be made here alone.
    for body, now in (("select(User).filter_by(name=name)", "`Select`"),
                      ("session.scalars(select(User).filter_by(name=name))", "`ScalarResult`"),
                      ("session.scalars(select(User).filter_by(name=name)).first()", "not known")):
        outcome = _try(runtime, packs, 13, f"""\
            from sqlalchemy import select

            def named(session: Session, name: str):
                return {body}
            """, USERS)
        assert isinstance(outcome, Rejected), body
        assert outcome.reason == (f"it changes what `named` returns (`Query` before, {now} now), "
                                  "which its callers use")


def test_a_rewrite_that_drops_a_condition_is_dropped(runtime, packs) -> None:
    # What Gemma 3 270M wrote for airflow's `get_permission`: the second filter gone.
    lost = _try(runtime, packs, 17, """\
        from sqlalchemy import select

        def member(session: Session, group, role):
            return session.scalars(select(User).where(User.group == group)).first()
        """, USERS)
    assert isinstance(lost, Rejected)
    assert lost.reason == "it drops `User.role == role`, an argument the code passed"
    kept = _try(runtime, packs, 17, """\
        from sqlalchemy import select

        def member(session: Session, group, role):
            return session.scalars(
                select(User).where(User.group == group, User.role == role)
            ).first()
        """, USERS)
    assert isinstance(kept, str), kept


def test_an_instance_the_library_exports_is_no_invented_import(runtime, packs) -> None:
    # sqlalchemy's `func` is a module-level object, which the API table (classes and functions)
    # does not list; the installed library has it.
    new = _try(runtime, packs, 9, '''\
        from sqlalchemy import func, select

        def find(session: Session, name: str):
            return session.scalar(select(func.count()).select_from(User).filter_by(name=name))
        ''')
    assert isinstance(new, str), new


def test_a_request_carries_the_finding_the_hint_the_examples_and_the_code(runtime, packs) -> None:
    from remora_review.generate.fixing import plan_requests
    from remora_review.generate.prompt import STOP

    settings = Settings.model_validate(
        {"generator": {"backend": "transformers", "model": "m", "context-documents": 0}})
    assert settings.generator is not None
    wanted = [w for w in wanted_fixes(_findings(runtime), packs) if w.finding.code == "SQLA001"]
    jobs, notes = plan_requests("shop/app.py", SHOP, wanted, settings.generator, None)
    assert not notes and len(jobs) == 1
    request = jobs[0].request
    assert request.adapter is None  # the shipped pack has no adapter: the base model answers
    assert request.stop == STOP
    code = "def find(session: Session, name: str):\n    return session.query(User).filter_by(name=name).first()\n"
    # A rewrite may run half again as long as the code; a model repeating itself stops there.
    assert request.max_tokens == len(code) // 2 + 64 < settings.generator.max_tokens
    prompt = request.prompt
    assert isinstance(prompt, str)
    assert prompt.startswith("# Rewrite Python code that uses sqlalchemy 2.1.9.\n# SQLAlchemy 2.0 style:")
    assert "# Problem: line 2: `Session.query()` is SQLAlchemy's legacy Query API" in prompt
    assert prompt.count("### End") == 3  # the pack's three examples
    assert prompt.endswith("### Before\n" + code + "### After\n")
