"""A module's imports as evidence: a class of a pack's library the module does not import is
unlikely, and so is the embedding's vote for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from remora_review.infer.inferer import build_inferer
from remora_review.infer.profile import MethodCall, UsageProfile
from remora_review.infer.scoring import library_scores, spoken_name
from remora_review.packs.loader import load_pack

PACKS = Path(__file__).resolve().parents[2] / "packs" / "remora_packs"
STARLETTE, FASTAPI = "starlette.applications.Starlette", "fastapi.FastAPI"


@pytest.fixture(scope="module")
def inferer():
    return build_inferer([load_pack(PACKS / "fastapi.pack")], None)


def _starlette_over_fastapi(inferer, context: set[str]) -> float:
    """The log odds of Starlette over its FastAPI subclass for an `app` used for `mount`, both
    have it, whose nearest mined usages are labelled FastAPI, as most apps in a corpus are."""
    profile = UsageProfile(name="p0", function="mount_to", calls=(MethodCall("mount", 2),))
    votes = {FASTAPI: 0.98, STARLETTE: 0.01}
    scores = library_scores(inferer.catalogue, profile, votes, frozenset(context), use_name=False)
    return scores[STARLETTE] - scores[FASTAPI]


def test_a_vote_for_a_class_the_module_cannot_import_goes_to_the_base_it_does(inferer):
    # starlette-admin imports starlette, never fastapi: its `mount_to(app)` takes a Starlette.
    assert _starlette_over_fastapi(inferer, {"starlette"}) > 1.0
    # A module that imports fastapi may hold either: the neighbours' label stands.
    assert _starlette_over_fastapi(inferer, {"starlette", "fastapi"}) < -1.0


def test_an_exception_read_for_its_args_is_no_library_exception(inferer):
    # The packs' exceptions are their only classes with `args`: without the builtin `Exception`
    # beside them, a logger's `exc` was sure to be starlette's HTTPException.
    profile = UsageProfile(name="p0", function="payload", attributes=frozenset({"args"}))
    scores = library_scores(inferer.catalogue, profile, None, frozenset({"starlette"}),
                            use_name=False)
    assert max(scores, key=scores.__getitem__) == "builtins.Exception"
    # what only the library's has still names it
    profile = UsageProfile(name="p0", function="payload",
                           attributes=frozenset({"args", "status_code", "detail"}))
    scores = library_scores(inferer.catalogue, profile, None, frozenset({"starlette"}),
                            use_name=False)
    assert max(scores, key=scores.__getitem__) == "starlette.exceptions.HTTPException"


def test_the_name_the_statistics_read_for_a_name_they_never_saw():
    catalogue = build_inferer([load_pack(PACKS / "sqlalchemy.pack")], None).catalogue

    def spoken(name: str, stored: tuple[str, ...] = ()) -> str:
        return spoken_name(catalogue, UsageProfile(name=name, function="f", other_names=stored))

    assert spoken("session") == "session"  # seen: its own
    assert spoken("p0", ("connection",)) == "connection"  # stored as `self.connection`
    assert spoken("namespace_metadata") == "metadata"  # a compound's head word
    assert spoken("is_metadata") == "is_metadata"  # a flag's is not
    # `value` is mostly something else in the packs' code: it says nothing of a library class
    assert spoken("return_value") == "return_value"
