from remora_review.activation import PackTrigger, active_packs, imported_modules

TRIGGERS = [
    PackTrigger("sqlalchemy", "library", ("sqlalchemy",)),
    PackTrigger("fastapi", "library", ("fastapi", "starlette")),
    PackTrigger("acme", "company", ()),
]


def test_import_forms():
    source = (
        "import os, sqlalchemy.orm as orm\n"
        "from httpx import (Client,\n    AsyncClient)\n"
        "    import fastapi  # nested\n"
        "from . import sibling\n"
        "from .pkg import thing\n"
    )
    assert imported_modules(source) == {"os", "sqlalchemy.orm", "httpx", "fastapi"}


def test_library_pack_activates_by_import_only():
    assert active_packs("from sqlalchemy.orm import Session\n", TRIGGERS, ()) == ("sqlalchemy",)
    assert active_packs("from starlette.requests import Request\n", TRIGGERS, ()) == ("fastapi",)
    assert active_packs("import sqlalchemy_utils\n", TRIGGERS, ()) == ()
    assert active_packs("x = 1\n", TRIGGERS, ()) == ()


def test_company_pack_active_everywhere_when_listed():
    assert active_packs("x = 1\n", TRIGGERS, ("acme",)) == ("acme",)
    assert active_packs("x = 1\n", TRIGGERS, ()) == ()
