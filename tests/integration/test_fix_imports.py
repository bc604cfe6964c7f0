"""`check --fix` in a project that lints with ruff: the fixed file still passes ruff's `I` rules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

RUFF = Path(sys.executable).parent / "ruff"

SERVICE = '''\
"""Users."""

import logging

from sqlalchemy import select

from shop.models import User

log = logging.getLogger(__name__)


def create_user(session, name):
    user = User(name=name)
    session.add(user)
    session.flush()
    session.commit()
    session.refresh(user)
    return session.scalars(select(User)).first()
'''


def test_fixed_file_passes_ruff_isort_rules(repo):
    repo.write("pyproject.toml", '[tool.ruff]\nline-length = 100\n\n[tool.ruff.lint]\n'
                                 'select = ["I"]\n')
    repo.write("shop/__init__.py", "")  # first-party by the repository's layout
    repo.write("shop/models.py", "class User:\n    def __init__(self, name):\n"
                                 "        self.name = name\n")
    repo.write("shop/services.py", SERVICE)
    repo.commit()
    lint = [str(RUFF), "check", "--no-cache", "shop/services.py"]
    assert subprocess.run(lint, cwd=repo.path).returncode == 0
    result = repo.review("check", "--all", "--fix")
    assert result.returncode == 1, result.stdout + result.stderr  # files changed
    fixed = (repo.path / "shop" / "services.py").read_text()
    assert "def create_user(session: Session, name):" in fixed
    assert fixed.startswith('"""Users."""\n\nimport logging\n\nfrom sqlalchemy import select\n'
                            'from sqlalchemy.orm import Session\n\nfrom shop.models import User\n')
    proc = subprocess.run(lint, cwd=repo.path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout
