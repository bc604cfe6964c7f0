"""The hook's answer for a commit that activates no pack, given before the full path loads
(no_pack.py), and the packs discovery remembers for it and for reviews
(packs/discovery_cache.py): never stale."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from remora_review.packs import discovery_cache
from tests.integration.conftest import Repo
from tests.packs.conftest import write_pack_files

# The installed console script, as pre-commit runs it (`python -m` would put the repository on
# sys.path, and the trigger cache is keyed by sys.path).
HOOK = str(Path(sys.executable).with_name("remora-review"))
PLAIN = "import json\nimport os.path\n\n\ndef load(path):\n    return json.load(open(path))\n"
IN_PROCESS = {"REMORA_REVIEW_IN_PROCESS": "1"}


def _hook(repo: Repo, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run the hook; also which remora_review modules it imported."""
    done = subprocess.run([HOOK, "check", *args], cwd=repo.path, capture_output=True, text=True,
                          env={**repo.env, **IN_PROCESS, "PYTHONPROFILEIMPORTTIME": "1"})
    loaded = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines()
              if line.startswith("import time:") and "|" in line}
    return done, loaded


def _gate_answered(loaded: set[str]) -> bool:
    return "remora_review.no_pack" in loaded and "remora_review.review" not in loaded


def _stage_plain(repo: Repo) -> None:
    for i in range(3):
        repo.write(f"pkg/m{i}.py", PLAIN + f"\n\ndef added_{i}(s):\n    return s\n")
    repo.write("pkg/broken.py", "import os\n\n\ndef broken(:\n")  # parsed by nobody
    repo.git("add", "-A")


def _age(*paths: Path) -> None:
    """Move mtimes past the trigger cache's two-second racy window (as if written a while ago)."""
    past = time.time() - 60
    for path in paths:
        os.utime(path, (past, past))


def test_a_commit_that_activates_no_pack_is_answered_before_the_full_path(repo: Repo) -> None:
    _stage_plain(repo)
    first, loaded = _hook(repo)  # the full path discovers the packs and remembers their triggers
    assert (first.returncode, first.stdout) == (0, "All checks passed.\n"), first.stderr
    assert "remora_review.review" in loaded
    again, loaded = _hook(repo)
    assert (again.returncode, again.stdout) == (0, "All checks passed.\n"), again.stderr
    assert _gate_answered(loaded), sorted(loaded)
    assert not {"dataclasses", "typing", "pydantic", "libcst", "git"} & {
        m.split(".")[0] for m in loaded}
    # The files pre-commit names, as it passes them.
    named, loaded = _hook(repo, "pkg/m0.py", "pkg/broken.py")
    assert (named.returncode, named.stdout) == (0, "All checks passed.\n") and _gate_answered(loaded)
    # The fix hook: nothing to fix; unstaged work in a file is the full path's to note.
    fixed, loaded = _hook(repo, "--fix")
    assert (fixed.returncode, fixed.stdout) == (0, "All checks passed.\n") and _gate_answered(loaded)
    repo.write("pkg/m1.py", PLAIN)
    noted, loaded = _hook(repo, "--fix")
    assert "pkg/m1.py: not fixed, it has unstaged changes" in noted.stderr
    assert "remora_review.review" in loaded


def test_a_file_that_activates_a_pack_goes_to_the_full_path(repo: Repo) -> None:
    _stage_plain(repo)
    _hook(repo)
    repo.write("pkg/client.py", "import httpx\n\n\ndef f(:\n")
    repo.git("add", "-A")
    done, loaded = _hook(repo)
    assert done.returncode == 1 and "pkg/client.py:4:7: RR001" in done.stdout, done.stderr
    assert "remora_review.review" in loaded
    # By a project module it imports (follow-imports), and when pre-commit names the file.
    repo.write("pkg/client.py", "import httpx\n")
    repo.write("pkg/service.py", "from .client import httpx\n\n\ndef f(:\n")
    repo.git("add", "-A")
    done, _ = _hook(repo, "pkg/service.py")
    assert done.returncode == 1 and "pkg/service.py:4:7: RR001" in done.stdout, done.stderr


def test_a_pack_installed_or_changed_after_the_triggers_were_remembered_is_seen(
        repo: Repo) -> None:
    _stage_plain(repo)
    _hook(repo)
    assert _gate_answered(_hook(repo)[1])
    install_dir = Path(repo.env["XDG_DATA_HOME"]) / "remora-review" / "packs"
    pack = write_pack_files(install_dir / "tiny", activate_on=("tiny",), dim=384)
    repo.write("pkg/uses_tiny.py", "import tiny\n\n\ndef f(:\n")
    repo.git("add", "-A")
    done, _ = _hook(repo)
    assert done.returncode == 1 and "pkg/uses_tiny.py:4:7: RR001" in done.stdout, done.stderr

    # Remembered with the new pack (its files a minute old), then its manifest changes in place:
    # it now activates on `json`, which the plain files import.
    repo.git("rm", "-q", "--cached", "pkg/uses_tiny.py")
    _age(install_dir, pack, *pack.rglob("*"))
    _hook(repo)
    assert _gate_answered(_hook(repo)[1])
    write_pack_files(pack, activate_on=("tiny", "json"), dim=384)
    repo.write("pkg/m0.py", "import json\n\n\ndef f(:\n")
    repo.git("add", "pkg/m0.py")
    done, loaded = _hook(repo)
    assert done.returncode == 1 and "pkg/m0.py:4:7: RR001" in done.stdout, done.stderr
    assert "remora_review.review" in loaded


def test_a_configured_repository_or_a_skipped_file_takes_the_full_path(repo: Repo) -> None:
    _stage_plain(repo)
    _hook(repo)
    repo.write("blob.py", b"\x00\x01")
    repo.git("add", "blob.py")
    done, loaded = _hook(repo)
    assert done.returncode == 0 and "blob.py: skipped, binary file" in done.stderr
    assert "remora_review.review" in loaded
    repo.git("rm", "-q", "--cached", "blob.py")
    repo.write("pyproject.toml", "[tool.remora-review]\nmax-file-sise = 10\n")
    done, _ = _hook(repo)
    assert done.returncode == 2 and "max-file-sise" in done.stderr


def test_remembered_triggers_are_dropped_when_what_they_rest_on_changes(tmp_path: Path) -> None:
    cache, install = tmp_path / "cache", tmp_path / "install"
    manifest = tmp_path / "p" / "manifest.toml"
    manifest.parent.mkdir()
    manifest.write_text("x")
    _age(manifest)
    triggers: list[dict[str, object]] = [{"name": "p", "kind": "library", "activate_on": ["p"]}]
    before = discovery_cache.environment_stamps(str(install))
    discovery_cache.remember(str(cache), before, [str(manifest)], triggers)
    assert discovery_cache.read(str(cache), str(install)) == triggers
    manifest.write_text("y")  # a pack rebuilt in place
    assert discovery_cache.read(str(cache), str(install)) is None
    # Too fresh to trust: not remembered at all.
    discovery_cache.remember(str(cache), before, [str(manifest)], triggers)
    assert discovery_cache.read(str(cache), str(install)) is None
    _age(manifest)
    discovery_cache.remember(str(cache), before, [str(manifest)], triggers)
    assert discovery_cache.read(str(cache), str(install)) == triggers
    install.mkdir()  # the first pack installed by hand
    assert discovery_cache.read(str(cache), str(install)) is None
