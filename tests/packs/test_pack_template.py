"""The pip-installable pack template, and the entry points of the bundled first-party packs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from remora_review.cli import main
from remora_review.config import Settings
from remora_review.packs.archive import write_pack
from remora_review.packs.discovery import scan_packs
from remora_review.packs.loader import load_pack

REPO = Path(__file__).resolve().parents[2]


def test_template_installs_with_pip_and_is_discovered(
    make_pack: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    make_repo: Callable[..., Path], capsys: pytest.CaptureFixture[str],
) -> None:
    project = tmp_path / "remora-pack-tinyco"
    shutil.copytree(REPO / "templates" / "remora-pack-NAME", project)
    (project / "src" / "remora_pack_NAME").rename(project / "src" / "remora_pack_tinyco")
    for path in (project / "pyproject.toml", project / "src" / "remora_pack_tinyco" / "__init__.py"):
        path.write_text(path.read_text("utf-8").replace("NAME", "tinyco"), "utf-8")
    write_pack(make_pack("build/tinyco", name="tinyco", kind="company", activate_on=()),
               project / "src" / "remora_pack_tinyco" / "tinyco.pack")

    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
         "--no-build-isolation", "--target", str(site), str(project)],
        check=True, capture_output=True,
    )
    monkeypatch.syspath_prepend(str(site))

    found = scan_packs(Settings.model_validate({}), tmp_path, {"XDG_DATA_HOME": str(tmp_path / "none")})
    ref = {r.name: r for r in found.packs}["tinyco"]
    assert ref.origin == "entry point tinyco" and ref.kind == "company"
    assert ref.path == site / "remora_pack_tinyco" / "tinyco.pack"
    pack = load_pack(ref.path, origin=ref.origin, cache_root=tmp_path / "cache")
    assert pack.origin == "entry point tinyco" and len(pack.documents) == 3

    monkeypatch.chdir(make_repo(tmp_path / "repo"))
    assert main(["pack", "list"]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if " tinyco " in line)
    assert "entry point tinyco" in line and "ok" in line


def test_bundled_packs_sit_next_to_their_module() -> None:
    import remora_packs

    here = Path(remora_packs.__file__).resolve().parent
    for name in ("sqlalchemy", "httpx", "fastapi", "acme"):
        assert getattr(remora_packs, name)() == here / f"{name}.pack"
