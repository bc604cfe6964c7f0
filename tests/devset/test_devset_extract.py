"""Stripping library-typed annotations, removing their imports, renaming in names-blind mode."""

from __future__ import annotations

import textwrap

import libcst as cst

from bench.devset.extract import Extraction, GoldParam, extract
from bench.devset.resolve import Resolver

SOURCE = textwrap.dedent(
    '''
    from __future__ import annotations

    import json
    from typing import TYPE_CHECKING, Optional

    import httpx
    from fastapi import Depends, Request

    if TYPE_CHECKING:
        from sqlalchemy.orm import Session


    def save(session: Session, item: dict, *args: Request, **kw: Request) -> None:
        session.add(item)
        session.commit()


    class Api:
        def get(self, request: Request, client: Optional[httpx.AsyncClient] = None) -> str:
            def inner() -> str:
                return request.url.path
            names = [request.method for _ in range(2)]
            return client.get(inner(), request=request, headers=self.request.headers)

        def plain(self, x: int) -> int:
            return x


    def uses_json(data: str) -> dict:
        return json.loads(data)
    '''
)


def run(source: str = SOURCE) -> Extraction:
    return extract(source, "pkg/mod.py", Resolver())


def at_line(source: str, g: GoldParam) -> str:
    return source.splitlines()[g.line - 1]


def test_names_kept_strips_annotations_and_imports_only_they_used() -> None:
    out = run()
    kept = out.kept.source
    cst.parse_module(kept)
    assert "def save(session, item: dict, *args: Request, **kw: Request) -> None:" in kept
    assert "def get(self, request, client=None) -> str:" in kept
    # Session was used only by a stripped annotation; its TYPE_CHECKING block keeps a `pass`.
    assert "sqlalchemy" not in kept
    assert "if TYPE_CHECKING:\n    pass" in kept
    # httpx and Optional were used only there too; Request still types *args; json and Depends stay
    # (Depends was unused before: only what stripping made unused goes).
    assert "import httpx" not in kept and "Optional" not in kept
    assert "from fastapi import Depends, Request" in kept
    assert "import json" in kept
    assert "def plain(self, x: int) -> int:" in kept
    assert out.kept.imports == ("fastapi",)  # sqlalchemy and httpx are no longer imported


def test_gold_labels_are_class_keys_at_the_stripped_lines() -> None:
    out = run()
    gold = {g.parameter: g for g in out.kept.gold}
    assert set(gold) == {"session", "request", "client"}
    assert gold["session"].gold == "sqlalchemy.orm.session.Session"
    assert gold["request"].gold == "starlette.requests.Request"
    assert gold["client"].gold == "httpx.AsyncClient"
    assert gold["client"].annotation == "Optional[httpx.AsyncClient]"
    assert gold["request"].function == "Api.get"
    for g in out.kept.gold:
        assert g.parameter in at_line(out.kept.source, g)
        assert g.used


def test_left_out_parameters_are_counted_by_reason() -> None:
    assert run().skipped == {"*args / **kwargs": 2}


def test_names_blind_renames_parameters_and_every_use_but_not_attributes_or_keywords() -> None:
    out = run()
    blind = out.blind.source
    cst.parse_module(blind)
    assert "def save(p0, item: dict, *args: Request, **kw: Request) -> None:" in blind
    assert "    p0.add(item)\n    p0.commit()" in blind
    assert "def get(self, p0, p1=None) -> str:" in blind
    assert "return p0.url.path" in blind  # a nested function's use
    assert "[p0.method for _ in range(2)]" in blind  # a comprehension's use
    # The keyword at the call site and the attribute `self.request` keep their names.
    assert "return p1.get(inner(), request=p0, headers=self.request.headers)" in blind
    assert "def plain(self, x: int) -> int:" in blind
    originals = {g.parameter: g.original for g in out.blind.gold if g.function == "Api.get"}
    assert originals == {"p0": "request", "p1": "client"}
    for g in out.blind.gold:
        assert g.parameter in at_line(blind, g)


def test_neutral_names_never_collide_with_names_in_the_module() -> None:
    source = "from httpx import Client\np0 = 1\ndef f(c: Client, d: Client) -> int:\n    return p0\n"
    blind = run(source).blind
    assert "def f(p1, p2) -> int:\n    return p0" in blind.source
    assert [g.parameter for g in blind.gold] == ["p1", "p2"]


def test_removed_lines_move_the_gold_lines() -> None:
    source = textwrap.dedent(
        '''
        from sqlalchemy.orm import (
            Session,
        )
        from typing import Annotated
        from fastapi import Depends


        def handler(
            db: Annotated[
                Session,
                Depends(),
            ],
            other: int,
        ):
            return db.query(other)
        '''
    )
    out = run(source)
    (g,) = out.kept.gold
    assert "from sqlalchemy" not in out.kept.source and "Annotated" not in out.kept.source
    assert at_line(out.kept.source, g).strip() == "db,"
    assert at_line(out.blind.source, out.blind.gold[0]).strip() == "p0,"


def test_partial_import_removal_stays_valid() -> None:
    source = (
        "from httpx import Client, Response\n"
        "from starlette.requests import (Request, HTTPConnection,)\n"
        "def f(c: Client, r: Request) -> Response:\n"
        "    return HTTPConnection\n"
    )
    kept = run(source).kept.source
    assert kept.splitlines()[:2] == [
        "from httpx import Response",
        "from starlette.requests import (HTTPConnection,)",
    ]


def test_a_module_without_library_annotations_is_left_as_it_is() -> None:
    source = "import httpx\ndef f(x: int, c=httpx.Client()) -> None: ...\n"
    out = run(source)
    assert out.kept.source == source and out.blind.source == source
    assert out.kept.gold == ()


def test_an_unused_parameter_is_marked() -> None:
    source = "from httpx import Client\ndef f(c: Client) -> None: ...\n"
    assert [g.used for g in run(source).kept.gold] == [False]


def test_negatives_strip_the_other_plain_annotations_too_and_mark_them() -> None:
    out = run(SOURCE.replace("def plain(self, x: int)", "def plain(self, x: int, y: Any)"))
    assert out.negatives is not None
    gold = {(g.function, g.parameter): g.gold for g in out.negatives.gold}
    # the library-typed ones stay as they are in names-kept mode
    assert {k: v for k, v in gold.items() if not v.startswith("!")} == {
        (g.function, g.parameter): g.gold for g in out.kept.gold}
    assert gold[("save", "item")] == "!dict"
    assert gold[("Api.plain", "x")] == "!int" and gold[("uses_json", "data")] == "!str"
    assert ("Api.plain", "y") not in gold  # Any accepts a library class too
    assert ("Api.plain", "self") not in gold and ("save", "args") not in gold
    for g in out.negatives.gold:
        assert g.parameter in at_line(out.negatives.source, g)
    assert "data: str" not in out.negatives.source and "def plain(self, x, y: Any)" in out.negatives.source
