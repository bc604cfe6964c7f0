"""Enough history for a pull request's diff: the head, the base and their merge base.

actions/checkout fetches one commit by default (the test merge commit), so the head and the
merge base are usually missing; they are fetched from `origin` with the credentials the checkout
left, the token never passing through here.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from remora_review import git
from remora_review.errors import UserError

DEEPEN_STEPS = (50, 200, 1000)


def run_git(root: Path, *args: str, ok: Collection[int] = (0,)) -> tuple[int, bytes]:
    """git in `root` (remora_review/git.py): (status, stdout); a status outside `ok` is a
    UserError."""
    done = git.run(root, *args, ok=ok)
    return done.status, done.out


def repo_root(cwd: Path) -> Path:
    return git.repo_root(cwd)


def _has(root: Path, sha: str) -> bool:
    status, _ = run_git(root, "cat-file", "-e", f"{sha}^{{commit}}", ok=(0, 1, 128))
    return status == 0


def _merge_base(root: Path, base: str, head: str) -> bool:
    status, _ = run_git(root, "merge-base", base, head, ok=(0, 1, 128))
    return status == 0


def _shallow(root: Path) -> bool:
    _, out = run_git(root, "rev-parse", "--is-shallow-repository")
    return out.strip() == b"true"


def _fetch(root: Path, *args: str) -> bool:
    status, _ = run_git(root, "fetch", "--no-tags", "--quiet", "origin", *args, ok=(0, 1, 128))
    return status == 0


def ensure_history(root: Path, base: str, head: str) -> None:
    """Fetch and deepen until `base...head` has a merge base, or say plainly what to do."""
    missing = [sha for sha in (head, base) if not _has(root, sha)]
    if missing:
        _fetch(root, f"--depth={DEEPEN_STEPS[0]}", *missing)
        still = [sha for sha in missing if not _has(root, sha)]
        if still:
            raise UserError(f"commit {still[0][:12]} is not in this clone and could not be fetched "
                            "from origin; check out with `fetch-depth: 0`")
    for depth in DEEPEN_STEPS:
        if _merge_base(root, base, head) or not _shallow(root):
            return
        _fetch(root, f"--deepen={depth}", head, base)
    if not _merge_base(root, base, head):
        raise UserError(f"no merge base of {base[:12]} and {head[:12]} in this shallow clone; "
                        "check out with `fetch-depth: 0`")
