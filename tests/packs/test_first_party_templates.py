"""The first-party packs ship the templates their sources hold (a fix to a template must reach
the .pack users install)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "packs" / "sources"


@pytest.mark.parametrize("template", sorted(SOURCES.glob("*/templates/*")), ids=lambda p: p.name)
def test_the_shipped_pack_holds_the_source_template(template: Path) -> None:
    pack = ROOT / "packs" / "remora_packs" / f"{template.parents[1].name}.pack"
    with zipfile.ZipFile(pack) as zf:
        shipped = zf.read(f"templates/{template.name}")
    assert shipped == template.read_bytes()
