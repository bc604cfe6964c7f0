"""`remora-review pack list | info | verify | install`, run through the real CLI entry point."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from remora_review.cli import main
from remora_review.packs.archive import write_pack
from remora_review.packs.loader import load_pack

Snapshot = Callable[[Path], dict[str, bytes | None]]


@pytest.fixture
def install_dir(user_dirs: dict[str, Path]) -> Path:
    return user_dirs["data"] / "remora-review" / "packs"


def test_verify_good_and_bad(make_pack: Callable[..., Path], tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    good = make_pack("good", name="good")
    archive = write_pack(good, tmp_path / "good.pack")
    assert main(["pack", "verify", str(good), str(archive)]) == 0
    out = capsys.readouterr().out
    assert f"ok   {archive}: good 0.1.0, 3 files, 3 documents, 1 classes" in out
    assert "2 ok, 0 failed" in out

    bad = make_pack("bad", name="bad")
    (bad / "index" / "vectors.npy").write_bytes(b"\x93NUMPY garbage")
    assert main(["pack", "verify", str(archive), str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"FAIL {bad}: pack bad ({bad}): 'index/vectors.npy' does not match its sha256" in out
    assert "1 ok, 1 failed" in out


def test_verify_of_a_missing_path_is_a_usage_error(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pack", "verify", str(tmp_path / "nope.pack")]) == 2
    assert "no such file or directory" in capsys.readouterr().err


def test_install_then_list_and_info(make_pack: Callable[..., Path], tmp_path: Path,
                                    install_dir: Path, make_repo: Callable[..., Path],
                                    capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    source = make_pack("src/tiny", name="tiny")
    assert main(["pack", "install", str(source)]) == 0
    assert capsys.readouterr().out.strip() == (
        f"installed tiny 0.1.0 to {install_dir / 'tiny.pack'}"
    )
    assert sorted(p.name for p in install_dir.iterdir()) == ["tiny.pack"]
    assert load_pack(install_dir / "tiny.pack").name == "tiny"

    upgraded = write_pack(make_pack("src/tiny2", name="tiny", version="0.2.0"),
                          tmp_path / "tiny2.pack")
    assert main(["pack", "install", str(upgraded)]) == 0
    assert "replaced tiny 0.1.0 with 0.2.0" in capsys.readouterr().out
    assert sorted(p.name for p in install_dir.iterdir()) == ["tiny.pack"]

    # A repository whose config keeps its own copy of tiny: that copy wins, and list says so.
    repo = make_repo(tmp_path / "repo", '[tool.remora-review]\npack-paths = ["packs"]\n')
    make_pack("repo/packs/tiny", name="tiny", version="9.0.0")
    (repo / "src").mkdir()
    monkeypatch.chdir(repo / "src")  # the repository root is found from a subdirectory
    assert main(["pack", "list"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if " tiny " in line]
    assert any("9.0.0" in line and "pack-paths" in line and "ok" in line for line in lines)
    assert any("0.2.0" in line and "install dir" in line and "shadowed by pack-paths" in line
               for line in lines)

    assert main(["pack", "info", "tiny"]) == 0
    out = capsys.readouterr().out
    assert "9.0.0" in out and "usage 3" in out and "pack-paths" in out
    assert main(["pack", "info", str(install_dir / "tiny.pack")]) == 0
    assert "0.2.0" in capsys.readouterr().out
    assert main(["pack", "info", "nosuchpack"]) == 2
    assert "no pack named 'nosuchpack'" in capsys.readouterr().err


def test_bad_install_leaves_the_install_dir_unchanged(
    make_pack: Callable[..., Path], tmp_path: Path, install_dir: Path, raw_zip: Callable[..., Path],
    snapshot: Snapshot, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["pack", "install", str(make_pack("src/tiny", name="tiny"))]) == 0
    capsys.readouterr()
    before = snapshot(install_dir)

    tampered = make_pack("src/tiny2", name="tiny", version="0.2.0")
    (tampered / "api.json").write_text('{"library": "tiny", "version": "2", "classes": {}}')
    assert main(["pack", "install", str(tampered)]) == 2
    assert "'api.json' does not match its sha256" in capsys.readouterr().err

    hostile = raw_zip(make_pack("src/tiny3", name="tiny"), tmp_path / "hostile.pack",
                      extra={"../../escape.txt": b"x"})
    assert main(["pack", "install", str(hostile)]) == 2
    assert "escapes the pack" in capsys.readouterr().err
    assert snapshot(install_dir) == before
    assert not list(tmp_path.rglob("escape.txt"))


def test_list_without_packs_says_where_it_looked(tmp_path: Path, make_repo: Callable[..., Path],
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "repo")
    monkeypatch.chdir(repo)
    assert main(["pack", "list"]) == 0
    out = capsys.readouterr().out
    # This environment may hold pip-installed packs; without them the list is empty.
    assert "install dir" in out


def test_pack_commands_import_light() -> None:
    script = (
        "import sys\n"
        "import remora_review.packs.commands\n"
        "print(sorted(m for m in ('numpy', 'libcst', 'torch', 'rich') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
