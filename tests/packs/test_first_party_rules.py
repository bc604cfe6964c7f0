"""The first-party packs ship the policies and rewrites their sources hold (a rule changed in
packs/sources/ must reach the .pack users install: scripts/refresh_pack_rules.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from remora_review.packs.loader import load_pack

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.build_packs import specs  # noqa: E402


@pytest.mark.parametrize("name", ["sqlalchemy", "httpx", "fastapi", "acme"])
def test_the_shipped_pack_holds_the_source_rules(name: str, tmp_path: Path) -> None:
    spec = specs()[name]
    pack = load_pack(ROOT / "packs" / "remora_packs" / f"{name}.pack", cache_root=tmp_path)
    assert pack.manifest.policies == spec.policies
    assert pack.manifest.rewrites == spec.rewrites


def test_the_generated_fix_cases_are_in_the_sources() -> None:
    assert [p.code for p in specs()["sqlalchemy"].policies if p.fix == "generate"] == ["SQLA001"]
    assert {(r.callee, r.keyword) for r in specs()["httpx"].rewrites} == {
        ("httpx.Client", "proxies"), ("httpx.AsyncClient", "proxies"),
        ("httpx.Client", "app"), ("httpx.AsyncClient", "app")}
    assert [r.callee for r in specs()["fastapi"].rewrites] == ["fastapi.FastAPI.on_event"]
