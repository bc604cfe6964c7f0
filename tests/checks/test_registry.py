"""The check registry: each entry's declaration matches the check it builds; --select / --ignore
and the active packs decide which checks a run builds at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from remora_review.checks.registry import CHECKS, CheckEnv, Registered, build_checks, wanted
from remora_review.config import Settings
from remora_review.packs.loader import load_pack
from remora_review.project.index import ProjectIndex

PACKS = Path(__file__).resolve().parents[2] / "packs" / "remora_packs"


@pytest.fixture(scope="module")
def packs():
    return {name: load_pack(PACKS / f"{name}.pack") for name in ("httpx", "acme")}


def _env(packs, **settings):
    return CheckEnv(Path("."), Settings(**settings), packs, None, ProjectIndex)


def test_each_entry_declares_what_its_check_says(packs):
    built = build_checks(CHECKS, _env(packs))
    assert [c.name for c in built] == [r.name for r in CHECKS]
    for entry, check in zip(CHECKS, built):
        assert tuple(check.codes) == entry.reports(packs.values())
        assert check.needs_packs == entry.needs_packs
    assert dict(zip([r.name for r in CHECKS], [tuple(c.codes) for c in built])) == {
        "typehints": ("RR101",), "api": ("RR201", "RR202", "RR203", "RR204"),
        "policies": ("ACME001",)}


def test_select_and_ignore_leave_out_checks_whose_codes_are_all_off(packs):
    def names(**settings):
        return [r.name for r in wanted(CHECKS, Settings(**settings), packs)]

    assert names() == ["typehints", "api", "policies"]
    assert names(select=("RR",)) == ["typehints", "api"]
    assert names(select=("ACME",)) == ["policies"]
    assert names(ignore=("ACME",)) == ["typehints", "api"]
    assert names(ignore=("RR101",), select=("RR",)) == ["api"]
    assert names(ignore=("RR101", "RR2"), select=("RR",)) == []


def test_without_packs_no_pack_check_is_built():
    assert wanted(CHECKS, Settings(), {}) == ()
    free = Registered("free", "remora_review.checks.nothing", ("F1",), needs_packs=False)
    assert wanted((*CHECKS, free), Settings(), {}) == (free,)
