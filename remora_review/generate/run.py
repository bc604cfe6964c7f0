"""`python -m remora_review.generate.run`: run JSON requests through a configured backend, print JSON.

A generator in a process of its own: the vLLM backend needs one (it spawns workers, so it must be
built under `__main__`), and the CPU build of vLLM lives in a virtual environment of its own.
Requests: a JSON list of {"prompt": text or token ids, "adapter", "max_tokens", "stop",
"ignore_eos", "json_schema", "grammar"}. Output: a JSON list of {"text", "token_ids"}.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from remora_review.errors import UserError, run_command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m remora_review.generate.run", description=__doc__)
    parser.add_argument("--backend", choices=("transformers", "vllm", "openai"), required=True)
    parser.add_argument("--model", required=True, help="hub id or local directory")
    parser.add_argument("--adapter", action="append", default=[], metavar="NAME=DIR")
    parser.add_argument("--requests", type=Path, required=True, metavar="FILE.json")
    parser.add_argument("--out", type=Path, metavar="FILE.json",
                        help="where the results go (default: stdout; vLLM logs to stdout too)")
    parser.add_argument("--server-url")
    parser.add_argument("--max-loras", type=int, default=4)
    parser.add_argument("--max-lora-rank", type=int, default=16)
    parser.add_argument("--max-model-len", type=int)
    parser.add_argument("--gpu-memory-utilization", type=float, default=0.9)
    parser.add_argument("--dtype", choices=("auto", "float32", "bfloat16", "float16"), default="auto")
    parser.add_argument("--verbose", "-v", action="store_true")
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from remora_review.config import Generator as GeneratorSettings
    from remora_review.generate.base import Adapter
    from remora_review.generate.factory import open_generator

    adapters = []
    for item in args.adapter:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise UserError(f"--adapter wants NAME=DIR, got {item!r}")
        adapters.append(Adapter(name, Path(path)))
    try:
        settings = GeneratorSettings.model_validate({
            "backend": args.backend, "model": args.model, "server-url": args.server_url,
            "max-loras": args.max_loras, "max-lora-rank": args.max_lora_rank,
            "max-model-len": args.max_model_len,
            "gpu-memory-utilization": args.gpu_memory_utilization, "dtype": args.dtype,
        })
    except ValidationError as e:
        raise UserError(f"generator settings: {e.errors()[0]['msg']}") from None
    requests = read_requests(args.requests)
    generator = open_generator(settings, adapters)
    try:
        results = generator.generate(requests)
    finally:
        generator.close()
    text = json.dumps([{"text": g.text, "token_ids": list(g.token_ids)} for g in results])
    if args.out is None:
        print(text)
    else:
        args.out.write_text(text + "\n", "utf-8")
    return 0


def read_requests(path: Path) -> list[Any]:
    from remora_review.generate.base import GenerationRequest, OutputShape

    try:
        raw = json.loads(path.read_text("utf-8"))
        out = []
        for item in raw:
            prompt = item["prompt"]
            shape = None
            if item.get("json_schema") is not None or item.get("grammar") is not None:
                shape = OutputShape(json_schema=item.get("json_schema"), grammar=item.get("grammar"))
            out.append(GenerationRequest(
                prompt=prompt if isinstance(prompt, str) else tuple(int(t) for t in prompt),
                adapter=item.get("adapter"),
                max_tokens=int(item.get("max_tokens", 256)),
                stop=tuple(item.get("stop", ())),
                shape=shape,
                ignore_eos=bool(item.get("ignore_eos", False)),
            ))
        return out
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise UserError(f"{path}: not a JSON list of generation requests ({e!r})") from None


def write_requests(requests: Sequence[Any], path: Path) -> None:
    """The file `--requests` reads, for callers that run this module in another interpreter."""
    rows = []
    for r in requests:
        row: dict[str, Any] = {
            "prompt": r.prompt if isinstance(r.prompt, str) else list(r.prompt),
            "adapter": r.adapter, "max_tokens": r.max_tokens, "stop": list(r.stop),
            "ignore_eos": r.ignore_eos,
        }
        if r.shape is not None:
            row["json_schema"] = None if r.shape.json_schema is None else dict(r.shape.json_schema)
            row["grammar"] = r.shape.grammar
        rows.append(row)
    path.write_text(json.dumps(rows), "utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    return run_command("remora-generate", args.handler, args, args.verbose)


if __name__ == "__main__":
    raise SystemExit(main())
