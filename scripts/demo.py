"""Review the bundled example change the way the pre-commit hook would, then show the fixes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "demo-repo"
BIN = Path(sys.executable).parent


def run(cmd: list[str], cwd: Path, env: dict[str, str], show: bool = True) -> int:
    if show:
        print(f"\n$ {' '.join(Path(cmd[0]).name if i == 0 else c for i, c in enumerate(cmd))}",
              flush=True)
    return subprocess.run(cmd, cwd=cwd, env=env).returncode


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="remora-demo-"))
    env = {**os.environ, "GIT_AUTHOR_NAME": "Demo", "GIT_AUTHOR_EMAIL": "demo@example.com",
           "GIT_COMMITTER_NAME": "Demo", "GIT_COMMITTER_EMAIL": "demo@example.com"}
    shutil.copytree(EXAMPLE / "base", work, dirs_exist_ok=True)
    git = ["git", "-c", "init.defaultBranch=main"]
    run([*git, "init", "-q"], work, env, show=False)
    run([*git, "add", "-A"], work, env, show=False)
    run([*git, "commit", "-qm", "base"], work, env, show=False)
    shutil.copytree(EXAMPLE / "change", work, dirs_exist_ok=True)
    run([*git, "add", "-A"], work, env, show=False)
    print(f"Example repository with a staged change: {work}")
    run(["git", "diff", "--cached", "--stat"], work, env)
    review = str(BIN / "remora-review")
    rc = run([review, "check"], work, env)
    run([review, "check", "--diff-output"], work, env)
    run([review, "server", "stop"], work, env, show=False)
    print(f"\nremora-review check exited {rc} (1 means it has findings).")
    return 0 if rc in (0, 1) else rc


if __name__ == "__main__":
    raise SystemExit(main())
