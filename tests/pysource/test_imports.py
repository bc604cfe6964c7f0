"""The one import reader: from the text (activation's hot path) and from parsed statements."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from remora_review.pysource.imports import absolute, bindings, from_imports, imported_modules


def test_import_forms():
    source = (
        "import os, sqlalchemy.orm as orm\n"
        "from httpx import (Client,\n    AsyncClient)\n"
        "    import fastapi  # nested\n"
        "from . import sibling\n"
        "from .pkg import thing\n"
    )
    assert imported_modules(source) == {"os", "sqlalchemy.orm", "httpx", "fastapi"}


def test_from_a_import_b_names_module_a_and_takes_b():
    source = "from a import b\nfrom a.c import d as e, f\nfrom m import *\n"
    assert imported_modules(source) == {"a", "a.c", "m"}  # b may be a class: not a module
    assert list(from_imports(source)) == [("a", ("b",)), ("a.c", ("d", "f")), ("m", ())]


def test_relative_imports_keep_their_dots():
    source = "from . import a, b\nfrom ..db import (Base,\n    engine)  # c\n"
    assert list(from_imports(source)) == [(".", ("a", "b")), ("..db", ("Base", "engine"))]
    assert imported_modules(source) == frozenset()


@pytest.mark.parametrize(("name", "module", "is_package", "expected"), [
    ("..util.f", "app.repo.users", False, "app.util.f"),
    (".base", "app.repo", True, "app.repo.base"),
    (".", "app.repo", False, "app"),
    (".", "app.repo", True, "app.repo"),
    ("pkg.mod", "app", False, "pkg.mod"),
    ("....x", "a.b", False, "x"),  # past the top: the top
    ("._models.Response", "httpx._client", False, "httpx._models.Response"),
])
def test_absolute(name, module, is_package, expected):
    assert absolute(name, module, is_package) == expected


def _bound(code: str, module: str | None, is_package: bool = False) -> list[tuple[str, str]]:
    (statement,) = ast.parse(code).body
    assert isinstance(statement, (ast.Import, ast.ImportFrom))
    return list(bindings(statement, module, is_package))


def test_bindings_of_each_import_form():
    assert _bound("import a.b", None) == [("a", "a")]
    assert _bound("import a.b as c, d", None) == [("c", "a.b"), ("d", "d")]
    assert _bound("from a import b as c, d", None) == [("c", "a.b"), ("d", "a.d")]
    assert _bound("from a import *", None) == []


def test_relative_bindings_need_the_module():
    assert _bound("from .models import User", "app.views") == [("User", "app.models.User")]
    assert _bound("from . import models", "app", is_package=True) == [("models", "app.models")]
    assert _bound("from .models import User", None) == []


def test_the_reader_and_activation_import_no_heavy_library():
    code = ("import sys, remora_review.pysource.imports, remora_review.activation\n"
            "heavy = [m for m in sys.modules if m.split('.')[0] in "
            "('libcst', 'pydantic', 'numpy')]\n"
            "assert not heavy, heavy\n")
    subprocess.run([sys.executable, "-c", code], check=True)
