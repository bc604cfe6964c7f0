"""Build the first-party packs (sqlalchemy, httpx, fastapi, acme) into packs/remora_packs/.

Run from the repository root: python scripts/build_packs.py [--only NAME ...]
They are built from the installed releases (sqlalchemy 2.1.9, httpx 0.28.1, fastapi 0.163.2 with
starlette 1.10.0) and from examples/acme-lib, whose package is imported from there when `acme` is
not installed. Stage outputs are kept in build/packs-work/, so a rerun only redoes what changed.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "packs" / "sources"
ACME_LIB = ROOT / "examples" / "acme-lib"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from remora_review.train.build import TrainSpec, build  # noqa: E402
from remora_review.train.inputs import load_glossary, load_policies, load_rewrites  # noqa: E402
from remora_review.train.progress import RichProgress  # noqa: E402


def specs(repos: dict[str, list[Path]] | None = None) -> dict[str, TrainSpec]:
    """What each first-party pack is built from; `repos` is the training corpus per library
    (packs/sources/training-repos.toml, disjoint from the dev set)."""
    repos = repos or {}
    return {
        "sqlalchemy": TrainSpec(library="sqlalchemy", activate_on=("sqlalchemy",),
                                repos=tuple(repos.get("sqlalchemy", ())),
                                policies=load_policies(SOURCES / "sqlalchemy" / "policies.toml")),
        "httpx": TrainSpec(library="httpx", activate_on=("httpx",),
                           repos=tuple(repos.get("httpx", ())),
                           rewrites=load_rewrites(SOURCES / "httpx" / "rewrites.toml")),
        "fastapi": TrainSpec(
            library="fastapi",
            modules=("starlette",),
            activate_on=("fastapi", "starlette"),
            repos=tuple(repos.get("fastapi", ())),
            templates=SOURCES / "fastapi" / "templates",
            rewrites=load_rewrites(SOURCES / "fastapi" / "rewrites.toml"),
        ),
        "acme": TrainSpec(
            library="acme",
            kind="company",
            activate_on=(),
            docs=(SOURCES / "acme" / "docs",),
            policies=load_policies(SOURCES / "acme" / "policies.toml"),
            glossary=load_glossary(SOURCES / "acme" / "glossary.toml"),
            description="ACME Corp: compliance audit logging (ACME001) and the Gizmo "
                        "(Microservice B) client",
        ),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=sorted(specs()), help="build only these")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "packs" / "remora_packs")
    parser.add_argument("--work-dir", type=Path, default=ROOT / "build" / "packs-work")
    parser.add_argument("--no-corpus", action="store_true",
                        help="mine only the libraries' own source, not the training corpus")
    args = parser.parse_args(argv)
    repos: dict[str, list[Path]] = {}
    if not args.no_corpus:
        from scripts.fetch_training_repos import fetch_all

        repos = fetch_all()
    if importlib.util.find_spec("acme") is None:
        sys.path.insert(0, str(ACME_LIB))
    chosen = {n: s for n, s in specs(repos).items() if not args.only or n in args.only}
    for name, spec in chosen.items():
        out = args.out_dir / f"{name}.pack"
        started = time.monotonic()
        with RichProgress() as progress:
            result = build(spec, args.work_dir / name, out, progress)
        seconds = time.monotonic() - started
        size = out.stat().st_size
        print(
            f"{name}: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out} "
            f"{size / 1e6:.2f} MB in {seconds:.0f}s; {result.classes} classes, "
            f"{result.usages} mined usages, {result.documents} documents",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
