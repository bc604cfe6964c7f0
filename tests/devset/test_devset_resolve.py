"""Gold resolution: annotations to library classes, compared by identity."""

from __future__ import annotations

import libcst as cst
import pytest

from bench.devset.resolve import AnnotationJudge, Resolver, Verdict, module_names

HEADER = """
import typing as t
from typing import Annotated, Any, Optional, Union
import sqlalchemy as sa
import starlette.requests
from fastapi import Depends, Request, WebSocket
from sqlalchemy.orm import Session
from starlette.types import Scope
"""


def verdict(annotation: str, header: str = HEADER) -> Verdict:
    module = cst.parse_module(header)
    judge = AnnotationJudge(module_names(module), Resolver())
    return judge.judge(cst.parse_expression(annotation))


@pytest.mark.parametrize(
    "annotation",
    [
        "Request",
        "starlette.requests.Request",
        '"Request"',
        "Optional[Request]",
        "t.Optional[Request]",
        "Request | None",
        "None | Request",
        "Union[Request, None]",
        'Optional["Request"]',
        "Annotated[Request, Depends(get_request)]",
        'Annotated["Request | None", Depends()]',
    ],
)
def test_wrappers_unwrap_to_the_same_class(annotation: str) -> None:
    assert verdict(annotation) == Verdict(key="starlette.requests.Request")


def test_a_library_generic_is_its_class() -> None:
    assert verdict("sa.Select[Any]").key == "sqlalchemy.sql.selectable.Select"


@pytest.mark.parametrize(
    ("annotation", "reason"),
    [
        ("list[Session]", "library type inside a container"),
        ("t.Callable[[Request], None]", "library type inside a container"),
        ("type[Session]", "library type inside a container"),
        ("Request | WebSocket", "union of several types"),
        ("Union[Session, int, None]", "union of several types"),
        ("Scope", "not a class (alias, TypeVar or function)"),
        ("sa.NoSuchThing", "unresolvable"),
    ],
)
def test_library_mentions_that_are_left_out_say_why(annotation: str, reason: str) -> None:
    assert verdict(annotation) == Verdict(skip=reason)


@pytest.mark.parametrize("annotation", ["int", "Optional[str]", "list[int]", "Foo", "'Literal'"])
def test_other_annotations_are_not_library(annotation: str) -> None:
    assert not verdict(annotation).mentions_library


def test_relative_imports_resolve_inside_a_library_package() -> None:
    header = "from .session import Session\nclass Local: ...\n"
    module = cst.parse_module(header)
    names = module_names(module, module_name="sqlalchemy.orm.scoping", package="sqlalchemy.orm")
    judge = AnnotationJudge(names, Resolver())
    assert judge.judge(cst.parse_expression("Session")).key == "sqlalchemy.orm.session.Session"
    assert names["Local"] == "sqlalchemy.orm.scoping.Local"


def test_predictions_compare_by_class_identity() -> None:
    resolver = Resolver()
    assert resolver.canonical("fastapi.Request") == "starlette.requests.Request"
    assert resolver.canonical("sqlalchemy.orm.Session") == "sqlalchemy.orm.session.Session"
    assert resolver.canonical("sqlalchemy.orm.NoSuch") == "sqlalchemy.orm.NoSuch"
    assert resolver.canonical("builtins.str") == "builtins.str"  # never imported: not a library


def test_only_library_modules_are_ever_imported() -> None:
    assert Resolver().obj("os.path.join") is None
