"""Finding packs: pack-paths, the install dir, entry points, and which copy wins."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from remora_review.config import Settings
from remora_review.packs.archive import write_pack
from remora_review.packs.discovery import PackRef, discover_packs, scan_packs
from remora_review.packs.loader import PackError

_ids = itertools.count()


@pytest.fixture
def installed_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """Install a distribution with a `remora_review.packs` entry point, as pip would (dist-info)."""

    def install(ep_name: str, body: str, attr: str = "pack_path") -> str:
        module = f"remora_pack_test{next(_ids)}"
        site = tmp_path / f"site-{module}"
        (site / module).mkdir(parents=True)
        (site / module / "__init__.py").write_text(body, "utf-8")
        info = site / f"{module}-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
        (info / "entry_points.txt").write_text(
            f"[remora_review.packs]\n{ep_name} = {module}:{attr}\n"
        )
        monkeypatch.syspath_prepend(str(site))
        return module

    return install


def _discover(settings: Settings, root: Path, environ: dict[str, str]) -> list[PackRef]:
    """discover_packs, tolerating broken packs this environment may hold besides the tests' own."""
    problems: list[str] = []
    refs = discover_packs(settings, root, environ, on_problem=problems.append)
    assert not [p for p in problems if "remora_pack_test" in p or str(root) in p], problems
    return refs


def _settings(*paths: str) -> Settings:
    return Settings.model_validate({"pack-paths": list(paths)})


def _mine(refs: list[PackRef] | tuple[PackRef, ...], names: set[str]) -> dict[str, PackRef]:
    # Other packs may be installed in the environment (this repository's own, through pip).
    return {r.name: r for r in refs if r.name in names}


def test_pack_paths_takes_dirs_pack_files_and_folders_of_them(
    make_pack: Callable[..., Path], tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    make_pack("repo/packs/alpha", name="alpha", activate_on=("alpha",))
    write_pack(make_pack("build/beta", name="beta"), repo / "packs" / "beta.pack")
    (repo / "packs" / "README.md").write_text("not a pack")
    make_pack("repo/single", name="gamma", kind="company", activate_on=())
    write_pack(make_pack("build/delta", name="delta"), repo / "delta.pack")

    refs = _discover(_settings("packs", "single", "delta.pack"), repo, {})
    mine = _mine(refs, {"alpha", "beta", "gamma", "delta"})
    assert {n: (r.origin, r.path) for n, r in mine.items()} == {
        "alpha": ("pack-paths", repo / "packs" / "alpha"),
        "beta": ("pack-paths", repo / "packs" / "beta.pack"),
        "gamma": ("pack-paths", repo / "single"),
        "delta": ("pack-paths", repo / "delta.pack"),
    }
    assert mine["alpha"].activate_on == ("alpha",) and mine["gamma"].kind == "company"
    assert mine["beta"].library == "beta" and mine["beta"].library_version == ">=1,<2"


def test_reading_an_archive_manifest_extracts_nothing(
    make_pack: Callable[..., Path], tmp_path: Path, user_dirs: dict[str, Path]
) -> None:
    write_pack(make_pack("build/beta", name="beta"), tmp_path / "repo" / "beta.pack")
    environ = {"XDG_CACHE_HOME": str(user_dirs["cache"]), "HOME": str(user_dirs["home"])}
    refs = _discover(_settings("beta.pack"), tmp_path / "repo", environ)
    assert "beta" in {r.name for r in refs}
    # Nothing extracted (the cache holds only the entry-point list, see entry_points()).
    assert not (user_dirs["cache"] / "remora-review" / "packs").exists()
    assert [p.name[:13] for p in (user_dirs["cache"] / "remora-review").iterdir()] == [
        "entry-points-"]


def test_config_beats_install_dir_beats_entry_points(
    make_pack: Callable[..., Path], tmp_path: Path, user_dirs: dict[str, Path],
    installed_entry_point: Callable[..., str],
) -> None:
    repo = tmp_path / "repo"
    from_config = make_pack("repo/packs/shared", name="shared", version="3")
    install_dir = user_dirs["data"] / "remora-review" / "packs"
    write_pack(make_pack("build/shared2", name="shared", version="2"), install_dir / "shared.pack")
    from_ep = make_pack("build/shared1", name="shared", version="1")
    installed_entry_point("shared", f"def pack_path():\n    return {str(from_ep)!r}\n")
    environ = {"XDG_DATA_HOME": str(user_dirs["data"])}

    found = scan_packs(_settings("packs"), repo, environ)
    winner = _mine(found.packs, {"shared"})["shared"]
    assert (winner.version, winner.origin, winner.path) == ("3", "pack-paths", from_config)
    assert [(s.ref.version, s.ref.origin, s.by.origin) for s in found.shadowed
            if s.ref.name == "shared"] == [("2", "install dir", "pack-paths"),
                                           ("1", "entry point shared", "pack-paths")]

    found = scan_packs(_settings(), repo, environ)
    assert _mine(found.packs, {"shared"})["shared"].origin == "install dir"

    found = scan_packs(_settings(), repo, {"XDG_DATA_HOME": str(tmp_path / "nowhere")})
    winner = _mine(found.packs, {"shared"})["shared"]
    assert (winner.version, winner.origin, winner.path) == ("1", "entry point shared", from_ep)


def test_entry_point_may_be_a_path_string(
    make_pack: Callable[..., Path], tmp_path: Path, installed_entry_point: Callable[..., str]
) -> None:
    archive = write_pack(make_pack("build/epsilon", name="epsilon"), tmp_path / "epsilon.pack")
    installed_entry_point("epsilon", f"PACK = {str(archive)!r}\n", attr="PACK")
    ref = _mine(_discover(_settings(), tmp_path, {}), {"epsilon"})["epsilon"]
    assert ref.path == archive and ref.origin == "entry point epsilon"


def test_broken_sources_are_problems(
    make_pack: Callable[..., Path], tmp_path: Path, installed_entry_point: Callable[..., str]
) -> None:
    installed_entry_point("boom", "def pack_path():\n    raise RuntimeError('no pack here')\n")
    installed_entry_point("ghost", "def pack_path():\n    return '/nonexistent/ghost.pack'\n")
    bad = tmp_path / "repo" / "packs" / "broken"
    bad.mkdir(parents=True)
    (bad / "manifest.toml").write_text("format = 9\nname = 'broken'\n")
    found = scan_packs(_settings("packs", "missing"), tmp_path / "repo", {})
    messages = [p.message for p in found.problems]
    assert any("broken" in m and "uses format 9" in m for m in messages)
    assert any("pack-paths entry 'missing'" in m and "does not exist" in m for m in messages)
    assert any("entry point boom" in m and "no pack here" in m for m in messages)
    assert any("entry point ghost" in m and "/nonexistent/ghost.pack does not exist" in m
               for m in messages)
    with pytest.raises(PackError):
        discover_packs(_settings("packs"), tmp_path / "repo", {})
    reported: list[str] = []
    discover_packs(_settings("packs"), tmp_path / "repo", {}, on_problem=reported.append)
    assert any("uses format 9" in m for m in reported)


def test_discovery_stays_clear_of_numpy_libcst_and_torch(
    make_pack: Callable[..., Path], tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    make_pack("repo/packs/alpha", name="alpha")
    write_pack(make_pack("build/beta", name="beta"), repo / "packs" / "beta.pack")
    script = (
        "import json, sys, time\n"
        "from pathlib import Path\n"
        "t = time.perf_counter()\n"
        "from remora_review.config import Settings\n"
        "from remora_review.packs.discovery import discover_packs\n"
        f"refs = discover_packs(Settings.model_validate({{'pack-paths': ['packs']}}), "
        f"Path({str(repo)!r}), {{}}, on_problem=lambda m: None)\n"
        "heavy = sorted(m for m in ('numpy', 'libcst', 'torch') if m in sys.modules)\n"
        "print(json.dumps({'names': sorted(r.name for r in refs), 'heavy': heavy,"
        " 'seconds': time.perf_counter() - t}))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         cwd=Path(__file__).parents[2], check=True)
    result = json.loads(out.stdout)
    assert {"alpha", "beta"} <= set(result["names"])
    assert result["heavy"] == []


def _dist(site: Path, module: str, version: str, ep_name: str, pack: Path) -> None:
    """A distribution laid out as pip lays it out: its package and its versioned dist-info."""
    (site / module).mkdir(parents=True, exist_ok=True)
    (site / module / "__init__.py").write_text(f"def pack_path():\n    return {str(pack)!r}\n")
    info = site / f"{module}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[remora_review.packs]\n{ep_name} = {module}:pack_path\n")


def test_the_entry_point_cache_follows_installs_upgrades_and_removals(
    make_pack: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Entry points are cached (importlib.metadata is too slow to import on every commit); an
    install, an upgrade or a removal in a sys.path directory must show in the next run."""
    environ = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    alpha, beta = make_pack("alpha", name="alpha"), make_pack("beta", name="beta")

    def names() -> set[str]:
        refs = discover_packs(Settings(), tmp_path, environ, on_problem=lambda m: None)
        return {r.name for r in refs if str(tmp_path) in str(r.path)}

    old = time.time() - 10  # older than the two seconds within which nothing is cached
    os.utime(site, (old, old))
    assert names() == set()
    assert list((tmp_path / "cache" / "remora-review").glob("entry-points-*.json"))
    _dist(site, "remora_pack_cached_a", "0.1", "alpha", alpha)  # pip install
    assert names() == {"alpha"}
    os.utime(site, (old + 1, old + 1))
    assert names() == {"alpha"}
    assert names() == {"alpha"}  # served from the cache
    shutil.rmtree(site / "remora_pack_cached_a-0.1.dist-info")  # pip install -U: 0.1 goes...
    _dist(site, "remora_pack_cached_a", "0.2", "beta", beta)  # ...0.2 comes, naming another pack
    monkeypatch.delitem(sys.modules, "remora_pack_cached_a")  # a new run imports the new code
    assert names() == {"beta"}
    shutil.rmtree(site / "remora_pack_cached_a-0.2.dist-info")  # pip uninstall
    assert names() == set()
    os.utime(site, (old + 2, old + 2))
    assert names() == set()
    # One environment, one entry-point file, however many installs it saw.
    assert len(list((tmp_path / "cache" / "remora-review").glob("entry-points-*.json"))) == 1
