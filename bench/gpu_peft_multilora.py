"""Multi-LoRA generation throughput with transformers + peft: 1, 4 and 16 distinct adapters in one
batch against the base model alone, and the latency of loading one adapter.

Weights are random: throughput depends on the shapes, not on what the weights say, so the model is
built from Gemma 3 270M's configuration (the pack Brain's base) without a download. Run where a GPU
is (`python bench/gpu_peft_multilora.py`); `--tiny` runs the same code on CPU with a tiny model.
vLLM's multi-LoRA is the product's GPU path; this is the peft path measured beside the base model.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# Gemma 3 270M's shapes (its config.json), so the figures carry over to the real checkpoint.
GEMMA3_270M: dict[str, Any] = {
    "hidden_size": 640, "intermediate_size": 2048, "num_hidden_layers": 18,
    "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 256,
    "vocab_size": 262144, "max_position_embeddings": 32768, "sliding_window": 512,
}
TINY: dict[str, Any] = {
    "hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 2,
    "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 64,
    "vocab_size": 1024, "max_position_embeddings": 2048, "sliding_window": 512,
}
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def build_model(shape: dict[str, Any], device: str, dtype: Any) -> Any:
    import torch
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(0)
    config = Gemma3TextConfig(**shape)
    return Gemma3ForCausalLM(config).to(device=device, dtype=dtype).eval()


def save_adapters(base: Any, count: int, rank: int, out: Path) -> list[Path]:
    """`count` distinct random LoRA adapters on every linear layer, saved as safetensors."""
    import torch
    from peft import LoraConfig, get_peft_model

    paths = []
    for i in range(count):
        torch.manual_seed(100 + i)
        config = LoraConfig(r=rank, lora_alpha=2 * rank, target_modules=TARGETS,
                            init_lora_weights=False)
        model = get_peft_model(base, config)
        path = out / f"adapter{i}"
        model.save_pretrained(str(path), safe_serialization=True)
        paths.append(path)
        base = model.unload()  # drop the LoRA layers again, base weights untouched
    return paths


def timed_generate(model: Any, ids: Any, new_tokens: int, adapter_names: list[str] | None,
                   repeats: int) -> float:
    """Median seconds for one greedy generation of `new_tokens` tokens for the whole batch."""
    import torch

    kwargs: dict[str, Any] = {"max_new_tokens": new_tokens, "min_new_tokens": new_tokens,
                              "do_sample": False, "pad_token_id": 0}
    if adapter_names is not None:
        kwargs["adapter_names"] = adapter_names
    times = []
    for _ in range(repeats + 1):  # the first run warms kernels and caches up
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        with torch.inference_mode():
            model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), **kwargs)
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tiny", action="store_true", help="tiny model on CPU (a dry run)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--prompt-tokens", type=int, default=256)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    import peft
    import torch
    import transformers
    from peft import PeftModel

    device = "cuda" if torch.cuda.is_available() and not args.tiny else "cpu"
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    shape = TINY if args.tiny else GEMMA3_270M
    base = build_model(shape, device, dtype)
    vocab = shape["vocab_size"]
    ids = torch.randint(1, vocab, (args.batch, args.prompt_tokens), device=device)
    figures: dict[str, Any] = {
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "torch": torch.__version__, "transformers": transformers.__version__,
        "peft": peft.__version__, "batch": args.batch, "prompt_tokens": args.prompt_tokens,
        "new_tokens": args.new_tokens, "rank": args.rank,
    }

    base_s = timed_generate(base, ids, args.new_tokens, None, args.repeats)
    tokens = args.batch * args.new_tokens
    figures["base_tokens_per_s"] = tokens / base_s
    with tempfile.TemporaryDirectory() as tmp:
        paths = save_adapters(base, 16, args.rank, Path(tmp))
        start = time.perf_counter()
        model = PeftModel.from_pretrained(base, str(paths[0]), adapter_name="a0")
        figures["first_adapter_load_s"] = time.perf_counter() - start
        loads = []
        for i, path in enumerate(paths[1:], start=1):
            start = time.perf_counter()
            model.load_adapter(str(path), adapter_name=f"a{i}")
            loads.append(time.perf_counter() - start)
        figures["adapter_load_s_median"] = statistics.median(loads)
        swaps = []
        for i in range(16):
            start = time.perf_counter()
            model.set_adapter(f"a{i % 16}")
            swaps.append(time.perf_counter() - start)
        figures["set_adapter_s_median"] = statistics.median(swaps)
        model.eval()
        for distinct in (1, 4, 16):
            names = [f"a{i % distinct}" for i in range(args.batch)]
            seconds = timed_generate(model, ids, args.new_tokens, names, args.repeats)
            figures[f"adapters_{distinct}_tokens_per_s"] = tokens / seconds
            figures[f"adapters_{distinct}_vs_base"] = base_s / seconds
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
