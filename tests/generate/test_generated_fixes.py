"""Generated fixes end to end: the real CLI on a real repository, the first-party sqlalchemy pack's
SQLA001 (the legacy Query API, fix = "generate"), and tiny Llama models built here.

A random model's rewrite cannot pass the gate: it is dropped with a note and the file's other fix
(a mechanical RR204 rename) is still written. An adapter trained with `remora-train lora` on the
exact prompt a review asks with reproduces the rewrite, which the gate accepts and `--fix` writes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from remora_review.config import Settings
from remora_review.findings import Finding
from remora_review.generate.fixing import plan_requests
from remora_review.generate.wanted import wanted_fixes
from remora_review.packs.loader import load_pack
from tests.integration.conftest import GIT_ENV

ROOT = Path(__file__).resolve().parents[2]
SQLALCHEMY_PACK = ROOT / "packs" / "remora_packs" / "sqlalchemy.pack"
SHOP = '''\
from sqlalchemy import MetaData, Table
from sqlalchemy.orm import Session

from shop.models import User


def copy_table(table: Table, metadata: MetaData) -> Table:
    return table.tometadata(metadata)


def find_user(session: Session, name: str) -> User | None:
    return session.query(User).filter_by(name=name).first()
'''
REWRITTEN = '''\
from sqlalchemy import select

def find_user(session: Session, name: str) -> User | None:
    return session.scalars(select(User).filter_by(name=name)).first()
'''


def _repo(tmp_path: Path, pyproject: str) -> tuple[Path, dict[str, str]]:
    repo = tmp_path / "repo"
    (repo / "shop").mkdir(parents=True)
    (repo / "shop" / "users.py").write_text(SHOP)
    (repo / "pyproject.toml").write_text(pyproject)
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, **GIT_ENV, "REMORA_REVIEW_STRICT": "1", "XDG_RUNTIME_DIR": str(runtime),
           "XDG_CACHE_HOME": str(runtime / "cache"), "XDG_DATA_HOME": str(runtime / "data")}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "shop"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)
    return repo, env


def _review(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "remora_review.cli", *args], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=900)


def _generator_toml(model: Path, max_tokens: int, extra: str = "") -> str:
    return (f'[tool.remora-review]\n{extra}\n[tool.remora-review.generator]\n'
            f'backend = "transformers"\nmodel = "{model}"\nmax-tokens = {max_tokens}\n'
            'context-documents = 0\n')


def test_a_rewrite_that_fails_the_gate_is_dropped_with_a_note_and_other_fixes_are_kept(
    long_model: Path, tmp_path: Path
) -> None:
    repo, env = _repo(tmp_path, _generator_toml(long_model, 24))
    result = _review(repo, env, "check", "--all", "--fix")
    assert result.returncode == 1, result.stderr
    assert "shop/users.py:12: generated fix for SQLA001 dropped: " in result.stderr, result.stderr
    fixed = (repo / "shop" / "users.py").read_text()
    assert "return table.to_metadata(metadata)" in fixed  # the mechanical RR204 fix is written
    assert "session.query(User).filter_by(name=name).first()" in fixed  # the legacy call stays
    assert "SQLA001" in result.stdout  # and is still reported


def _review_prompt(repo: Path, env: dict[str, str], settings: Settings) -> str:
    """The prompt a review asks for shop/users.py's SQLA001, built by the review's own code from
    the findings the real checks report."""
    listed = _review(repo, env, "check", "--all", "--output-format", "json")
    findings = [
        Finding(f["path"], f["line"], f["column"] - 1, f["end_line"], f["end_column"] - 1,
                f["code"], f["message"], pack=f["pack"], data=f["data"])
        for f in json.loads(listed.stdout) if f["fix"] is None  # RR204 has its rename
    ]
    packs = {"sqlalchemy": load_pack(SQLALCHEMY_PACK)}
    wanted = wanted_fixes(findings, packs)
    assert [w.finding.code for w in wanted] == ["SQLA001"]
    assert settings.generator is not None
    jobs, notes = plan_requests("shop/users.py", SHOP, wanted, settings.generator, None)
    assert not notes and len(jobs) == 1
    return jobs[0].request.prompt


@pytest.mark.slow
@pytest.mark.timeout(1800)  # training: about 2 s a step alone on 2 cores, several times that shared
def test_an_adapter_trained_on_the_rewrite_writes_a_validated_fix(
    long_model: Path, tmp_path: Path
) -> None:
    toml = _generator_toml(long_model, 100, extra=f'pack-paths = ["{tmp_path / "packs"}"]')
    repo, env = _repo(tmp_path, toml)
    settings = Settings.model_validate(
        {"generator": {"backend": "transformers", "model": str(long_model), "max-tokens": 100,
                       "context-documents": 0}})
    prompt = _review_prompt(repo, env, settings)
    pairs = tmp_path / "rewrites.jsonl"
    pairs.write_text(json.dumps({"prompt": prompt, "answer": REWRITTEN}) + "\n")
    (tmp_path / "packs").mkdir()
    trained = subprocess.run(
        [sys.executable, "-m", "remora_review.train.cli", "lora", "--pack", str(SQLALCHEMY_PACK),
         "--base-model", str(long_model), "--out", str(tmp_path / "packs" / "sqlalchemy.pack"),
         "--rank", "8", "--steps", "60", "--batch-size", "2", "--max-length", "1536",
         "--learning-rate", "0.01", "--max-snippets", "6", "--library", "sqlalchemy.ext.asyncio",
         "--rewrites", str(pairs)],
        capture_output=True, text=True, env=env, timeout=900, check=False,
    )
    assert trained.returncode == 0, trained.stderr

    result = _review(repo, env, "check", "--all", "--fix")
    assert "dropped" not in result.stderr, result.stderr
    fixed = (repo / "shop" / "users.py").read_text()
    assert "return session.scalars(select(User).filter_by(name=name)).first()" in fixed, fixed
    assert "from sqlalchemy import MetaData, Table, select" in fixed, fixed
    assert "return table.to_metadata(metadata)" in fixed
    compile(fixed, "users.py", "exec")
    again = _review(repo, env, "check", "--all")
    assert again.returncode == 0, again.stdout + again.stderr  # nothing left to report
