"""The hook on a commit that activates no pack: the standard library only, a handful of git calls."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from remora_review.config import Settings
from remora_review.config_file import CoreSettings

HEAVY = ("pydantic", "pydantic_core", "git", "libcst", "numpy", "rich", "torch")

STDLIB_FILE = '''import json
import os.path
from collections import OrderedDict


def load(path):
    with open(os.path.join(path, "x.json")) as fh:
        return OrderedDict(json.load(fh))
'''


def _stage_ten(repo) -> None:  # type: ignore[no-untyped-def]
    for i in range(10):
        repo.write(f"pkg/m{i}.py", STDLIB_FILE)
    repo.write("pkg/__init__.py", "")
    repo.commit("base")
    for i in range(10):
        repo.write(f"pkg/m{i}.py", STDLIB_FILE + f"\n\ndef added_{i}(s, user):\n    s.add(user)\n")
    repo.write("pkg/broken.py", "def broken(:\n")
    repo.git("add", "-A")


def _imported(stderr: str) -> set[str]:
    """Top-level packages in `-X importtime` output."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


def test_the_real_check_command_imports_only_the_standard_library(repo) -> None:  # type: ignore[no-untyped-def]
    _stage_ten(repo)
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "remora_review", "check"],
                          cwd=repo.path, env=repo.env, capture_output=True, text=True)
    # The broken file activates no pack: nothing reviews it, nothing parses it.
    assert (done.returncode, done.stdout) == (0, "All checks passed.\n"), done.stderr
    loaded = _imported(done.stderr)
    assert "remora_review" in loaded  # the probe sees the product's own imports
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_a_configured_repository_is_still_validated(repo) -> None:  # type: ignore[no-untyped-def]
    _stage_ten(repo)
    repo.write("pyproject.toml", "[tool.remora-review]\nmax-file-sise = 10\n")
    done = repo.review("check")
    assert done.returncode == 2 and "unknown key [tool.remora-review] max-file-sise" in done.stderr


def test_git_is_asked_a_few_times_whatever_the_number_of_files(repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """One diff for names, blob ids and lines; one `cat-file --batch` for every blob (no
    `git show` or `cat-file blob` per file)."""
    _stage_ten(repo)
    log = tmp_path / "git.log"
    shim = tmp_path / "shim" / "git"
    shim.parent.mkdir()
    real = subprocess.run(["sh", "-c", "command -v git"], capture_output=True, text=True,
                          check=True).stdout.strip()
    shim.write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {real} "$@"\n')
    shim.chmod(0o755)
    env = {"PATH": f"{shim.parent}{os.pathsep}{os.environ['PATH']}"}
    done = repo.review("check", env=env)
    assert done.returncode == 0, done.stderr
    calls = log.read_text().splitlines()
    commands = [next(a for a in c.split() if not a.startswith("-") and "=" not in a)
                for c in calls]
    assert commands.count("cat-file") == 1 and any("--batch" in c for c in calls), calls
    assert commands.count("diff") == 1, calls
    assert len(calls) <= 6, calls  # root, HEAD, diff, cat-file, and follow-imports' ls-files


def test_defaults_without_pydantic_match_settings() -> None:
    core, full = CoreSettings(), Settings()
    for name in ("select", "ignore", "filter_mode", "packs", "pack_paths", "max_file_size",
                 "follow_imports", "exclude"):
        assert getattr(core, name) == getattr(full, name), name
    assert CoreSettings(select=("RR1",)).validated().select == ("RR1",)


def test_check_imports_no_other_sub_command(repo) -> None:  # type: ignore[no-untyped-def]
    _stage_ten(repo)
    probe = ("import runpy, sys\n"
             # An option, so the full path answers, not no_pack.py's (which imports no command).
             "sys.argv = ['remora-review', 'check', '--output-format', 'text']\n"
             "try:\n    runpy.run_module('remora_review', run_name='__main__')\n"
             "except SystemExit:\n    pass\n"
             "print('MODULES', ' '.join(sorted(sys.modules)), file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd=repo.path, env=repo.env,
                          capture_output=True, text=True)
    assert "All checks passed." in done.stdout, done.stderr
    modules = set(done.stderr.split("MODULES", 1)[1].split())
    assert "remora_review.commands.check" in modules
    others = {"remora_review.install_hooks", "remora_review.github.action",
              "remora_review.packs.commands", "remora_review.server_commands"}
    assert not modules & others, sorted(modules & others)


def test_a_table_validated_once_is_read_without_pydantic(repo) -> None:  # type: ignore[no-untyped-def]
    _stage_ten(repo)
    repo.write("pyproject.toml", "[tool.remora-review]\nmax-file-size = 100000\nexclude = [\"x\"]\n"
               "[tool.remora-review.typehints]\nreport-below = true\n")

    def run() -> tuple[subprocess.CompletedProcess[str], set[str]]:
        done = subprocess.run([sys.executable, "-X", "importtime", "-m", "remora_review", "check"],
                              cwd=repo.path, env=repo.env, capture_output=True, text=True)
        return done, _imported(done.stderr)

    first, loaded = run()
    assert first.returncode == 0 and "All checks passed." in first.stdout, first.stderr
    assert "pydantic" in loaded  # validated, and remembered
    second, loaded = run()
    assert (second.returncode, second.stdout) == (first.returncode, first.stdout)
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
    # Any change to the table is validated afresh: a bad value is still refused.
    repo.write("pyproject.toml", "[tool.remora-review]\nmax-file-size = 0\n")
    third = repo.review("check")
    assert third.returncode == 2 and "max-file-size" in third.stderr, third.stderr


def test_remembered_settings_are_the_validated_ones(tmp_path: Path) -> None:
    from remora_review.config_file import CheckedSettings, ConfigFile, settings_for

    table = {"select": ["RR1"], "follow-imports": False, "typehints": {"threshold": 0.8},
             "embedding": {"server": False, "idle-timeout": 30}}
    config = ConfigFile("pyproject.toml", table)
    first = settings_for(config, {"ignore": ("RR2",)}, tmp_path)
    again = settings_for(config, {"ignore": ("RR2",)}, tmp_path)
    assert isinstance(first, Settings) and isinstance(again, CheckedSettings)
    assert again.validated() == first
    for name in ("select", "ignore", "filter_mode", "packs", "pack_paths", "max_file_size",
                 "follow_imports", "exclude"):
        assert getattr(again, name) == getattr(first, name), name
    assert again.code_enabled("RR101") and not again.code_enabled("RR201")
