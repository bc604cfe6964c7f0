"""The name peer: mined from library-style source, predicting the majority type of a name."""

from __future__ import annotations

import textwrap

import pytest

from bench.devset.dataset import build_project, cap
from bench.devset.fetch import Project, SourceFile
from bench.devset.metrics import figures
from bench.devset.name_peer import NameTable, mine_source, name_peer
from bench.devset.parallel import prediction_pool
from bench.devset.report import dataset_table, figures_table, negatives_table
from bench.devset.resolve import Resolver
from bench.devset.run import evaluate

SESSION = "sqlalchemy.orm.session.Session"
ASYNC_SESSION = "sqlalchemy.ext.asyncio.session.AsyncSession"
LIBRARY_STYLE = textwrap.dedent(
    '''
    from __future__ import annotations
    from typing import TYPE_CHECKING, Optional
    if TYPE_CHECKING:
        from .session import Session
        from ..ext.asyncio import AsyncSession

    class Helper:
        def a(self, session: Session, n: int) -> None: ...
        def b(self, session: Optional[Session]) -> None: ...
        def c(self, session: "Session") -> None: ...
        def d(self, session: AsyncSession, *sessions: Session) -> None: ...
        def e(self, engine: list[Session]) -> None: ...
    '''
)


def test_mining_uses_the_gold_resolution() -> None:
    counts = mine_source(LIBRARY_STYLE, Resolver(), "sqlalchemy.orm.helper", "sqlalchemy.orm")
    assert counts == {("session", SESSION): 3, ("session", ASYNC_SESSION): 1}


def test_the_majority_type_and_its_share() -> None:
    table = NameTable({"session": {SESSION: 3, ASYNC_SESSION: 1}})
    found = table.predict("session")
    assert found is not None
    candidates, confidence = found
    assert candidates == ((SESSION, 0.75), (ASYNC_SESSION, 0.25)) and confidence == 0.75
    assert table.predict("db") is None


USER_CODE = textwrap.dedent(
    '''
    from sqlalchemy import select  # survives the stripping, so the file still activates sqlalchemy
    from sqlalchemy.orm import Session
    from sqlalchemy.ext.asyncio import AsyncSession

    def list_users(session: Session, limit: int):
        return session.execute(select(limit))

    async def create(session: AsyncSession, db: Session):
        await session.commit()
        return db
    '''
)


def test_harness_end_to_end_on_inline_sources() -> None:
    project = Project("demo", "1.0", "inline")
    files = [SourceFile("demo/app.py", USER_CODE), SourceFile("demo/other.py", "x = 1\n")]
    ps = build_project(project, files, Resolver())
    assert (ps.files_scanned, ps.size, len(ps.kept)) == (2, 3, 1)
    peer = name_peer(NameTable({"session": {SESSION: 3, ASYNC_SESSION: 1}}))

    with prediction_pool([peer], workers=1) as pool:
        kept, errors = evaluate(pool, 0, [ps], mode="kept", resolver=Resolver())
        blind, _ = evaluate(pool, 0, [ps], mode="blind", resolver=Resolver())
        negatives, _ = evaluate(pool, 0, [ps], mode="negatives", resolver=Resolver())
    assert errors == 0
    f = figures(kept, 0.7)
    # `session` is predicted Session (0.75) twice: right once; `db` is never seen by the peer.
    assert (f.n, f.covered, f.correct_covered) == (3, 2, 1)
    assert f.top5 == pytest.approx(2 / 3)

    assert figures(blind, 0.0).covered == 0  # p0, p1: nothing for a name-only predictor to go on

    # `limit: int` is stripped too; the peer has never seen `limit`, so it gives it no finding,
    # and the findings on the library-typed ones are as many as in names-kept mode.
    table = negatives_table("name peer", negatives, 0.7)
    assert "other-typed parameters (str, project classes, ...): 1, given a finding: 0" in table[2]
    assert table[3] == "precision of all findings: 50.0%"

    table = "\n".join(figures_table("name peer", "kept", kept, 0.7, errors))
    assert "overall" in table and "precision >= 0.97: never reached" in table
    assert "demo" in "\n".join(dataset_table([ps]))
    assert cap(ps, 1).size == 3  # capping keeps whole files


def broken(source: str, path: str, project: str) -> list:
    raise RuntimeError("a predictor bug")


def test_forked_workers_give_the_same_outcomes_and_count_failures() -> None:
    ps = build_project(Project("demo", "1.0", "inline"), [SourceFile("a.py", USER_CODE)], Resolver())
    peer = name_peer(NameTable({"session": {SESSION: 3, ASYNC_SESSION: 1}}))
    with prediction_pool([peer], workers=1) as pool:
        inline, _ = evaluate(pool, 0, [ps], mode="kept", resolver=Resolver())
    with prediction_pool([peer, broken], workers=2) as pool:
        forked, errors = evaluate(pool, 0, [ps], mode="kept", resolver=Resolver())
        failed, failures = evaluate(pool, 1, [ps], mode="kept", resolver=Resolver())
    assert forked == inline and errors == 0
    assert failures == 1 and not any(o.predicted for o in failed)


def test_a_file_that_no_longer_imports_a_library_gets_no_name_peer_prediction() -> None:
    source = "from sqlalchemy.orm import Session\ndef f(session: Session):\n    return session\n"
    ps = build_project(Project("demo", "1.0", "inline"), [SourceFile("a.py", source)], Resolver())
    assert "sqlalchemy" not in ps.kept[0].source
    assert ps.kept[0].imports == () and ps.orphaned == 1
    peer = name_peer(NameTable({"session": {SESSION: 1}}))
    assert peer(ps.kept[0].source, "a.py", "p") == []
    assert peer(ps.kept[0].source.replace("def f", "import sqlalchemy\ndef f"), "a.py", "p") != []
