"""A parameter named after a library class (`form_data` for `FormData`) where the packs'
statistics for the name leave the choice open."""

from __future__ import annotations

from pathlib import Path

import pytest

from remora_review.infer.classes import class_words, name_words
from remora_review.infer.inferer import build_inferer
from remora_review.infer.rounds import predict_source
from remora_review.packs.loader import load_pack

PACKS = Path(__file__).resolve().parents[2] / "packs" / "remora_packs"


@pytest.fixture(scope="module")
def inferer():
    return build_inferer([load_pack(PACKS / "fastapi.pack")], None)


def _top(inferer, source: str) -> str:
    (found,) = predict_source(source, inferer, "app/forms.py")
    return found.candidates[0].annotation


def test_a_name_seen_only_with_classes_the_usage_rules_out_names_its_class(inferer):
    # fastapi's own `form_data` parameters are OAuth2PasswordRequestForm, which has no `getlist`;
    # FormData and Headers both have it, and the name says which.
    source = ("from starlette.requests import Request\n\n\n"
              "def tags(form_data):\n    return form_data.getlist('tags')\n")
    assert _top(inferer, source) == "starlette.datastructures.FormData"
    assert _top(inferer, source.replace("form_data", "headers")) == \
        "starlette.datastructures.Headers"


def test_an_asyncio_twin_is_named_by_the_same_words():
    # `session` must not favour Session over AsyncSession: the usage and the function decide.
    assert class_words("sqlalchemy.ext.asyncio.AsyncSession") == class_words(
        "sqlalchemy.orm.Session") == name_words("session") == name_words("async_session")
    assert name_words("form_data") == class_words("starlette.datastructures.FormData")
