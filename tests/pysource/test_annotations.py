"""The one annotation resolver: the same answers from `ast` and libcst trees, at check and train time."""

from __future__ import annotations

import ast

import libcst as cst
import pytest

from remora_review.infer.profile import annotation_class, parse_profiles
from remora_review.project.facts import extract_facts
from remora_review.pysource.annotations import Named, from_ast, from_cst, named_class

NAMES = {"Session": "orm.Session", "Select": "sql.Select", "Optional": "typing.Optional",
         "Union": "typing.Union", "Annotated": "typing.Annotated", "list": "builtins.list",
         "Callable": "typing.Callable", "Engine": "sql.Engine", "t": "typing"}


def _qualify(name: Named) -> str | None:
    head, _, rest = name.written.partition(".")
    found = NAMES.get(head)
    return f"{found}.{rest}" if found and rest else found


CASES = [
    ("Session", "orm.Session"),
    ("Optional[Session]", "orm.Session"),
    ("t.Optional[Session]", "orm.Session"),
    ("Session | None", "orm.Session"),
    ("None | Session", "orm.Session"),
    ("Union[Session, None]", "orm.Session"),
    ("Annotated[Session, 'doc']", "orm.Session"),
    ("'Session'", "orm.Session"),
    ("Optional['Session']", "orm.Session"),
    ("Select[tuple[int]]", "sql.Select"),  # a generic class is that class
    ("list[Session]", None),  # a container is not what it holds
    ("Callable[..., Session]", None),
    ("Session | Engine", None),  # several classes: no one class
    ("Session | list[int]", None),
    ("Union[Session, Engine]", None),
    ("Unknown", None),
    ("None", None),
    ("'broken('", None),
    ("f()", None),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_one_rule_over_both_trees(text, expected):
    assert named_class(from_ast(ast.parse(text, mode="eval").body), _qualify) == expected
    assert named_class(from_cst(cst.parse_expression(text)), _qualify) == expected


def test_project_facts_and_usage_profiles_agree_on_what_an_annotation_names():
    # the two used to disagree on a subscripted class (`Select[...]`: a Select, or nothing)
    source = (
        "from typing import Optional\n"
        "from sqlalchemy import Select\nfrom sqlalchemy.orm import Session\n"
        "def f(a: Select[tuple[int]], b: Optional['Session'], c: list[Session],\n"
        "      d: Session | Select, e: str) -> None: ...\n"
    )
    facts = extract_facts("app.m", source)
    assert facts is not None
    from_facts = {p.name: p.annotation for p in facts.functions["f"].params}
    builder, sites = parse_profiles(source)
    from_profiles = {s.param.name.value: annotation_class(builder, s.annotation)
                     for s in sites if s.annotation is not None}
    assert from_facts == from_profiles == {
        "a": "sqlalchemy.Select", "b": "sqlalchemy.orm.Session", "c": None, "d": None,
        "e": "builtins.str"}
