"""`remora-review check` on real repositories, for files that activate no pack."""

from __future__ import annotations

import json
import subprocess
import sys

# A file that activates a pack is reviewed in the warm server unless told otherwise; these tests
# are about what one review says, not where it runs.
IN_PROCESS = {"REMORA_REVIEW_IN_PROCESS": "1"}
# A file the httpx pack reviews, which does not parse: RR001 on line 4.
BROKEN = "import httpx\n\n\ndef f(:\n"


def test_clean_commit_exits_zero(repo):
    repo.write("a.py", "def f(x):\n    return x\n")
    repo.git("add", "a.py")
    result = repo.review("check")
    assert result.returncode == 0, result.stderr
    assert "All checks passed." in result.stdout


def test_syntax_error_is_one_finding_not_a_crash(repo):
    repo.write("bad.py", "import httpx\n\n\ndef broken(:\n    pass\n")
    repo.git("add", "bad.py")
    result = repo.review("check", "--output-format", "json", env=IN_PROCESS)
    assert result.returncode == 1
    findings = json.loads(result.stdout)
    assert [(f["path"], f["code"], f["line"]) for f in findings] == [("bad.py", "RR001", 4)]
    assert "Traceback" not in result.stderr


def test_a_file_that_activates_no_pack_is_not_parsed(repo):
    """Nothing reviews it, so its syntax error is Python's and ruff's to report, not ours: the
    hook costs what Python's start-up does on such commits."""
    repo.write("bad.py", "import os\n\n\ndef broken(:\n    pass\n")
    repo.git("add", "bad.py")
    result = repo.review("check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == "All checks passed.\n"


def test_binary_non_utf8_and_huge_files_are_skipped_with_a_note(repo):
    repo.write("pyproject.toml", "[tool.remora-review]\nmax-file-size = 2000\n")
    repo.write("bin.py", b"\x00\x01\x02")
    repo.write("latin.py", "x = 'caf\xe9'\n".encode("latin-1"))
    repo.write("huge.py", "x = 1\n" * 1000)
    repo.git("add", "-A")
    result = repo.review("check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "bin.py: skipped, binary file" in result.stderr
    assert "latin.py: skipped, not UTF-8" in result.stderr
    assert "huge.py: skipped, over 2000 bytes" in result.stderr


def test_initial_commit_deletions_renames_and_detached_head(repo):
    repo.write("a.py", BROKEN)
    repo.git("add", "a.py")
    # No HEAD yet: every staged line is new.
    assert repo.review("check", env=IN_PROCESS).returncode == 1
    repo.write("a.py", "def f():\n    pass\n")
    repo.write("b.py", "x = 1\n")
    repo.commit()
    repo.git("rm", "-q", "b.py")
    repo.git("mv", "a.py", "c.py")
    assert repo.review("check", env=IN_PROCESS).returncode == 0
    repo.commit()
    repo.git("checkout", "-q", "--detach", "HEAD")
    repo.write("d.py", BROKEN)
    repo.git("add", "d.py")
    result = repo.review("check", env=IN_PROCESS)
    assert result.returncode == 1 and "d.py:4:" in result.stdout


def test_diff_range_and_all(repo):
    repo.write("a.py", "import httpx\nx = 1\n")
    repo.commit("one")
    repo.write("a.py", "import httpx\nx = (\n")
    repo.commit("two")
    assert repo.review("check", "--diff", "HEAD~1..HEAD", env=IN_PROCESS).returncode == 1
    assert repo.review("check", "--all", env=IN_PROCESS).returncode == 1
    bad = repo.review("check", "--diff", "nope..HEAD")
    assert bad.returncode == 2 and "nope" in bad.stderr and "Traceback" not in bad.stderr


def test_outside_a_repository_is_a_clear_error(tmp_path):
    result = subprocess.run([sys.executable, "-m", "remora_review.cli", "check"], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("remora-review: error: not inside a git repository")


def test_config_errors_name_the_key(repo):
    repo.write("pyproject.toml", "[tool.remora-review]\nfilter_modee = 'added'\n")
    repo.write("a.py", "x = 1\n")
    repo.git("add", "-A")
    result = repo.review("check")
    assert result.returncode == 2
    assert "unknown key [tool.remora-review] filter_modee" in result.stderr
    repo.write("pyproject.toml", "[tool.remora-review.typehints]\nthreshold = 3\n")
    result = repo.review("check")
    assert result.returncode == 2 and "typehints.threshold" in result.stderr


def test_select_and_ignore(repo):
    repo.write("bad.py", BROKEN)
    repo.git("add", "-A")
    assert repo.review("check", "--ignore", "RR001", env=IN_PROCESS).returncode == 0
    assert repo.review("check", "--select", "RR1", env=IN_PROCESS).returncode == 0
    assert repo.review("check", "--select", "RR0", env=IN_PROCESS).returncode == 1


def test_no_pack_commit_imports_no_model_libraries(repo):
    """The hook process itself: a commit whose files activate no pack stays off torch & co."""
    repo.write("a.py", "import os\n\n\ndef f(x):\n    return os.path.join(x, 'y')\n")
    repo.git("add", "a.py")
    probe = (
        "import sys, json\n"
        "from remora_review.cli import main\n"
        "rc = main(['check'])\n"
        "heavy = ('torch', 'transformers', 'sentence_transformers', 'libcst', 'numpy')\n"
        "print(json.dumps([rc, sorted(m for m in sys.modules if m.split('.')[0] in heavy)]))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=repo.path, env=repo.env,
                            capture_output=True, text=True)
    rc, loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert rc == 0, result.stderr
    assert loaded == []
