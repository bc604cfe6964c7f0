"""Hook latency: a commit of 10 changed real files (~4,000 lines), reviewed as pre-commit would,
beside ruff and mypy on the same files in the same run.

    .venv/bin/python bench/bench_hook.py [--runs 7]

(a) no pack activated; (b) packs activated, warm server (p50); (c) packs activated, cold (no
server yet). Peak RSS of the hook process and of the server are printed too, and for (b) the
hook's own CPU time (the server's embedding work is not in it). The packs-active commit is ten
files of alembic 1.20.1 (the dev set's copy: run bench/devset/run.py once first), each given a
function with an unannotated session.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
SITE = Path(next(p for p in sys.path if p.endswith("site-packages")))
PACK_LIBS = ("sqlalchemy", "httpx", "fastapi", "starlette", "acme")

ADDED = '''

def bench_added_{i}(s, user, name):
    """Added by the benchmark's commit."""
    user.name = name
    s.add(user)
    s.flush()
    s.commit()
    return user
'''


def _imports_pack(text: str) -> bool:
    return any(f"import {lib}" in text or f"from {lib}" in text for lib in PACK_LIBS)


def pick_files(candidates: list[Path], want_pack: bool, target_lines: int = 4000) -> list[Path]:
    """Ten real files of 250-600 lines that do (or do not) import a pack's library."""
    chosen = []
    for path in sorted(candidates):
        try:
            text = path.read_text("utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        lines = text.count("\n")
        if 250 <= lines <= 600 and _imports_pack(text) == want_pack:
            chosen.append(path)
        if len(chosen) == 10:
            break
    if len(chosen) < 10:
        raise SystemExit(f"found only {len(chosen)} suitable files")
    return chosen


def alembic_source() -> Path:
    """alembic 1.20.1 as the dev set fetched it: real sqlalchemy code the packs activate on."""
    src = ROOT / ".bench-cache" / "devset" / "src" / "alembic-1.20.1" / "alembic"
    if not src.is_dir():
        raise SystemExit(f"{src} is missing: run bench/devset/run.py once (it fetches the dev set)")
    return src


def make_repo(files: list[Path], with_import: bool) -> Path:
    repo = Path(tempfile.mkdtemp(prefix="remora-bench-"))
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@x"}
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "pkg").mkdir()
    (repo / "pkg" / "__init__.py").write_text("")  # relative imports stay valid for mypy
    for i, src in enumerate(files):
        shutil.copy(src, repo / "pkg" / f"m{i}.py")
    subprocess.run(["git", "add", "."], cwd=repo, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", "base"], cwd=repo, check=True, env=env)
    for i in range(len(files)):
        path = repo / "pkg" / f"m{i}.py"
        path.write_text(path.read_text("utf-8") + ADDED.format(i=i), "utf-8")
    subprocess.run(["git", "add", "."], cwd=repo, check=True, env=env)
    return repo


def make_package_repo(package: Path, files: list[Path]) -> Path:
    """A repository holding the whole package (so relative imports resolve, for mypy and for the
    project index), whose staged change adds a function to each of `files`."""
    repo = Path(tempfile.mkdtemp(prefix="remora-bench-"))
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@x"}
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    shutil.copytree(package, repo / package.name, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(["git", "add", "."], cwd=repo, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", "base"], cwd=repo, check=True, env=env)
    for i, src in enumerate(files):
        path = repo / src.relative_to(package.parent)
        path.write_text(path.read_text("utf-8") + ADDED.format(i=i), "utf-8")
    subprocess.run(["git", "add", "."], cwd=repo, check=True, env=env)
    return repo


# Runs a command and reports its own children's peak RSS, so each figure is that command's alone.
_RSS = (
    "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)"
)


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int, float]:
    """Wall seconds, exit code, and the command's peak RSS in MB (measured in a second run)."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 1) and not (Path(cmd[0]).name == "mypy" and proc.returncode == 2):
        print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
        raise SystemExit(f"{cmd[0]} failed with {proc.returncode}")
    return wall, proc.returncode, 0.0


def peak_rss(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    out = subprocess.run([sys.executable, "-c", _RSS, *cmd], cwd=cwd, env=env,
                         capture_output=True, text=True, check=True).stdout.split()
    return int(out[0]) / 1024


def cpu_seconds(cmd: list[str], cwd: Path, env: dict[str, str], runs: int) -> float:
    """p50 of the command's own CPU time (user + system): on a machine shared with other work the
    wall time mostly measures the queue for a core; this does not."""
    import resource

    spent = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(cmd, cwd=cwd, env=env, capture_output=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        spent.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(spent)


def measure(name: str, cmd: list[str], repo: Path, env: dict[str, str], runs: int) -> list[float]:
    walls = [timed(cmd, repo, env)[0] for _ in range(runs)]
    print(f"  {name:<34} p50 {statistics.median(walls):6.3f} s   min {min(walls):6.3f} s")
    return walls


def peers(repo: Path, env: dict[str, str], runs: int,
          files: list[str] | None = None) -> dict[str, float]:
    files = files or sorted(str(p.relative_to(repo)) for p in repo.glob("pkg/m*.py"))
    out = {}
    out["ruff"] = statistics.median(measure("ruff check (peer)", [str(VENV_BIN / "ruff"), "check",
                                            "--no-cache", "--quiet", *files], repo, env, runs))
    out["mypy"] = statistics.median(measure(
        "mypy (peer, no cache)", [str(VENV_BIN / "mypy"), "--no-incremental",
                                  "--ignore-missing-imports", "--follow-imports=silent", *files],
        repo, env, max(1, runs // 3)))
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--packs-only", action="store_true", help="skip (a), the no-pack commit")
    args = parser.parse_args()
    runtime = Path(tempfile.mkdtemp(prefix="rrb-", dir="/tmp"))
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
    hook = [str(VENV_BIN / "remora-review"), "check"]

    plain = pick_files(list((SITE / "rich").glob("*.py")) + list((SITE / "pygments").glob("*.py")),
                       want_pack=False)
    packed = pick_files(list(alembic_source().rglob("*.py")), want_pack=True)
    for label, files in (("(a) no pack activated", plain), ("(b/c) packs activated", packed)):
        lines = sum(p.read_text("utf-8").count("\n") for p in files)
        print(f"{label}: 10 files, {lines} lines, 10 functions added")

    a, rss_a, pa = [0.0], 0.0, {"ruff": 1.0, "mypy": 1.0}
    if not args.packs_only:
        repo_a = make_repo(plain, with_import=False)
        print("\n(a) no pack activated")
        a = measure("remora-review check", hook, repo_a, env, args.runs)
        rss_a = peak_rss(hook, repo_a, env)
        pa = peers(repo_a, env, args.runs)

    package = alembic_source()
    repo_b = make_package_repo(package, packed)
    subprocess.run([*hook[:1], "server", "stop"], env=env, capture_output=True)
    print("\n(c) packs activated, cold (server not running)")
    cold, _, _ = timed(hook, repo_b, env)
    print(f"  {'remora-review check (cold)':<34} {cold:6.3f} s")
    print("\n(b) packs activated, warm server")
    b = measure("remora-review check", hook, repo_b, env, args.runs)
    rss_b = peak_rss(hook, repo_b, env)
    cpu_b = cpu_seconds(hook, repo_b, env, args.runs)
    print(f"  {'remora-review check (CPU time)':<34} p50 {cpu_b:6.3f} s")
    pb = peers(repo_b, env, args.runs, [str(p.relative_to(package.parent)) for p in packed])
    status = subprocess.run([*hook[:1], "server", "status"], env=env, capture_output=True,
                            text=True)
    subprocess.run([*hook[:1], "server", "stop"], env=env, capture_output=True)

    print("\nsummary")
    if not args.packs_only:
        print(f"  (a) no pack:   p50 {statistics.median(a):.3f} s (target <= 0.15 s); "
              f"ruff {pa['ruff']:.3f} s, mypy {pa['mypy']:.3f} s; "
              f"ratio vs ruff {statistics.median(a) / pa['ruff']:.1f}x")
    print(f"  (b) warm:      p50 {statistics.median(b):.3f} s (target <= 0.3 s); "
          f"ruff {pb['ruff']:.3f} s, mypy {pb['mypy']:.3f} s; "
          f"ratio vs mypy {statistics.median(b) / pb['mypy']:.2f}x; hook CPU time p50 {cpu_b:.3f} s")
    print(f"  (c) cold:      {cold:.3f} s")
    no_pack = "" if args.packs_only else f"no pack {rss_a:.0f} MB, "
    print(f"  hook peak RSS (children high-water mark): {no_pack}packs, warm {rss_b:.0f} MB")
    print("  server status:\n    " + status.stdout.strip().replace("\n", "\n    "))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
