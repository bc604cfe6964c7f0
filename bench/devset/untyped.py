"""The *project untyped* mode: every library-typed annotation of a whole project stripped at once,
as in a codebase nobody has typed yet. The project index is built from the stripped tree; the name
peer and the product predict every stripped file of a project in one task, so the product can
propagate what it is sure of across the project's modules (infer/propagation.py).

    nice -n 10 .venv/bin/python bench/devset/untyped.py --json F --dump D \
        --cache /work/main/.bench-cache/devset

It takes run.py's options (--quick, --projects, --only, --threshold, ...); --no-negatives is implied.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/devset/untyped.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.devset import product
from bench.devset.dataset import ProjectSet, library_versions, write_atomic
from bench.devset.extract import StrippedFile
from bench.devset.fetch import FetchError, fetch, source_files
from bench.devset.keywords import follow_renames
from bench.devset.metrics import Outcome, dump_rows, score
from bench.devset.name_peer import load_or_mine, name_peer
from bench.devset.predictor import Prediction, Predictor
from bench.devset.report import dataset_table, figures_table, result_json
from bench.devset.resolve import Resolver
from bench.devset.run import _dataset, _dump_path, build_parser

MODE = "project untyped"
# (the project's tree: repository path -> text, the stripped paths to predict) -> path -> predictions
ProjectPredictor = Callable[[Mapping[str, str], Sequence[str]], dict[str, list[Prediction]]]


_BLIND_NAME = re.compile(r"\bp(\d+)\b")


def unique_blind_names(f: StrippedFile, published: str, number: int) -> StrippedFile:
    """A blind file whose `p0, p1, ...` are `p0_N, p1_N, ...`, N the file's number: the product
    counts the sure predictions of other modules in the project's naming habit, and blind names
    that repeat across files would let `p0` teach `p0`. Lines stay; a file whose published text
    already has such names is left as it is."""
    if _BLIND_NAME.search(published):
        return f
    suffix = f"_{number}"
    gold = tuple(replace(g, parameter=_BLIND_NAME.sub(rf"p\1{suffix}", g.parameter))
                 for g in f.gold)
    return replace(f, source=_BLIND_NAME.sub(rf"p\1{suffix}", f.source), gold=gold)


def stripped_files(ps: ProjectSet, published: Mapping[str, str], mode: str
                   ) -> tuple[StrippedFile, ...]:
    files = ps.files_for(mode)
    if mode != "blind":
        return files
    return tuple(unique_blind_names(f, published.get(f.path, ""), n) for n, f in enumerate(files))


def stripped_tree(files: Sequence[StrippedFile], published: Mapping[str, str]) -> dict[str, str]:
    """The project as published with every file that had library-typed parameters replaced by
    its stripped version."""
    return {**published, **{f.path: f.source for f in files}}


def per_file(predictor: Predictor, project: str) -> ProjectPredictor:
    """A file-at-a-time predictor (the name peer) over a whole project."""

    def predict(tree: Mapping[str, str], paths: Sequence[str]) -> dict[str, list[Prediction]]:
        return {path: predictor(tree[path], path, project) for path in paths}

    return predict


def product_predictors(args: argparse.Namespace, warn: Callable[[str], None],
                       wanted: set[str] | None) -> list[tuple[str, ProjectPredictor]]:
    """The product's configurations (plain packs) as project predictors: the hook's activation
    (follow-imports over the stripped tree), the index built from the stripped tree."""
    from remora_review.activation import PackTrigger, activations
    from remora_review.config import Settings
    from remora_review.infer.inferer import build_inferer
    from remora_review.infer.propagation import predict_project
    from remora_review.infer.rounds import has_unannotated
    from remora_review.packs.loader import load_pack
    from remora_review.project.scan import index_from_sources
    from remora_review.retrieval.runtime import PackRetrieval

    packs_dir: Path = args.packs_dir
    names = [n.strip() for n in args.packs.split(",") if n.strip()]
    reason = product.availability(packs_dir, names)
    if reason is not None:
        warn(reason)
        return []
    settings = Settings.model_validate({"embedding": {"server": False}})
    packs = [load_pack(p) for p in product.pack_files(packs_dir, False, names)]
    retrieval = PackRetrieval(packs, settings, os.environ, warn)
    triggers = [PackTrigger(p.name, p.kind, p.activate_on) for p in packs]
    out = []
    for config in product.configs(packs_dir, names):
        if config.fine_tuned or (wanted is not None and config.label not in wanted):
            continue
        cache: dict[tuple[str, ...], object] = {}

        def inferer_for(active: tuple[str, ...], signals: object = config.signals,
                        cache: dict[tuple[str, ...], object] = cache) -> object:
            if active not in cache:
                cache[active] = build_inferer([p for p in packs if p.name in active], retrieval,
                                              signals)
            return cache[active]

        def predict(tree: Mapping[str, str], paths: Sequence[str],
                    inferer_for: Callable[[tuple[str, ...]], object] = inferer_for,
                    ) -> dict[str, list[Prediction]]:
            files = [(p, tree[p]) for p in paths]
            active = activations(files, triggers, (),
                                 lambda wanted: {p: tree[p] for p in wanted if p in tree})
            inferers = {path: inferer_for(a) for (path, _), a in zip(files, active) if a}
            index = index_from_sources(sorted(tree.items()))
            # As `check --all` would: every file with an unannotated parameter takes part.
            everything = sorted((p, t) for p, t in tree.items() if has_unannotated(t))
            found = predict_project(everything, inferers, index)  # type: ignore[arg-type]
            return {path: [Prediction(p.function, p.parameter, p.line,
                                      tuple((c.annotation, float(c.score)) for c in p.candidates),
                                      float(p.confidence)) for p in found.get(path, [])]
                    for path in paths}

        out.append((config.label, predict))
    return out


# A worker's predictors and trees, set before the fork: closures over loaded packs cannot be pickled.
_WORKER: dict[str, object] = {}


def _run(task: tuple[int, str, str]) -> dict[str, list[Prediction]] | None:
    index, project, mode = task
    predictors: list[ProjectPredictor] = _WORKER["predictors"]  # type: ignore[assignment]
    trees: Mapping[tuple[str, str], tuple[dict[str, str], list[str]]] = _WORKER["trees"]  # type: ignore[assignment]
    tree, paths = trees[(project, mode)]
    try:
        return predictors[index](tree, paths)
    except Exception:  # a predictor's bug on one project is counted, not raised
        return None


@contextmanager
def _pool(workers: int) -> Iterator[Callable[[Sequence[tuple[int, str, str]]], list]]:
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        yield lambda tasks: [_run(t) for t in tasks]
        return
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as executor:
        yield lambda tasks: list(executor.map(_run, tasks))


def evaluate(run: Callable[[Sequence[tuple[int, str, str]]], list], index: int,
             sets: Sequence[ProjectSet], mode: str, resolver: Resolver,
             dump: Path | None) -> tuple[list[Outcome], int]:
    # The biggest projects first, so that two workers finish together.
    order = sorted(sets, key=lambda ps: -ps.size)
    results = dict(zip((ps.project.name for ps in order),
                       run([(index, ps.project.name, mode) for ps in order])))
    outcomes: list[Outcome] = []
    rows: list[str] = []
    errors = 0
    for ps in sets:
        found = results[ps.project.name]
        errors += found is None
        for f in ps.files_for(mode):
            predictions = (found or {}).get(f.path, [])
            scored = score(ps.project.name, f.gold, predictions, resolver.canonical)
            outcomes.extend(scored)
            rows.extend(json.dumps(row) for row in dump_rows(f, scored, predictions))
    if dump is not None:
        write_atomic(dump, "".join(f"{row}\n" for row in rows))
    return outcomes, errors


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    parser.add_argument("--modes", default="kept,blind", help="default %(default)s")
    args = parser.parse_args(argv)
    resolver = Resolver()
    started = time.monotonic()
    try:
        sets = _dataset(args)
    except FetchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"dev set, {MODE}{' (--quick)' if args.quick else ''}: every parameter annotated with a "
          f"class of sqlalchemy, httpx, fastapi or starlette stripped from the whole project at once "
          f"({time.monotonic() - started:.1f}s)")
    print("\n".join(dataset_table(sets)))
    trees: dict[tuple[str, str], tuple[dict[str, str], list[str]]] = {}
    for i, ps in enumerate(sets):
        published = {f.path: f.text for f in source_files(fetch(ps.project, args.cache), ps.project)}
        for mode in ("kept", "blind"):
            files = stripped_files(ps, published, mode)
            tree = stripped_tree(files, published)
            if mode == "blind":  # the callers' keywords follow the renamed parameters
                tree = follow_renames(tree, files)
            trees[(ps.project.name, mode)] = (tree, [f.path for f in files])
        ps = replace(ps, blind=stripped_files(ps, published, "blind"))
        sets[i] = ps
    table = load_or_mine(args.cache, resolver)
    print(f"name peer: {len(table.counts)} parameter names from {table.annotated} library-typed "
          f"parameters in the installed source of "
          + ", ".join(f"{k} {v}" for k, v in library_versions().items()))
    wanted = {n.strip() for n in args.only.split(",")} if args.only else None
    peer = name_peer(table)
    predictors: list[tuple[str, ProjectPredictor]] = [
        ("name peer", per_file(peer, ""))]
    if not args.no_product:
        predictors += product_predictors(args, lambda m: print(f"note: {m}"), wanted)
    if wanted is not None:
        predictors = [(label, p) for label, p in predictors if label in wanted]
    _WORKER.update(predictors=[p for _, p in predictors], trees=trees)
    results = []
    with _pool(args.workers) as run:
        for index, (label, _) in enumerate(predictors):
            for mode in args.modes.split(","):
                started = time.monotonic()
                outcomes, errors = evaluate(run, index, sets, mode, resolver,
                                            _dump_path(args.dump, f"{label} untyped", mode))
                print()
                print("\n".join(figures_table(f"{label} | {MODE}", mode, outcomes, args.threshold,
                                              errors)))
                print(f"({time.monotonic() - started:.1f}s)", flush=True)
                results.append({**result_json(label, mode, outcomes, args.threshold, errors),
                                "setting": MODE})
    if args.json:
        sizes = {ps.project.name: ps.size for ps in sets}
        payload = {"quick": args.quick, "threshold": args.threshold, "setting": MODE,
                   "sizes": sizes, "results": results}
        write_atomic(args.json, json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
