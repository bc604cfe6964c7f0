"""The fresh-pack mode: libraries no first-party pack covers, packed by `remora-train` inside the
harness, measured on published projects that use them, beside the name peer.

Run from the repository root: `python bench/devset/fresh.py` (or `run.py --fresh-pack`). Each library
is installed at its pin into the bench cache (never the venv); each pack variant is one real
`remora-train pack` run with that directory on PYTHONPATH:
- `installed`: the installed source alone (what `remora-train pack --library X` reads);
- `sdist`: the same, plus the library's sdist (`--source`), whose tests, docs and examples are
  mined for usages (`pip download --no-binary :all: --no-deps`).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python bench/devset/fresh.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.devset import product
from bench.devset.dataset import ProjectSet, build_project, from_json, to_json, write_atomic
from bench.devset.fetch import FetchError, Project, fetch, source_files
from bench.devset.name_peer import NameTable, mine, name_peer
from bench.devset.parallel import prediction_pool
from bench.devset.predictor import Predictor
from bench.devset.report import (
    dataset_table,
    figures_table,
    negatives_json,
    negatives_table,
    result_json,
)
from bench.devset.resolve import Resolver

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
FRESH_FILE = Path(__file__).with_name("fresh_projects.toml")
VARIANTS = ("installed", "sdist")
_HERE = Path(__file__).parent


@dataclass(frozen=True)
class Library:
    name: str  # PyPI name and import name
    version: str
    why: str = ""

    @property
    def pin(self) -> str:
        return f"{self.name}=={self.version}"


@dataclass(frozen=True)
class FreshSet:
    libraries: tuple[Library, ...]
    projects: tuple[Project, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(lib.name for lib in self.libraries)


def load_fresh(path: Path = FRESH_FILE) -> FreshSet:
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    libraries = tuple(Library(lib["name"], lib["version"], lib.get("why", ""))
                      for lib in raw.get("library", []))
    projects = tuple(Project(p["name"], p["version"], p.get("why", ""), p.get("max_files"))
                     for p in raw.get("project", []))
    return FreshSet(libraries, projects)


def _pip(args: Sequence[str], what: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise FetchError(f"{what} failed: {done.stderr.strip().splitlines()[-1:]}")


def install(library: Library, cache: Path) -> Path:
    """A directory holding the library at its pin (its dependencies come from the venv)."""
    dest = cache / "fresh" / "lib" / f"{library.name}-{library.version}"
    if dest.is_dir():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".install-", dir=dest.parent))
    try:
        _pip(["install", "--no-deps", "--quiet", "--only-binary=:all:", "--target", str(tmp),
              library.pin], f"pip install {library.pin}")
        os.replace(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def sdist(library: Library, cache: Path) -> Path:
    """The library's source distribution at its pin: tests, docs and examples live there."""
    where = cache / "fresh" / "sdist"
    stem = f"{library.name.replace('-', '_').lower()}_{library.version}"

    def found() -> Path | None:
        for p in sorted(where.iterdir()) if where.is_dir() else []:
            if p.name.lower().replace("-", "_").startswith(stem) and p.name.endswith((".tar.gz", ".zip")):
                return p
        return None

    archive = found()
    if archive is None:
        where.mkdir(parents=True, exist_ok=True)
        _pip(["download", "--no-deps", "--quiet", "--no-binary=:all:", library.pin, "-d", str(where)],
             f"pip download --no-binary :all: {library.pin}")
        archive = found()
    if archive is None:
        raise FetchError(f"pip download {library.pin} left no sdist in {where}")
    return archive


def build_packs(fresh: FreshSet, cache: Path, variant: str, lib_dirs: Sequence[Path],
                log: Callable[[str], None] = print) -> Path:
    """The variant's packs, one real `remora-train pack` run per library; stages resume."""
    out_dir = cache / "fresh" / "packs" / variant
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*map(str, lib_dirs), str(ROOT)])}
    for library in fresh.libraries:
        extra = ["--source", str(sdist(library, cache))] if variant == "sdist" else []
        out = out_dir / f"{library.name}.pack"
        cmd = [sys.executable, "-m", "remora_review.train.cli", "pack", "--library", library.name,
               "--out", str(out), "--work-dir", str(cache / "fresh" / "work" / variant / library.name),
               *extra]
        started = time.monotonic()
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise FetchError(f"remora-train pack --library {library.name} ({variant}) failed: "
                             f"{done.stderr.strip().splitlines()[-1:]}")
        summary = done.stderr.strip().splitlines()[-1:] or [""]
        log(f"pack {variant}: {summary[0].split(': ', 1)[-1]} ({time.monotonic() - started:.0f}s)")
    return out_dir


def _key(project: Project, versions: Mapping[str, str]) -> str:
    digest = hashlib.sha256()
    for name in ("extract.py", "resolve.py", "dataset.py", "fetch.py", "fresh.py"):
        digest.update((_HERE / name).read_bytes())
    digest.update(json.dumps([project.pin, project.max_files, dict(versions)]).encode())
    return digest.hexdigest()[:16]


def project_set(project: Project, cache: Path, resolver: Resolver,
                versions: Mapping[str, str]) -> ProjectSet:
    """One project's share, stripped of the fresh libraries' classes; cached like run.py's."""
    path = cache / "fresh" / "extract" / f"{project.name}-{project.version}-{_key(project, versions)}.json"
    if path.is_file():
        return from_json(project, json.loads(path.read_text("utf-8")))
    built = build_project(project, source_files(fetch(project, cache), project), resolver)
    write_atomic(path, json.dumps(to_json(built)))
    return built


def name_table(cache: Path, resolver: Resolver, versions: Mapping[str, str]) -> NameTable:
    digest = hashlib.sha256()
    for name in ("name_peer.py", "resolve.py", "extract.py"):
        digest.update((_HERE / name).read_bytes())
    digest.update(json.dumps(dict(versions)).encode())
    path = cache / "fresh" / f"name_peer-{digest.hexdigest()[:16]}.json"
    if path.is_file():
        return NameTable(json.loads(path.read_text("utf-8")))
    table = mine(resolver, resolver.libraries)
    write_atomic(path, json.dumps({k: dict(v) for k, v in table.counts.items()}, sort_keys=True))
    return table


def _published(sets: Sequence[ProjectSet], cache: Path) -> dict[str, Any]:
    """Each project as published, for the product's project index (leave one file out)."""
    from remora_review.project.scan import index_from_sources

    out = {}
    for ps in sets:
        texts = {f.path: f.text for f in source_files(fetch(ps.project, cache), ps.project)}
        out[ps.project.name] = product.Published(index_from_sources(texts.items()), texts)
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench/devset/fresh.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help="comma-separated pack variants to build and measure (default %(default)s)")
    parser.add_argument("--projects", help="comma-separated subset of fresh_projects.toml names")
    parser.add_argument("--threshold", type=float, default=0.9)
    parser.add_argument("--no-negatives", dest="negatives", action="store_false",
                        help="skip the false-positive run (parameters annotated with other types)")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--cache", type=Path, default=ROOT / ".bench-cache" / "devset")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument("--dump", type=Path, help="write every gold parameter's outcome as JSON "
                        "lines into this directory, one file per predictor and mode")
    return parser


def _predictors(fresh: FreshSet, variants: Sequence[str], cache: Path, resolver: Resolver,
                versions: Mapping[str, str], lib_dirs: Sequence[Path],
                sets: Sequence[ProjectSet]) -> list[tuple[str, Predictor]]:
    started = time.monotonic()
    table = name_table(cache, resolver, versions)
    print(f"name peer: {len(table.counts)} parameter names from {table.annotated} library-typed "
          f"parameters in the installed source of "
          + ", ".join(f"{k} {v}" for k, v in versions.items())
          + f" ({time.monotonic() - started:.1f}s)")
    activation = {name: (name,) for name in fresh.names}
    out: list[tuple[str, Predictor]] = [("name peer", name_peer(table, activation))]
    published = _published(sets, cache)
    for variant in variants:
        packs_dir = build_packs(fresh, cache, variant, lib_dirs)
        reason = product.availability(packs_dir, fresh.names)
        if reason is not None:
            print(reason)
            continue
        combined = [c for c in product.configs(packs_dir, fresh.names) if c.label == "product combined"]
        for _, predictor in product.predictors(packs_dir, combined, lambda m: print(f"note: {m}"),
                                               fresh.names, published):
            out.append((f"product {variant}", predictor))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    from bench.devset.run import evaluate

    args = build_parser().parse_args(argv)
    fresh = load_fresh()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        print(f"error: unknown variant {unknown[0]!r} (choose from {', '.join(VARIANTS)})",
              file=sys.stderr)
        return 2
    projects = list(fresh.projects)
    if args.projects:
        wanted = {n.strip() for n in args.projects.split(",")}
        projects = [p for p in projects if p.name in wanted]
    started = time.monotonic()
    try:
        lib_dirs = [install(lib, args.cache) for lib in fresh.libraries]
        # The pinned libraries, not the venv's: gold, name peer and packs all read these.
        sys.path[:0] = [str(d) for d in lib_dirs]
        importlib.invalidate_caches()
        resolver = Resolver(fresh.names)
        versions = {lib.name: lib.version for lib in fresh.libraries}
        sets = [project_set(p, args.cache, resolver, versions) for p in projects]
    except FetchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"fresh-pack dev set: parameters annotated with a class of "
          f"{', '.join(lib.pin for lib in fresh.libraries)} ({time.monotonic() - started:.1f}s)")
    print("\n".join(dataset_table(sets)))
    try:
        predictors = _predictors(fresh, variants, args.cache, resolver, versions, lib_dirs, sets)
    except FetchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    results = []
    modes = ("kept", "blind", "negatives") if args.negatives else ("kept", "blind")
    with prediction_pool([p for _, p in predictors], args.workers) as pool:
        for index, (label, _) in enumerate(predictors):
            for mode in modes:
                started = time.monotonic()
                dump = None
                if args.dump is not None:
                    args.dump.mkdir(parents=True, exist_ok=True)
                    dump = args.dump / f"{label.replace(' ', '-')}.{mode}.jsonl"
                outcomes, errors = evaluate(pool, index, sets, mode, resolver, dump)
                print()
                if mode == "negatives":
                    print("\n".join(negatives_table(label, outcomes, args.threshold)))
                    results.append(negatives_json(label, outcomes, args.threshold))
                else:
                    print("\n".join(figures_table(label, mode, outcomes, args.threshold, errors)))
                    results.append(result_json(label, mode, outcomes, args.threshold, errors))
                print(f"({time.monotonic() - started:.1f}s)", flush=True)
    if args.json:
        sizes = {ps.project.name: ps.size for ps in sets}
        payload = {"mode": "fresh pack", "threshold": args.threshold, "sizes": sizes,
                   "libraries": versions, "results": results}
        write_atomic(args.json, json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
