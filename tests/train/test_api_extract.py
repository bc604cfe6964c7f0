"""The API table, built by introspecting the real installed libraries."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from remora_review.api_table import ApiTable
from remora_review.errors import UserError
from remora_review.train.api_extract import extract_api_table


def test_session_has_its_public_path_and_members(sqlalchemy_table: ApiTable) -> None:
    session = sqlalchemy_table.classes["sqlalchemy.orm.Session"]
    assert session.defined_in == "sqlalchemy.orm.session.Session"
    assert "sqlalchemy.orm.session.Session" not in sqlalchemy_table.classes
    assert sqlalchemy_table.canonical("sqlalchemy.orm.session.Session") == "sqlalchemy.orm.Session"
    add = session.members["add"]
    assert add.kind == "method" and not add.is_async
    assert [p.name for p in add.params][:1] == ["instance"]  # self is not a parameter
    assert add.accepts(1, ())
    assert session.members["commit"].params == ()
    assert session.has_protocol("with")  # __enter__ is kept among the members
    assert session.doc.startswith("Manages persistence operations")


def test_attributes_set_where_self_is_positional_only(sqlalchemy_table: ApiTable) -> None:
    # Column.__init__(self, __name_pos=None, __type_pos=None, /, *args, ...) sets these on self.
    column = sqlalchemy_table.classes["sqlalchemy.Column"]
    assert {"nullable", "comment", "autoincrement"} <= set(column.members)
    assert column.members["nullable"].kind == "attribute"


def test_inherited_members_and_bases(sqlalchemy_table: ApiTable) -> None:
    session = sqlalchemy_table.classes["sqlalchemy.orm.Session"]
    # object_session comes from a private base, _SessionClassMethods.
    inherited = session.members["object_session"]
    assert inherited.kind == "classmethod"
    assert inherited.returns == "sqlalchemy.orm.Session"
    assert "sqlalchemy.orm.session._SessionClassMethods" in session.bases
    assert "builtins.object" not in session.bases and "object" not in session.bases
    # `-> Self` on an inherited method names the class it is read on.
    assert sqlalchemy_table.classes["sqlalchemy.Select"].members["where"].returns == "sqlalchemy.Select"
    assert sqlalchemy_table.classes["sqlalchemy.orm.Query"].members["filter"].returns == (
        "sqlalchemy.orm.Query"
    )


def test_async_session_is_its_own_class(sqlalchemy_table: ApiTable) -> None:
    name = "sqlalchemy.ext.asyncio.AsyncSession"
    assert name in sqlalchemy_table.classes
    assert sqlalchemy_table.canonical("sqlalchemy.ext.asyncio.session.AsyncSession") == name
    async_session = sqlalchemy_table.classes[name]
    assert async_session.members["commit"].is_async
    assert not sqlalchemy_table.classes["sqlalchemy.orm.Session"].members["commit"].is_async
    assert async_session.has_protocol("async_with")
    assert "sqlalchemy.orm.Session" not in async_session.bases


def test_functions_and_return_types(sqlalchemy_table: ApiTable) -> None:
    assert sqlalchemy_table.functions["sqlalchemy.create_engine"].returns == "sqlalchemy.Engine"
    assert "sqlalchemy.select" in sqlalchemy_table.functions
    assert sqlalchemy_table.classes["sqlalchemy.Engine"].members["connect"].returns == (
        "sqlalchemy.Connection"
    )
    assert not any(".testing" in name for name in sqlalchemy_table.classes)


def test_httpx_attributes_and_async_methods(httpx_table: ApiTable) -> None:
    response = httpx_table.classes["httpx.Response"]
    assert response.defined_in == "httpx._models.Response"  # though httpx rewrites __module__
    assert response.members["status_code"].kind == "attribute"  # set in __init__ only
    assert response.members["headers"].returns == "httpx.Headers"
    assert response.members["json"].kind == "method"
    async_get = httpx_table.classes["httpx.AsyncClient"].members["get"]
    assert async_get.is_async and async_get.returns == "httpx.Response"
    assert not httpx_table.classes["httpx.Client"].members["get"].is_async
    assert httpx_table.canonical("httpx._client.AsyncClient") == "httpx.AsyncClient"
    assert httpx_table.version == "0.28.1"


def test_reexported_types_take_the_library_name() -> None:
    table = extract_api_table("fastapi", ["starlette"], note=lambda _: None)
    assert "fastapi.Request" in table.classes
    assert table.classes["fastapi.Request"].defined_in == "starlette.requests.Request"
    assert table.canonical("starlette.requests.Request") == "fastapi.Request"
    assert "starlette.requests.Request" not in table.classes
    assert table.classes["fastapi.Request"].members["json"].is_async
    assert "fastapi.FastAPI" in table.classes


def test_extraction_is_deterministic(httpx_table: ApiTable) -> None:
    again = extract_api_table("httpx", note=lambda _: None)
    assert again.to_json() == httpx_table.to_json()


@pytest.fixture
def toy_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A small package: a private implementation module, a broken optional module, tests."""
    name = f"toylib_{abs(hash(str(tmp_path)))}"
    pkg = tmp_path / name
    (pkg / "tests").mkdir(parents=True)
    (pkg / "__init__.py").write_text(
        f"from {name}._impl import Thing, make_thing\n__all__ = ['Thing', 'make_thing']\n"
    )
    (pkg / "_impl.py").write_text(textwrap.dedent("""
        from __future__ import annotations
        from typing import Annotated, Optional, Union

        class Thing:
            '''A thing.

            More text.'''
            size: int

            def __init__(self, name: str) -> None:
                self.name = name
                self._hidden = 1

            def pair(self, other: Optional[Thing], extra: Annotated[Thing, "x"]) -> Thing | None:
                return other

            def either(self, other: Union[Thing, None] = None) -> "Optional[Thing]":
                return other

            def many(self, others: list[Thing]) -> Union[Thing, int]:
                return self

            async def fetch(self) -> None: ...

            @property
            def label(self) -> str:
                return self.name

            @staticmethod
            def build() -> Thing:
                return Thing("x")

            def __enter__(self) -> Thing:
                return self

            def __exit__(self, *exc: object) -> None: ...

        def make_thing(name: str) -> Thing:
            return Thing(name)
    """))
    (pkg / "broken.py").write_text("import not_a_module_anywhere_42\n")
    (pkg / "tests" / "__init__.py").write_text("raise RuntimeError('tests are never imported')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[module]


def test_private_modules_tests_and_failures(toy_library: str) -> None:
    notes: list[str] = []
    table = extract_api_table(toy_library, note=notes.append)
    thing = table.classes[f"{toy_library}.Thing"]
    assert thing.defined_in == f"{toy_library}._impl.Thing"
    assert table.canonical(f"{toy_library}._impl.Thing") == f"{toy_library}.Thing"
    assert [n for n in notes if ".broken" in n and "import failed" in n]
    assert not any(f"{toy_library}.tests" in n for n in notes)  # tests are never imported
    assert table.functions[f"{toy_library}.make_thing"].returns == f"{toy_library}.Thing"
    members = thing.members
    assert members["name"].kind == "attribute" and members["size"].kind == "attribute"
    assert "_hidden" not in members
    # the constructor's signature, for what a call like `Thing(x)` declares `x` to be
    assert [(p.name, p.kind) for p in members["__init__"].params] == [
        ("name", "positional_or_keyword")]
    assert members["__enter__"].kind == "method" and thing.has_protocol("with")
    assert members["label"].kind == "property"
    assert members["build"].kind == "staticmethod" and members["build"].returns == thing.name
    assert members["fetch"].is_async
    pair = members["pair"]
    assert [p.annotation for p in pair.params] == [thing.name, thing.name]  # Optional, Annotated
    assert pair.returns == thing.name  # Thing | None
    either = members["either"]
    assert either.params[0].has_default and either.params[0].annotation == thing.name
    assert either.returns == thing.name  # a string annotation
    many = members["many"]
    assert many.params[0].annotation is None  # a list of things is not a thing
    assert many.returns is None  # a union of two types names neither
    assert thing.doc == "A thing."


def test_missing_library_is_a_user_error() -> None:
    with pytest.raises(UserError, match="not_installed_lib_42"):
        extract_api_table("not_installed_lib_42")


@pytest.fixture
def marked_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Deprecation markers as libraries write them, and a class that answers any attribute."""
    name = f"markedlib_{abs(hash(str(tmp_path)))}"
    pkg = tmp_path / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent('''
        import functools
        import warnings

        from typing_extensions import deprecated


        def _wrapped_with_notice(fn):
            @functools.wraps(fn)
            def wrapper(*args, **kwargs):
                warnings.warn("old", DeprecationWarning)
                return fn(*args, **kwargs)
            wrapper.__doc__ = (fn.__doc__ or "") + """

            .. deprecated:: 2.0 Use :meth:`_impl.Thing.to_new` instead.
            """
            return wrapper


        class Thing:
            def to_new(self, x: int) -> None: ...

            @_wrapped_with_notice
            def to_old(self, x: int) -> None:
                """Old."""

            @deprecated("`legacy` is deprecated; use `to_new` instead.")
            def legacy(self, x: int) -> None: ...

            def warned(self) -> None:
                """Old too."""
                warnings.warn("warned() is going away", PendingDeprecationWarning)

            def sometimes(self, flag: bool = False) -> None:
                if flag:
                    warnings.warn("flag is deprecated", DeprecationWarning)

            def documented(self, *items: object) -> None:
                """Build it.

                .. deprecated:: 1.4 Calling it with no items is deprecated.
                """


        class Dynamic:
            def __getattr__(self, key: str) -> object:
                return key


        @deprecated("make() is deprecated")
        def make() -> Thing:
            return Thing()
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[module]


def test_deprecation_markers_and_dynamic_attributes(marked_library: str) -> None:
    table = extract_api_table(marked_library, note=lambda _: None)
    members = table.classes[f"{marked_library}.Thing"].members
    assert members["to_old"].deprecated == "deprecated since 2.0: Use Thing.to_new instead."
    assert members["legacy"].deprecated == "`legacy` is deprecated; use `to_new` instead."
    assert members["warned"].deprecated == "warned() is going away"
    assert members["to_new"].deprecated is None
    # A warning under a condition is about an argument; a hand-written directive may be about
    # one way of calling: neither marks the method.
    assert members["sometimes"].deprecated is None
    assert members["documented"].deprecated is None
    assert table.functions[f"{marked_library}.make"].deprecated == "make() is deprecated"
    assert "__getattr__" in table.classes[f"{marked_library}.Dynamic"].members
    assert "__getattr__" not in members
    again = ApiTable.from_json(table.to_json())
    assert again.classes[f"{marked_library}.Thing"].members["legacy"] == members["legacy"]
    assert "deprecated" not in table.to_json()["classes"][f"{marked_library}.Thing"]["members"][
        "to_new"]  # members without a notice store none


def test_real_deprecations(sqlalchemy_table: ApiTable) -> None:
    query = sqlalchemy_table.classes["sqlalchemy.orm.Query"].members
    assert (query["get"].deprecated or "").startswith("deprecated since 2.0: The Query.get method")
    assert query["filter"].deprecated is None
    # and_() with no arguments is deprecated, and_ itself is not
    assert sqlalchemy_table.functions["sqlalchemy.and_"].deprecated is None
    assert "__getattr__" in sqlalchemy_table.classes["sqlalchemy.Row"].members
    assert "__getattr__" not in sqlalchemy_table.classes["sqlalchemy.orm.Session"].members


def test_builtin_attribute_lookup_is_not_dynamic(httpx_table: ApiTable) -> None:
    # BaseException and int define __getattribute__ again; an exception's attributes are fixed.
    members = httpx_table.classes["httpx.HTTPStatusError"].members
    assert "__getattribute__" not in members and "__getattr__" not in members
    assert "response" in members


def test_a_self_typed_type_var_returns_the_class(httpx_table: ApiTable) -> None:
    # `async def __aenter__(self: U) -> U`: `async with httpx.AsyncClient() as client`
    assert httpx_table.classes["httpx.AsyncClient"].members["__aenter__"].returns == (
        "httpx.AsyncClient")
    assert httpx_table.classes["httpx.Client"].members["__enter__"].returns == "httpx.Client"
