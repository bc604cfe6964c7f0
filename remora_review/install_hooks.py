"""`remora-review install-hooks`: put the plain pre-commit / pre-push hooks into the repository."""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

from remora_review.changes import repo_root, run_git
from remora_review.errors import UserError
from remora_review.hook_scripts import HOOKS, MARKER

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
    _, out, _ = run_git(root, "rev-parse", "--git-path", "hooks")
    return root / os.fsdecode(out.strip())


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


def _write_hook(target: Path, text: str) -> None:
    """Write atomically, replacing a symlink itself rather than the file it points to."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".remora-tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
            os.fchmod(fh.fileno(), 0o755)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def install(root: Path, names: tuple[str, ...], force: bool = False) -> list[str]:
    """Install the named hooks; return one message per hook. Checks every target before writing any."""
    directory = hooks_dir(root)
    targets = [(name, directory / name) for name in names]
    foreign = [t for _, t in targets if os.path.lexists(t) and not is_ours(t)]
    if foreign and not force:
        raise UserError(f"{foreign[0]} exists and is not a remora-review hook; rerun with --force to "
                        f"replace it (the old one is kept as {foreign[0].name}{BACKUP_SUFFIX})")
    directory.mkdir(parents=True, exist_ok=True)
    messages = []
    for name, target in targets:
        text = HOOKS[name]
        if target in foreign:
            backup = _backup_path(target)
            os.replace(target, backup)
            messages.append(f"moved the existing {name} hook to {backup}")
        elif not os.path.islink(target) and target.is_file() and target.read_text("utf-8", errors="replace") == text \
                and os.access(target, os.X_OK):
            messages.append(f"{name} hook already installed: {target}")
            continue
        _write_hook(target, text)
        messages.append(f"installed the {name} hook: {target}")
    return messages


def run(args: argparse.Namespace) -> int:
    root = repo_root(Path.cwd())
    choice = getattr(args, "hook", "pre-commit")
    names = tuple(HOOKS) if choice == "all" else (choice,)
    for message in install(root, names, force=getattr(args, "force", False)):
        print(f"remora-review: {message}")
    return 0
