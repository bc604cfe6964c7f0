"""Entry point: fetch the pinned projects, build the dev set, run the name peer and the product, print."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python bench/devset/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.devset import product
from bench.devset.dataset import ProjectSet, cap, library_versions, load_or_build, write_atomic
from bench.devset.fetch import FetchError, Project, fetch, load_projects, source_files
from bench.devset.metrics import Outcome, dump_rows, score
from bench.devset.name_peer import load_or_mine, name_peer
from bench.devset.parallel import ForkPool, InlinePool, prediction_pool
from bench.devset.predictor import Predictor
from bench.devset.report import (
    dataset_table,
    figures_table,
    negatives_json,
    negatives_table,
    result_json,
)
from bench.devset.resolve import Resolver

ROOT = Path(__file__).resolve().parents[2]
QUICK_CAP = 40  # gold parameters per project in --quick
DEFAULT_THRESHOLD = 0.9  # the product's default ([tool.remora-review.typehints] threshold)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench/devset/run.py", description=__doc__,
        epilog="--fresh-pack (first): the fresh-pack mode, bench/devset/fresh.py, with its options")
    parser.add_argument("--quick", action="store_true",
                        help=f"only the first ~{QUICK_CAP} gold parameters of each project")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                        help="confidence threshold for coverage and precision (default %(default)s)")
    parser.add_argument("--json", type=Path, help="also write every figure and sweep to this file")
    parser.add_argument("--dump", type=Path,
                        help="write every gold parameter's outcome (ranked candidates included) "
                        "as JSON lines into this directory, one file per predictor and mode")
    parser.add_argument("--projects", help="comma-separated subset of projects.toml names")
    parser.add_argument("--only", help="comma-separated predictor labels to run, e.g. "
                        "'name peer,product combined'")
    parser.add_argument("--no-product", action="store_true", help="run the name peer only")
    parser.add_argument("--no-negatives", dest="negatives", action="store_false",
                        help="skip the false-positive run (parameters annotated with other types)")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                        help="processes for extraction and predictions (default %(default)s)")
    parser.add_argument("--cache", type=Path, default=ROOT / ".bench-cache" / "devset")
    parser.add_argument("--packs-dir", type=Path, default=ROOT / "packs" / "remora_packs")
    parser.add_argument("--packs", default=",".join(product.PACKS),
                        help="comma-separated pack names the product uses (default %(default)s)")
    return parser


def evaluate(
    pool: InlinePool | ForkPool,
    index: int,
    sets: Sequence[ProjectSet],
    mode: str,
    resolver: Resolver,
    dump: Path | None = None,
) -> tuple[list[Outcome], int]:
    """Every gold parameter's outcome; a file the predictor fails on counts as no prediction."""
    files = [(ps, f) for ps in sets for f in ps.files_for(mode)]
    results = pool.map([(index, f.source, f.path, ps.project.name) for ps, f in files])
    outcomes: list[Outcome] = []
    rows: list[str] = []
    for (ps, f), predictions in zip(files, results):
        scored = score(ps.project.name, f.gold, predictions or [], resolver.canonical)
        outcomes.extend(scored)
        if dump is not None:
            rows.extend(json.dumps(row) for row in dump_rows(f, scored, predictions or []))
    if dump is not None:
        write_atomic(dump, "".join(f"{row}\n" for row in rows))
    return outcomes, sum(1 for r in results if r is None)


def _dump_path(directory: Path | None, label: str, mode: str) -> Path | None:
    if directory is None:
        return None
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"{label.replace(' ', '-')}.{mode}.jsonl"


def _build(project: Project, src: Path, cache: Path) -> ProjectSet:
    return load_or_build(project, cache, partial(source_files, src, project), Resolver())


def _dataset(args: argparse.Namespace) -> list[ProjectSet]:
    projects = load_projects()
    if args.projects:
        wanted = {n.strip() for n in args.projects.split(",")}
        projects = [p for p in projects if p.name in wanted]
    sources = [fetch(project, args.cache) for project in projects]
    jobs = [(p, src, args.cache) for p, src in zip(projects, sources)]
    if args.workers > 1:
        with ProcessPoolExecutor(args.workers) as pool:
            sets = list(pool.map(_build, *zip(*jobs)))
    else:
        sets = [_build(*job) for job in jobs]
    return [cap(ps, QUICK_CAP) if args.quick else ps for ps in sets]


def _projects(sets: Sequence[ProjectSet], cache: Path) -> dict[str, Any]:
    """Each project as published, for the product's project index (leave one file out)."""
    from remora_review.project.scan import index_from_sources

    out = {}
    for ps in sets:
        texts = {f.path: f.text for f in source_files(fetch(ps.project, cache), ps.project)}
        out[ps.project.name] = product.Published(index_from_sources(texts.items()), texts)
    return out


def _predictors(args: argparse.Namespace, resolver: Resolver,
                sets: Sequence[ProjectSet]) -> list[tuple[str, Predictor]]:
    started = time.monotonic()
    table = load_or_mine(args.cache, resolver)
    print(f"name peer: {len(table.counts)} parameter names from {table.annotated} library-typed "
          f"parameters in the installed source of "
          + ", ".join(f"{k} {v}" for k, v in library_versions().items())
          + f" ({time.monotonic() - started:.1f}s)")
    out: list[tuple[str, Predictor]] = [("name peer", name_peer(table))]
    if args.no_product:
        return out
    names = [n.strip() for n in args.packs.split(",") if n.strip()]
    reason = product.availability(args.packs_dir, names)
    if reason is not None:
        print(reason)
        return out
    configs = product.configs(args.packs_dir, names)
    if args.only:
        wanted = {n.strip() for n in args.only.split(",")}
        configs = [c for c in configs if c.label in wanted]
    started = time.monotonic()
    projects = _projects(sets, args.cache)
    out.extend(product.predictors(args.packs_dir, configs, lambda m: print(f"note: {m}"), names,
                                  projects))
    print(f"product: {len(configs)} configurations, packs {', '.join(names)} "
          f"({time.monotonic() - started:.1f}s to load)")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--fresh-pack"]:  # its own options: bench/devset/fresh.py --help
        from bench.devset import fresh

        return fresh.main(argv[1:])
    args = build_parser().parse_args(argv)
    resolver = Resolver()
    started = time.monotonic()
    try:
        sets = _dataset(args)
    except FetchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"dev set{' (--quick)' if args.quick else ''}: parameters annotated with a class of "
          f"sqlalchemy, httpx, fastapi or starlette ({time.monotonic() - started:.1f}s)")
    print("\n".join(dataset_table(sets)))
    results = []
    predictors = _predictors(args, resolver, sets)
    if args.only:
        wanted = {n.strip() for n in args.only.split(",")}
        predictors = [(label, p) for label, p in predictors if label in wanted]
    with prediction_pool([p for _, p in predictors], args.workers) as pool:
        for index, (label, _) in enumerate(predictors):
            for mode in ("kept", "blind"):
                started = time.monotonic()
                outcomes, errors = evaluate(pool, index, sets, mode, resolver,
                                            _dump_path(args.dump, label, mode))
                print()
                print("\n".join(figures_table(label, mode, outcomes, args.threshold, errors)))
                print(f"({time.monotonic() - started:.1f}s)", flush=True)
                results.append(result_json(label, mode, outcomes, args.threshold, errors))
            if args.negatives:
                started = time.monotonic()
                outcomes, errors = evaluate(pool, index, sets, "negatives", resolver,
                                            _dump_path(args.dump, label, "negatives"))
                print()
                print("\n".join(negatives_table(label, outcomes, args.threshold)))
                print(f"({time.monotonic() - started:.1f}s)", flush=True)
                results.append(negatives_json(label, outcomes, args.threshold))
    if args.json:
        sizes = {ps.project.name: ps.size for ps in sets}
        payload = {"quick": args.quick, "threshold": args.threshold, "sizes": sizes, "results": results}
        write_atomic(args.json, json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
