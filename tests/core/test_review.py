"""review() on real git repositories: per-file outcomes, fingerprints, fixes kept in memory."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import pytest

from remora_review.changes import all_files, staged_changes
from remora_review.config import Settings
from remora_review.errors import UserError
from remora_review.packs.discovery import PackRef
from remora_review.review import Backends, Checked, review
from remora_review.sources import Skipped

PACKS = Path(__file__).resolve().parents[2] / "packs" / "remora_packs"
SQLALCHEMY = PackRef("sqlalchemy", "test", PACKS / "sqlalchemy.pack",
                     activate_on=("sqlalchemy",))
# A file the sqlalchemy pack reviews, which does not parse (RR001).
BROKEN = "import sqlalchemy\n\n\ndef f(:\n"
SAVE = "import sqlalchemy\n\n\ndef save(s, user):\n    s.add(user)\n    s.commit()\n"


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "gitconfig"
    config.write_text("[user]\n\tname = Test\n\temail = test@example.com\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    return repo


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def _stage(root: Path, files: Mapping[str, str | bytes]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode() if isinstance(text, str) else text)
    _git(root, "add", "-A")


def _backends(*refs: PackRef) -> Backends:
    """Packs from the test's list, no embedding model: structure, names and declarations only."""
    return Backends(environ={}, discover=lambda settings, root, environ, note: list(refs),
                    retrieval=lambda packs, settings, environ, note: None, strict=True)


def test_files_are_checked_or_skipped_with_the_reason_in_the_change_order(root):
    _stage(root, {"a.py": BROKEN, "b.py": b"\x00\x01", "c.py": "x = 1\n", "d.txt": "x"})
    result = review(root, staged_changes(root), Settings(), _backends(SQLALCHEMY))
    assert [type(f).__name__ for f in result.files] == ["Checked", "Skipped", "Checked"]
    assert result.files[1] == Skipped("b.py", "binary file")
    assert result.notes == ("b.py: skipped, binary file",)
    assert [r.finding.code for r in result.findings] == ["RR001"]
    assert result.packs == ("sqlalchemy",)


def test_findings_carry_the_fingerprint_of_their_code(root):
    _stage(root, {"shop/store.py": SAVE})
    result = review(root, staged_changes(root), Settings(), _backends(SQLALCHEMY))
    (checked,) = result.checked
    assert checked.packs == ("sqlalchemy",) and result.packs == ("sqlalchemy",)
    (reviewed,) = checked.findings
    assert reviewed.finding.data["parameter"] == "s"
    assert reviewed.fingerprint == reviewed.finding.fingerprint(SAVE)
    # An unrelated edit above moves the line; the fingerprint stays.
    _stage(root, {"shop/store.py": "# billing\n" + SAVE})
    (moved,) = review(root, staged_changes(root), Settings(), _backends(SQLALCHEMY)).findings
    assert moved.finding.line == reviewed.finding.line + 1
    assert moved.fingerprint == reviewed.fingerprint


def test_fix_is_applied_in_memory_and_never_on_a_file_with_unstaged_work(root):
    _stage(root, {"a.py": SAVE, "b.py": SAVE})
    (root / "b.py").write_text(SAVE + "# not staged\n")
    result = review(root, staged_changes(root), Settings(), _backends(SQLALCHEMY), fix=True)
    a, b = result.checked
    assert a.fixable and a.fixed_source is not None and "def save(s: Session, user):" in a.fixed_source
    assert a.findings == () and a.fixes_applied == 1
    assert not b.fixable and b.fixed_source is None and len(b.findings) == 1
    assert "b.py: not fixed, it has unstaged changes (stage or stash them)" in result.notes
    assert result.fixed == (a,)
    assert (root / "a.py").read_text() == SAVE  # review() writes nothing


def test_a_listed_pack_that_is_not_installed_is_a_user_error(root):
    _stage(root, {"a.py": "x = 1\n"})
    settings = Settings(packs=("acme",))
    with pytest.raises(UserError, match="'acme' is listed"):
        review(root, staged_changes(root), settings, _backends(SQLALCHEMY))


def _fail(*args: object) -> None:
    raise AssertionError("called")


def test_the_no_pack_path_never_calls_the_pack_backends(root):
    _stage(root, {"a.py": "import os\n"})
    _git(root, "commit", "-qm", "c")
    backends = replace(_backends(SQLALCHEMY), load=_fail, retrieval=_fail, project=_fail)
    result = review(root, all_files(root), Settings(), backends)
    assert [type(f) for f in result.files] == [Checked] and result.findings == ()


def test_ignoring_every_code_of_the_active_packs_builds_no_check(root):
    _stage(root, {"a.py": SAVE})
    backends = replace(_backends(SQLALCHEMY), retrieval=_fail, project=_fail)
    result = review(root, staged_changes(root), Settings(ignore=("RR101", "RR2", "SQLA")), backends)
    assert result.packs == ("sqlalchemy",) and result.findings == ()


def test_exclude_leaves_matching_files_and_directories_out(root):
    _stage(root, {"app/a.py": BROKEN, "migrations/versions/b.py": BROKEN,
                  "app/c_pb2.py": BROKEN})
    settings = Settings(exclude=("migrations", "*_pb2.py"))
    result = review(root, staged_changes(root), settings, _backends(SQLALCHEMY))
    assert [f.finding.path for c in result.checked for f in c.findings] == ["app/a.py"]
    # The same change without the setting reports all three.
    everything = review(root, staged_changes(root), Settings(), _backends(SQLALCHEMY))
    assert len([f for c in everything.checked for f in c.findings]) == 3
