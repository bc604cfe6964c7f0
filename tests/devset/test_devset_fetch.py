"""Project list and unpacking of a release archive (a wheel made here: no network)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from bench.devset.fetch import Project, fetch, load_projects, source_files


def test_the_pinned_list_has_enough_distinct_projects() -> None:
    projects = load_projects()
    assert len(projects) >= 4
    assert len({p.name for p in projects}) == len(projects)
    assert all(p.version and p.why for p in projects)


def test_a_cached_wheel_is_unpacked_without_tests_or_metadata(tmp_path: Path) -> None:
    project = Project("demo-lib", "1.2.3", "test")
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    with zipfile.ZipFile(wheels / "demo_lib-1.2.3-py3-none-any.whl", "w") as zf:
        zf.writestr("demo_lib/__init__.py", "import httpx\n")
        zf.writestr("demo_lib/tests/test_x.py", "def test(): ...\n")
        zf.writestr("demo_lib-1.2.3.dist-info/METADATA", "Name: demo-lib\n")
        zf.writestr("demo_lib/bad.py", b"\xff\xfe not utf-8")
    root = fetch(project, tmp_path)
    assert root == tmp_path / "src" / "demo-lib-1.2.3"
    assert [f.path for f in source_files(root, project)] == ["demo_lib/__init__.py"]
    assert fetch(project, tmp_path) == root  # second call: already unpacked
