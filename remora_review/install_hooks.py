"""`remora-review install-hooks`: put the plain pre-commit / pre-push hooks into the repository."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from remora_review import git
from remora_review.errors import UserError
from remora_review.hook_scripts import HOOKS, MARKER, render

BACKUP_SUFFIX = ".remora-backup"


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "install-hooks",
        help="install remora-review's plain git hooks",
        description="Install the plain git hooks (without the pre-commit framework) into this "
                    "repository's hooks directory (core.hooksPath and worktrees respected).",
    )
    p.add_argument("--hook", choices=("pre-commit", "pre-push", "all"), default="pre-commit",
                   help="which hook to install (default: pre-commit)")
    p.add_argument("--force", action="store_true",
                   help=f"replace a hook that is not remora-review's, keeping it as <name>{BACKUP_SUFFIX}")
    p.set_defaults(handler=run)


def hooks_dir(root: Path) -> Path:
    """Where git looks for hooks: `git rev-parse --git-path hooks` (honours core.hooksPath)."""
    return git.git_path(root, "hooks")


def is_ours(path: Path) -> bool:
    try:
        text = path.read_text("utf-8", errors="replace")
    except OSError:
        return False
    return MARKER in text.splitlines()


def _backup_path(target: Path) -> Path:
    candidate = target.with_name(target.name + BACKUP_SUFFIX)
    n = 1
    while os.path.lexists(candidate):  # never overwrite an earlier backup
        candidate = target.with_name(f"{target.name}{BACKUP_SUFFIX}.{n}")
        n += 1
    return candidate


def installed_by(python: str) -> tuple[str, str]:
    """(remora-review script, Python) to record in the hooks, both absolute: the script beside
    `python` when this environment has one (a venv, pip --user), and `python` itself for
    `-m remora_review`. A venv's python is kept as the venv's path, not resolved past its symlink."""
    python = os.path.abspath(python)
    script = Path(python).parent / "remora-review"
    return (str(script) if script.is_file() and os.access(script, os.X_OK) else ""), python


def install(root: Path, names: tuple[str, ...], force: bool = False,
            python: str = sys.executable) -> list[str]:
    """Install the named hooks, recording the executable that runs this (`python`'s environment);
    return one message per hook. Checks every target before writing any."""
    from remora_review.atomic import write_atomic  # tempfile: not on every command's start-up

    script, python = installed_by(python)
    directory = hooks_dir(root)
    targets = [(name, directory / name) for name in names]
    foreign = [t for _, t in targets if os.path.lexists(t) and not is_ours(t)]
    if foreign and not force:
        raise UserError(f"{foreign[0]} exists and is not a remora-review hook; rerun with --force to "
                        f"replace it (the old one is kept as {foreign[0].name}{BACKUP_SUFFIX})")
    directory.mkdir(parents=True, exist_ok=True)
    messages = []
    for name, target in targets:
        text = render(name, script, python)
        if target in foreign:
            backup = _backup_path(target)
            os.replace(target, backup)
            messages.append(f"moved the existing {name} hook to {backup}")
        elif not os.path.islink(target) and target.is_file() and target.read_text("utf-8", errors="replace") == text \
                and os.access(target, os.X_OK):
            messages.append(f"{name} hook already installed: {target}")
            continue
        # The hook itself is replaced, never a file a symlink there points to.
        write_atomic(target, text.encode("utf-8"), 0o755, follow_symlinks=False)
        messages.append(f"installed the {name} hook: {target} (runs {script or python + ' -m remora_review'}"
                        ", unless REMORA_REVIEW is set)")
    return messages


def run(args: argparse.Namespace) -> int:
    root = git.repo_root(Path.cwd())
    choice = getattr(args, "hook", "pre-commit")
    names = tuple(HOOKS) if choice == "all" else (choice,)
    for message in install(root, names, force=getattr(args, "force", False)):
        print(f"remora-review: {message}")
    return 0
