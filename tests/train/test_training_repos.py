"""The pinned training corpus: its list, its disjointness from the dev set, and the fetch's local steps
(unpacking a wheel already in the cache, pruning, the vendored-copy guard, the typed-parameter scan)."""

from __future__ import annotations

import importlib.util
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "fetch_training_repos.py"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fetch_training_repos", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


ftr = _load_script()
from bench.devset.fetch import FetchError, load_projects  # noqa: E402  (the script put ROOT on the path)


def _write_list(path: Path, *entries: tuple[str, str, str]) -> Path:
    path.write_text("".join(
        f'[[project]]\nname = "{n}"\nversion = "{v}"\nlibraries = [{libs}]\nwhy = "test"\n\n'
        for n, v, libs in entries
    ))
    return path


def _wheel(wheels: Path, dist: str, version: str, files: dict[str, str]) -> None:
    wheels.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheels / f"{dist.replace('-', '_')}-{version}-py3-none-any.whl", "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)


# --- the list ----------------------------------------------------------------------------------


def test_the_list_parses_and_feeds_every_pack_with_several_projects() -> None:
    repos = ftr.load_training_repos()
    for pack in ("sqlalchemy", "httpx", "fastapi"):
        assert len([r for r in repos if pack in r.libraries]) >= 5, pack
    assert all(r.why for r in repos)


def test_the_list_shares_no_project_with_the_dev_set() -> None:
    training = {ftr.normalize(r.name) for r in ftr.load_training_repos()}
    devset = {ftr.normalize(p.name) for p in load_projects()}
    assert devset and not training & devset


def test_every_release_is_pinned_exactly() -> None:
    for repo in ftr.load_training_repos():
        assert not set(repo.version) & set("<>=~!*, "), repo
        assert repo.version[0].isdigit(), repo


def test_a_dev_set_project_is_refused_whatever_its_spelling(tmp_path: Path) -> None:
    listed = _write_list(tmp_path / "t.toml", ("Fastapi_Users", "15.0.5", '"fastapi"'))
    with pytest.raises(ftr.TrainingListError, match="dev set"):
        ftr.load_training_repos(listed)


@pytest.mark.parametrize("version", [">=1.0", "1.*", "~=2.1", "latest"])
def test_a_version_range_is_refused(tmp_path: Path, version: str) -> None:
    listed = _write_list(tmp_path / "t.toml", ("some-lib", version, '"httpx"'))
    with pytest.raises(ftr.TrainingListError, match="exact release"):
        ftr.load_training_repos(listed)


def test_an_unknown_pack_is_refused(tmp_path: Path) -> None:
    listed = _write_list(tmp_path / "t.toml", ("some-lib", "1.0", '"django"'))
    with pytest.raises(ftr.TrainingListError, match="libraries"):
        ftr.load_training_repos(listed)


# --- fetching from the cache (no network) ------------------------------------------------------


def test_a_cached_wheel_is_unpacked_and_pruned_to_the_modules_that_use_a_library(
    tmp_path: Path,
) -> None:
    _wheel(tmp_path / "wheels", "demo-lib", "1.2.3", {
        "demo_lib/__init__.py": "",
        "demo_lib/client.py": "import httpx\n\ndef get(c: httpx.Client) -> None:\n    c.get('/')\n",
        "demo_lib/web.py": "from starlette.requests import Request\n",
        "demo_lib/util.py": "import json\n",
        "demo_lib/static/app.js": "console.log(1)\n",
        "demo_lib/_vendor/other/__init__.py": "import httpx\n",
        "demo_lib-1.2.3.dist-info/METADATA": "Name: demo-lib\n",
    })
    repo = ftr.TrainingRepo("demo-lib", "1.2.3", ("httpx",), "test")
    root = ftr.fetch(repo, tmp_path)
    assert root == tmp_path / "repos" / "demo-lib-1.2.3"
    kept = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert kept == ["demo_lib/__init__.py", "demo_lib/client.py", "demo_lib/web.py"]
    assert [p.name for p in (tmp_path / "repos").iterdir()] == ["demo-lib-1.2.3"]
    assert ftr.fetch(repo, tmp_path) == root  # second call: already there


def test_a_release_that_vendors_dev_set_code_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    _wheel(tmp_path / "wheels", "bundler", "0.1", {
        "bundler/__init__.py": "",
        "bundler/_vendor/respx/__init__.py": "import httpx\n",
    })
    with pytest.raises(FetchError, match="respx"):
        ftr.fetch(ftr.TrainingRepo("bundler", "0.1", ("httpx",), "test"), tmp_path)
    assert not any((tmp_path / "repos").iterdir())


def test_only_copies_count_as_vendored_not_integration_subpackages(tmp_path: Path) -> None:
    for package in ("mylib", "mylib/alembic", "sqlmodel", "other/third_party/alembic"):
        (tmp_path / package).mkdir(parents=True)
        (tmp_path / package / "__init__.py").write_text("")
    assert ftr.vendored_devset(tmp_path) == ["other/third_party/alembic", "sqlmodel"]


def test_fetch_all_maps_each_pack_to_its_projects_in_list_order(tmp_path: Path) -> None:
    repos = ftr.load_training_repos()
    for repo in repos:  # already unpacked: nothing is downloaded
        (tmp_path / "repos" / repo.dirname).mkdir(parents=True)
    mapping = ftr.fetch_all(tmp_path)
    assert set(mapping) == {"sqlalchemy", "httpx", "fastapi"}
    for pack, dirs in mapping.items():
        assert dirs == [tmp_path / "repos" / r.dirname for r in repos if pack in r.libraries]


# --- the scan ----------------------------------------------------------------------------------


def test_the_scan_counts_parameters_typed_with_one_library_class() -> None:
    source = '''
from typing import Annotated, Optional
import httpx
import sqlalchemy as sa
from fastapi import Depends, Request
from sqlalchemy.orm import Session

def view(request: Request, db: Annotated[Session, Depends(get_db)]) -> None: ...
async def call(client: "httpx.AsyncClient | None", *, engine: Optional[sa.Engine] = None) -> None: ...
def many(sessions: list[Session], either: Session | sa.Connection, n: int, t: httpx.Timeout | float) -> None: ...
'''
    labels = sorted(ftr.scan_source(source, ftr.ClassResolver()))
    assert labels == [
        "fastapi:starlette.Request",
        "httpx:httpx.AsyncClient",
        "sqlalchemy:sqlalchemy.Engine",
        "sqlalchemy:sqlalchemy.Session",
    ]


def test_the_scan_of_a_repo_totals_files_lines_and_parameters_per_pack(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "from sqlalchemy.ext.asyncio import AsyncSession\n"
        "async def load(session: AsyncSession, other: AsyncSession) -> None: ...\n"
    )
    (tmp_path / "broken.py").write_text("def (:\n")
    counts = ftr.scan_repo(tmp_path, ftr.ClassResolver())
    assert (counts.files, counts.lines) == (2, 3)
    assert counts.params == {"sqlalchemy": 2}
    assert counts.classes == {"sqlalchemy:sqlalchemy.AsyncSession": 2}
