"""The API check (RR2xx) over the dev-set projects as published: findings per project and a sample to read.

    .venv/bin/python bench/bench_api_check.py [--cache DIR] [--sample 40] [--seed 0] [--project NAME]
    .venv/bin/python bench/bench_api_check.py --corpus .train-cache/repos --max-files 200

Every Python file of each pinned release (tests and vendored code left out, as the dev set reads
them) goes through the engine with the first-party packs and the API check alone, whole file in
scope, the way `check --all` sees it. It prints the findings per project and code, the time the
check took beside the engine with no check on the same files (parsing and slicing, which every
check pays), and a seeded random sample of findings with their source line, to be read by hand:
precision is the share of the sample that is right. Run bench/devset/run.py once first (it
fetches the releases), or point --cache at a cache that holds them.

`--corpus DIR` reads another set of releases instead, one per subdirectory (the pack training
corpus that scripts/fetch_training_repos.py unpacks: modules that import the libraries), with
`--max-files` drawn at random (seeded) over all of them when the whole is too slow to check.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/bench_api_check.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.devset.fetch import Project, fetch, load_projects, source_files
from remora_review.activation import PackTrigger, active_packs
from remora_review.checks.api import ApiCheck
from remora_review.config import Settings
from remora_review.engine import FileJob, Runtime, check_source
from remora_review.findings import Finding
from remora_review.packs.loader import LoadedPack, load_pack

ROOT = Path(__file__).resolve().parents[1]
PACKS = ROOT / "packs" / "remora_packs"
LIBRARY_PACKS = ("sqlalchemy", "httpx", "fastapi")


def _jobs(files: Sequence[tuple[str, str]], packs: dict[str, LoadedPack]) -> list[FileJob]:
    triggers = [PackTrigger(p.name, p.kind, p.activate_on) for p in packs.values()]
    return [FileJob(path, text, None, active_packs(text, triggers, ())) for path, text in files]


def _timed(jobs: Sequence[FileJob], runtime: Runtime) -> tuple[float, list[Finding]]:
    start = time.perf_counter()
    found = [f for job in jobs for f in check_source(job, runtime).findings]
    return time.perf_counter() - start, found


def _projects(args: argparse.Namespace) -> list[tuple[str, list[tuple[str, str]]]]:
    """(project, [(path, text)]) for the dev set, or for a corpus of unpacked releases."""
    if args.corpus is None:
        return [
            (p.name, [(f.path, f.text) for f in source_files(fetch(p, args.cache), p)])
            for p in load_projects() if not args.project or p.name in args.project
        ]
    releases = sorted(d for d in args.corpus.iterdir() if d.is_dir())
    found = [(d.name, f) for d in releases
             for f in source_files(d, Project(d.name, "", "corpus"))]
    if args.max_files is not None and len(found) > args.max_files:
        found = random.Random(args.seed).sample(found, args.max_files)
    out: dict[str, list[tuple[str, str]]] = {}
    for release, f in sorted(found, key=lambda rf: (rf[0], rf[1].path)):
        out.setdefault(release, []).append((f.path, f.text))
    return sorted(out.items())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=ROOT / ".bench-cache" / "devset")
    parser.add_argument("--packs", type=Path, default=PACKS)
    parser.add_argument("--project", action="append", help="only these projects")
    parser.add_argument("--sample", type=int, default=40, help="findings to print for reading")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--corpus", type=Path, help="a directory of unpacked releases instead")
    parser.add_argument("--max-files", type=int, help="with --corpus: this many files at random")
    args = parser.parse_args(argv)

    packs = {name: load_pack(args.packs / f"{name}.pack") for name in LIBRARY_PACKS}
    for pack in packs.values():
        _ = pack.api_table  # loaded once, outside the timings
    settings = Settings()
    check = ApiCheck()
    checked = Runtime(settings, packs, (check,), None)
    bare = Runtime(settings, packs, (), None)

    all_findings: list[tuple[str, Finding, str]] = []
    totals: Counter[str] = Counter()
    total_judged = 0  # uses of a library class or function whose API the check could judge
    print(f"{'project':<28}{'files':>6}{'active':>7}{'judged':>7}  {'RR201':>5} {'RR202':>5} {'RR203':>5} "
          f"{'RR204':>5}  {'check s':>8} {'bare s':>7}")
    for name, files in _projects(args):
        jobs = _jobs(files, packs)
        active = sum(1 for j in jobs if j.packs)
        bare_s, _ = _timed(jobs, bare)
        before = check.judged
        check_s, found = _timed(jobs, checked)
        judged = check.judged - before
        total_judged += judged
        codes = Counter(f.code for f in found)
        totals.update(codes)
        texts = dict(files)
        for f in found:
            lines = texts[f.path].splitlines()
            all_findings.append((name, f, lines[f.line - 1].strip()))
        print(f"{name:<28}{len(jobs):>6}{active:>7}{judged:>7}  {codes['RR201']:>5} "
              f"{codes['RR202']:>5} {codes['RR203']:>5} {codes['RR204']:>5}  {check_s:>8.2f} "
              f"{bare_s:>7.2f}")
    print(f"total findings: {sum(totals.values())} ({dict(sorted(totals.items()))}) on "
          f"{total_judged} judged uses (attribute reads on a receiver of known class, and calls "
          "of library functions and classes by name)")

    sample = random.Random(args.seed).sample(all_findings, min(args.sample, len(all_findings)))
    print(f"\nsample of {len(sample)} (seed {args.seed}), to read by hand:")
    for n, (project, f, line) in enumerate(sorted(sample, key=lambda s: (s[0], s[1].path,
                                                                          s[1].line)), 1):
        print(f"{n:>3}. {project}/{f.path}:{f.line}:{f.col + 1}: {f.code} {f.message}")
        print(f"       {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
