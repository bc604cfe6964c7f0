"""`remora-review check --all` on a dev-set project, warm server, beside mypy on the same tree.

    .venv/bin/python bench/bench_check_all.py [--project advanced-alchemy] [--runs 3]

Two trees in real git repositories: the release as published (fully annotated where its authors
annotated), and the same with the dev set's stripped files (names kept) in place of the
published ones, so that the type-hint check has work to do. The first run of each tree builds
the project cache under .git/remora-review; the figures are the runs after it (p50), beside
`mypy` (no cache) on the same files, and the server's peak RSS after both. Run bench/devset/run.py
once first: it fetches the releases.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/bench_check_all.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.devset.dataset import load_or_build
from bench.devset.fetch import fetch, load_projects, source_files
from bench.devset.resolve import Resolver

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
CACHE = ROOT / ".bench-cache" / "devset"
GIT_ENV = {"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@x"}


def make_repo(texts: Mapping[str, str]) -> Path:
    repo = Path(tempfile.mkdtemp(prefix="remora-check-all-"))
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    for path, text in texts.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text, "utf-8")
    env = {**os.environ, **GIT_ENV}
    subprocess.run(["git", "add", "."], cwd=repo, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", "tree"], cwd=repo, check=True, env=env)
    return repo


def run(cmd: list[str], repo: Path, env: Mapping[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=repo, env=dict(env), capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 1) and not (Path(cmd[0]).name == "mypy" and proc.returncode == 2):
        print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
        raise SystemExit(f"{' '.join(cmd[:2])} failed with {proc.returncode}")
    return wall, proc.stdout


def measure(label: str, repo: Path, env: Mapping[str, str], runs: int) -> tuple[float, float, int]:
    """(first run, p50 of the later runs, findings) of check --all; then mypy's p50."""
    check = [str(VENV_BIN / "remora-review"), "check", "--all", "--output-format", "json"]
    first, _ = run(check, repo, env)
    later = [run(check, repo, env) for _ in range(runs)]
    findings = len(json.loads(later[-1][1] or "[]"))
    p50 = statistics.median(w for w, _ in later)
    files = sorted(str(p.relative_to(repo)) for p in repo.rglob("*.py"))
    mypy = [str(VENV_BIN / "mypy"), "--no-incremental", "--ignore-missing-imports",
            "--follow-imports=silent", *files]
    peer = statistics.median(run(mypy, repo, env)[0] for _ in range(max(1, runs // 2)))
    print(f"  {label:<44} first {first:6.1f} s   p50 {p50:6.1f} s   {findings:4d} findings   "
          f"mypy {peer:6.1f} s   ratio {p50 / peer:4.2f}x")
    return first, p50, findings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", default="advanced-alchemy")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    (project,) = [p for p in load_projects() if p.name == args.project]
    src = fetch(project, CACHE)
    published = {f.path: f.text for f in source_files(src, project)}
    dataset = load_or_build(project, CACHE, lambda: source_files(src, project), Resolver())
    stripped = {**published, **{f.path: f.source for f in dataset.kept}}
    lines = sum(t.count("\n") for t in published.values())
    print(f"{project.name} {project.version}: {len(published)} files, {lines:,} lines; "
          f"{len(dataset.kept)} stripped files with {dataset.size} library-typed parameters")

    runtime = Path(tempfile.mkdtemp(prefix="rrb-", dir="/tmp"))
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
    server = [str(VENV_BIN / "remora-review"), "server"]
    try:
        for label, texts in (("as published", published), ("with the stripped files", stripped)):
            measure(label, make_repo(texts), env, args.runs)
        status = subprocess.run([*server, "status"], env=env, capture_output=True, text=True)
        peak = [line.strip() for line in status.stdout.splitlines() if "peak RSS" in line]
        print(f"  server after both trees: {' '.join(peak[0].split()) if peak else 'status not read'}")
    finally:
        subprocess.run([*server, "stop"], env=env, capture_output=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
