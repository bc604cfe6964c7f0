"""Hook latency: a commit of 10 changed real files (~4,000 lines), reviewed as pre-commit would,
beside ruff and mypy on the same files in the same run.

    .venv/bin/python bench/bench_hook.py [--runs 7] [--no-pack-only]

(a) no pack activated, 10 staged standard-library files, beside the floor (this venv's python
running `git diff --cached` and a regex import scan: what any Python hook costs); (a') the same
commit in a repository of 5,000 tracked Python files (warm, and the first run in a fresh clone);
(b) packs activated, warm server (p50); (c) packs activated, cold (no server yet; before and
after the idle server has exported the embedding model to ONNX). Peak RSS of
the hook process and of the server are printed too, and for (b) the hook's own CPU time (the
server's embedding work is not in it). The packs-active commit is ten files of alembic 1.20.1
(the dev set's copy: run bench/devset/run.py once first), each given a function with an
unannotated session. With packs active the review runs in the warm server: the hook's own CPU
time is printed beside the server's CPU time per review (read from /proc), and (b') stages a
different change before each run (new blobs: a new project index, nothing reused but what the
server keeps by design).
(b'') is the same commit in a repository of 5,000 tracked Python files (the package and
standard-library files beside it): warm, interleaved with the small repository, and the first run
in a fresh clone, which builds the project index from nothing; (b''') a new change staged
before each run in both repositories, as a user commits (the project index changes with it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
from collections.abc import Sequence
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


def make_repo(files: list[Path], with_import: bool, filler: Sequence[Path] = ()) -> Path:
    """A repository whose staged change adds a function to each of `files`; `filler` files are
    committed beside them under lib/ (the large-repository case)."""
    repo = Path(tempfile.mkdtemp(prefix="remora-bench-"))
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@x"}
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "pkg").mkdir()
    (repo / "pkg" / "__init__.py").write_text("")  # relative imports stay valid for mypy
    for i, src in enumerate(files):
        shutil.copy(src, repo / "pkg" / f"m{i}.py")
    for i, src in enumerate(filler):
        target = repo / "lib" / f"d{i // 100}" / f"f{i}.py"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, target)
    subprocess.run(["git", "add", "."], cwd=repo, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", "base"], cwd=repo, check=True, env=env)
    for i in range(len(files)):
        path = repo / "pkg" / f"m{i}.py"
        path.write_text(path.read_text("utf-8") + ADDED.format(i=i), "utf-8")
    subprocess.run(["git", "add", "."], cwd=repo, check=True, env=env)
    return repo


def make_package_repo(package: Path, files: list[Path], filler: Sequence[Path] = ()) -> Path:
    """A repository holding the whole package (so relative imports resolve, for mypy and for the
    project index), whose staged change adds a function to each of `files`; `filler` files are
    committed beside it under lib/ (the large-repository case)."""
    repo = Path(tempfile.mkdtemp(prefix="remora-bench-"))
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@x"}
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    shutil.copytree(package, repo / package.name, ignore=shutil.ignore_patterns("__pycache__"))
    for i, src in enumerate(filler):
        target = repo / "lib" / f"d{i // 100}" / f"f{i}.py"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, target)
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


def default_cache(env: dict[str, str]) -> Path:
    """remora-review's user cache under this environment (user_dirs.default_cache_root's parent)."""
    from remora_review.user_dirs import default_cache_root

    return default_cache_root(env).parent


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


def process_cpu(pid: int) -> float:
    """A running process's own CPU seconds (user + system), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_pid(hook: list[str], env: dict[str, str]) -> int | None:
    status = subprocess.run([*hook[:1], "server", "status"], env=env, capture_output=True,
                            text=True).stdout
    for line in status.splitlines():
        if "(pid " in line:
            return int(line.split("(pid ", 1)[1].split(")", 1)[0])
    return None


def fresh_commits(hook: list[str], repo: Path, files: list[Path], env: dict[str, str],
                  runs: int) -> tuple[list[float], float]:
    """Each run reviews a change the server has not seen: one more function in every file,
    staged, so that every file's module facts change (a comment alone keeps the server's project
    index: project/scan.py)."""
    walls, pid = [], server_pid(hook, env)
    before = process_cpu(pid) if pid else 0.0
    for _ in range(runs):
        for src in files:
            path = repo / src
            path.write_text(path.read_text("utf-8")
                            + f"\n\ndef _bench_{uuid.uuid4().hex}(flag: bool) -> bool:\n"
                            "    return flag\n",
                            "utf-8")
        subprocess.run(["git", "add", "."], cwd=repo, check=True)
        walls.append(timed(hook, repo, env)[0])
    server_cpu = (process_cpu(pid) - before) / runs if pid else float("nan")
    return walls, server_cpu


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


# The floor: what any Python hook pays (interpreter start, one git diff, a regex import scan).
FLOOR = (
    "import re, subprocess\n"
    "out = subprocess.run(['git', 'diff', '--cached', '-U0'], capture_output=True).stdout\n"
    "mods = re.findall(rb'^\\+[ \\t]*(?:from[ \\t]+([\\w.]+)[ \\t]+import|import[ \\t]+([\\w.]+))',"
    " out, re.M)\n"
)


def stdlib_files() -> list[Path]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    return sorted(p for p in stdlib.rglob("*.py")
                  if "site-packages" not in p.parts and "test" not in p.parts
                  and "tests" not in p.parts)


def fresh_clone_first_run(repo: Path, hook: list[str], env: dict[str, str],
                          changed: Sequence[Path] = ()) -> float:
    """Clone `repo`, stage the same change (`changed`, relative paths; default pkg/m*.py), and
    time the hook's first run there."""
    clone = Path(tempfile.mkdtemp(prefix="remora-bench-clone-")) / "c"
    subprocess.run(["git", "clone", "-q", "--no-local", str(repo), str(clone)], check=True)
    for rel in changed or [p.relative_to(repo) for p in repo.glob("pkg/m*.py")]:
        shutil.copy(repo / rel, clone / rel)
    subprocess.run(["git", "add", "."], cwd=clone, check=True)
    return timed(hook, clone, env)[0]


def no_pack(hook: list[str], env: dict[str, str], runs: int) -> dict[str, float]:
    files = stdlib_files()
    plain = pick_files(files, want_pack=False)
    lines = sum(p.read_text("utf-8").count("\n") for p in plain)
    print(f"(a) no pack activated: 10 standard-library files, {lines} lines, 10 functions added")
    repo_a = make_repo(plain, with_import=False)
    timed(hook, repo_a, env)  # writes the .pyc files a real install has
    # The hook and the floor interleaved, so both see the same machine load.
    floor = [sys.executable, "-c", FLOOR]
    pairs = [(timed(hook, repo_a, env)[0], timed(floor, repo_a, env)[0]) for _ in range(runs)]
    out = {"hook": statistics.median(p[0] for p in pairs),
           "floor": statistics.median(p[1] for p in pairs)}
    print(f"  {'remora-review check':<34} p50 {out['hook']:6.3f} s   "
          f"min {min(p[0] for p in pairs):6.3f} s")
    print(f"  {'floor (python: git diff + regex)':<34} p50 {out['floor']:6.3f} s   "
          f"min {min(p[1] for p in pairs):6.3f} s")
    # As pre-commit runs it: the staged Python files named on the command line.
    named = [*hook, *sorted(str(p.relative_to(repo_a)) for p in repo_a.glob("pkg/m*.py"))]
    pairs = [(timed(named, repo_a, env)[0], timed(floor, repo_a, env)[0]) for _ in range(runs)]
    out["named"] = statistics.median(p[0] for p in pairs)
    out["named_floor"] = statistics.median(p[1] for p in pairs)
    print(f"  {'remora-review check FILES...':<34} p50 {out['named']:6.3f} s   "
          f"(floor in the same runs {out['named_floor']:.3f} s)")
    out["rss"] = peak_rss(hook, repo_a, env)
    out.update(peers(repo_a, env, runs))
    filler = [files[i % len(files)] for i in range(5000 - 11)]
    big = make_repo(plain, with_import=False, filler=filler)
    tracked = subprocess.run(["git", "ls-files"], cwd=big, capture_output=True,
                             text=True).stdout.count("\n")
    print(f"\n(a') the same commit in a repository of {tracked} tracked Python files")
    timed(hook, big, env)
    # Interleaved with the small repository's runs, so both see the same machine load.
    pairs = [(timed(hook, repo_a, env)[0], timed(hook, big, env)[0]) for _ in range(runs)]
    small, large = (statistics.median(p) for p in zip(*pairs))
    print(f"  {'remora-review check (small)':<34} p50 {small:6.3f} s")
    print(f"  {'remora-review check (5,000 files)':<34} p50 {large:6.3f} s")
    out["big"], out["big_small"] = large, small
    out["big_first"] = fresh_clone_first_run(big, hook, env)
    print(f"  {'first run in a fresh clone':<34} {out['big_first']:6.3f} s")
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-pack-only", action="store_true", help="only (a) and (a')")
    parser.add_argument("--packs-only", action="store_true", help="skip (a) and (a')")
    parser.add_argument("--no-big", action="store_true",
                        help="skip (b''), packs active in a repository of 5,000 files")
    args = parser.parse_args()
    runtime = Path(tempfile.mkdtemp(prefix="rrb-", dir="/tmp"))
    # Without PYTHONDONTWRITEBYTECODE: an installed hook runs from .pyc files.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["XDG_RUNTIME_DIR"] = str(runtime)
    hook = [str(VENV_BIN / "remora-review"), "check"]

    if not args.packs_only:
        a = no_pack(hook, env, args.runs)
        print("\nsummary (no pack)")
        print(f"  (a) no pack:   p50 {a['hook']:.3f} s (target <= 0.06 s, 1.5x the floor); floor "
              f"{a['floor']:.3f} s ({a['hook'] / a['floor']:.1f}x); ruff {a['ruff']:.3f} s "
              f"({a['hook'] / a['ruff']:.1f}x), mypy {a['mypy']:.3f} s; peak RSS {a['rss']:.0f} MB")
        print(f"      with the files named, as pre-commit runs it: p50 {a['named']:.3f} s "
              f"({a['named'] / a['named_floor']:.1f}x the floor)")
        print(f"  (a') 5,000 files: p50 {a['big']:.3f} s ({a['big'] / a['big_small']:.2f}x the "
              f"small repository; target <= 1.2x); first run in a fresh clone "
              f"{a['big_first']:.3f} s")
    if args.no_pack_only:
        return 0

    packed = pick_files(list(alembic_source().rglob("*.py")), want_pack=True)
    lines = sum(p.read_text("utf-8").count("\n") for p in packed)
    print(f"\n(b/c) packs activated: 10 files, {lines} lines, 10 functions added")

    package = alembic_source()
    repo_b = make_package_repo(package, packed)
    # First run after installing: an empty user cache (no pack cache, no ONNX export of the
    # embedding model), no server, no project cache; its server is stopped before it exports.
    fresh_env = {**env, "XDG_CACHE_HOME": tempfile.mkdtemp(prefix="rrb-cache-"),
                 "XDG_RUNTIME_DIR": tempfile.mkdtemp(prefix="rrb-", dir="/tmp")}
    print("\n(c0) packs activated, first run after install (empty user cache, no server)")
    first, _, _ = timed(hook, make_package_repo(package, packed), fresh_env)
    subprocess.run([*hook[:1], "server", "stop"], env=fresh_env, capture_output=True)
    print(f"  {'remora-review check (first)':<34} {first:6.3f} s")
    subprocess.run([*hook[:1], "server", "stop"], env=env, capture_output=True)
    exports = default_cache(env) / "onnx"
    unexported = None
    if not any(exports.glob("*/remora-onnx.json")):
        print("\n(c-) packs activated, cold, the model not exported yet")
        unexported, _, _ = timed(hook, repo_b, env)
        print(f"  {'remora-review check (cold)':<34} {unexported:6.3f} s")
        # The server it left behind exports the model once it has sat idle; a user's next
        # cold start (after a reboot or the idle timeout) reads the export.
        deadline = time.monotonic() + 120
        while not any(exports.glob("*/remora-onnx.json")) and time.monotonic() < deadline:
            time.sleep(1)
        subprocess.run([*hook[:1], "server", "stop"], env=env, capture_output=True)
    exported = any(exports.glob("*/remora-onnx.json"))
    print(f"\n(c) packs activated, cold (server not running; the model "
          f"{'exported to ONNX by an earlier server' if exported else 'not exported'})")
    cold, _, _ = timed(hook, repo_b, env)
    print(f"  {'remora-review check (cold)':<34} {cold:6.3f} s")
    # The cold run reviewed in its own process and left a server behind (its model loaded); the
    # next commit is the server's first review, which pays its imports once.
    second, _, _ = timed(hook, repo_b, env)
    print(f"  {'next run (server imports)':<34} {second:6.3f} s")
    print("\n(b) packs activated, warm server")
    pid = server_pid(hook, env)
    server_before = process_cpu(pid) if pid else 0.0
    b = measure("remora-review check", hook, repo_b, env, args.runs)
    server_b = (process_cpu(pid) - server_before) / args.runs if pid else float("nan")
    print(f"  {'server CPU per review':<34} mean {server_b:6.3f} s")
    rss_b = peak_rss(hook, repo_b, env)
    cpu_b = cpu_seconds(hook, repo_b, env, args.runs)
    print(f"  {'remora-review check (CPU time)':<34} p50 {cpu_b:6.3f} s (the hook's own)")
    print("\n(b') packs activated, warm server, a new change staged before each run")
    rel = [p.relative_to(package.parent) for p in packed]
    b2, server_b2 = fresh_commits(hook, repo_b, [Path(r) for r in rel], env, args.runs)
    print(f"  {'remora-review check':<34} p50 {statistics.median(b2):6.3f} s   "
          f"min {min(b2):6.3f} s; server CPU per review {server_b2:.3f} s")
    pb = peers(repo_b, env, args.runs, [str(p.relative_to(package.parent)) for p in packed])
    big = None
    if not args.no_big:
        tracked = len(list(package.rglob("*.py")))
        stdlib = stdlib_files()
        filler = [stdlib[i % len(stdlib)] for i in range(5000 - tracked)]
        big_b = make_package_repo(package, packed, filler)
        print(f"\n(b'') the same commit in a repository of 5,000 tracked Python files "
              f"(the package and {len(filler)} standard-library files), warm server")
        # First: a fresh clone, whose project index is built from nothing by this run.
        big_first = fresh_clone_first_run(big_b, hook, env, [Path(r) for r in rel])
        print(f"  {'first run in a fresh clone':<34} {big_first:6.3f} s")
        timed(hook, big_b, env)  # this repository's own project cache
        # The same commit in a small repository made anew: (b') left repo_b with other changes.
        small_b = make_package_repo(package, packed)
        timed(hook, small_b, env)
        pairs = [(timed(hook, small_b, env)[0], timed(hook, big_b, env)[0])
                 for _ in range(args.runs)]
        small, large = (statistics.median(p) for p in zip(*pairs))
        print(f"  {'remora-review check (small)':<34} p50 {small:6.3f} s")
        print(f"  {'remora-review check (5,000 files)':<34} p50 {large:6.3f} s")
        # As a user commits: a change the server has not seen, in both repositories.
        runs = max(3, args.runs // 2)
        new_small = statistics.median(fresh_commits(hook, small_b, [Path(r) for r in rel], env,
                                                    runs)[0])
        new_large, server_large = fresh_commits(hook, big_b, [Path(r) for r in rel], env, runs)
        print(f"  {'new change each run (small)':<34} p50 {new_small:6.3f} s")
        print(f"  {'new change each run (5,000 files)':<34} p50 "
              f"{statistics.median(new_large):6.3f} s; server CPU per review {server_large:.3f} s")
        big = (large, small, big_first, statistics.median(new_large), new_small)
    status = subprocess.run([*hook[:1], "server", "status"], env=env, capture_output=True,
                            text=True)
    subprocess.run([*hook[:1], "server", "stop"], env=env, capture_output=True)

    print("\nsummary (packs)")
    print(f"  (b) warm:      p50 {statistics.median(b):.3f} s (target <= 0.3 s); "
          f"ruff {pb['ruff']:.3f} s, mypy {pb['mypy']:.3f} s; "
          f"ratio vs mypy {statistics.median(b) / pb['mypy']:.2f}x; hook CPU time p50 {cpu_b:.3f} s")
    print(f"  (b') new change each run: p50 {statistics.median(b2):.3f} s; server CPU per "
          f"review {server_b2:.3f} s (same commit again: {server_b:.3f} s)")
    print(f"  (c) cold:      {cold:.3f} s (target <= 3 s; model "
          f"{'exported' if exported else 'not exported'}); first run after install {first:.3f} s"
          + (f"; before the export {unexported:.3f} s" if unexported is not None else ""))
    if big is not None:
        print(f"  (b'') 5,000 files: p50 {big[0]:.3f} s ({big[0] / big[1]:.2f}x the small "
              f"repository; target <= 1.2x); first run in a fresh clone {big[2]:.3f} s "
              f"({big[2] / big[1]:.1f}x)")
        print(f"  (b''') 5,000 files, a new change each run: p50 {big[3]:.3f} s "
              f"({big[3] / big[4]:.2f}x the small repository's {big[4]:.3f} s)")
    print(f"  hook peak RSS (children high-water mark): packs, warm {rss_b:.0f} MB")
    print("  server status:\n    " + status.stdout.strip().replace("\n", "\n    "))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
