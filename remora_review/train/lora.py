"""Train a pack's LoRA adapter on golden snippets and measure held-out perplexity with and without it.

The adapter is what vLLM and peft both serve: LoRA on every linear layer of the decoder (peft's
"all-linear" leaves the output head alone), rank at most 16, no `modules_to_save` (vLLM refuses
adapters that carry full embedding or head weights), saved as safetensors.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from remora_review.atomic import atomic_directory
from remora_review.errors import UserError
from remora_review.packs.loader import PICKLE_SUFFIXES
from remora_review.train.progress import Progress

MAX_RANK = 16
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")


@dataclass(frozen=True)
class LoraSettings:
    rank: int = 8
    alpha: int = 16
    steps: int = 200
    batch_size: int = 4
    max_length: int = 256  # tokens per snippet; longer ones are cut
    learning_rate: float = 2e-4
    seed: int = 20250101

    def __post_init__(self) -> None:
        if not 1 <= self.rank <= MAX_RANK:
            raise UserError(f"--rank must be between 1 and {MAX_RANK}, got {self.rank}")
        if self.steps < 1 or self.batch_size < 1 or self.max_length < 8:
            raise UserError("--steps and --batch-size must be positive and --max-length at least 8")


@dataclass(frozen=True)
class TrainingText:
    """One training example: the adapter learns to write `target` after `prompt`. The loss is on
    `target` only: a generated fix's prompt is the review's to write, its answer the model's."""

    target: str
    prompt: str = ""


@dataclass(frozen=True)
class LoraResult:
    adapter_dir: Path
    base_model_version: str  # the hub commit, else a digest of the local weights
    perplexity_base: float  # held-out perplexity of the base model alone
    perplexity_adapter: float  # ... and with the adapter
    train_examples: int
    held_out_snippets: int
    held_out_tokens: int


def train_lora(
    base_model: str,
    train_texts: Sequence[TrainingText],
    held_out_texts: Sequence[str],
    out_dir: Path,
    progress: Progress,
    *,
    gguf_file: str | None = None,
    settings: LoraSettings = LoraSettings(),
) -> LoraResult:
    """Train on `train_texts`; the perplexities are measured on `held_out_texts` alone (every
    token of each, cut at `settings.max_length`), before saving."""
    try:
        import torch
        from peft import LoraConfig, get_peft_model
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError:
        raise UserError("remora-train lora needs `pip install 'remora-review[generate]'`") from None
    if not train_texts or not held_out_texts:
        raise UserError("remora-train lora: no golden snippets to train on or to hold out")
    random.seed(settings.seed)
    torch.manual_seed(settings.seed)
    extra = {"gguf_file": gguf_file} if gguf_file else {}
    with progress.stage("base model", total=1) as stage:
        try:
            tokenizer = AutoTokenizer.from_pretrained(base_model, **extra)
            base: Any = AutoModelForCausalLM.from_pretrained(base_model, dtype=torch.float32, **extra)
        except OSError as e:
            raise UserError(f"cannot load the base model {base_model!r}: {e}") from None
        stage.advance()
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    config = LoraConfig(
        r=settings.rank,
        lora_alpha=settings.alpha,
        lora_dropout=0.0,
        target_modules="all-linear",
        modules_to_save=None,
        task_type="CAUSAL_LM",
    )
    model: Any = get_peft_model(base, config)
    train = encode(tokenizer, train_texts, settings.max_length)
    held = encode(tokenizer, [TrainingText(t) for t in held_out_texts], settings.max_length)
    if not held:
        raise UserError("remora-train lora: every held-out snippet is shorter than two tokens")
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=settings.learning_rate
    )
    order = random.Random(settings.seed)
    model.train()
    losses: list[float] = []
    with progress.stage("lora", total=settings.steps) as stage:
        for _ in range(settings.steps):
            batch = order.sample(train, min(settings.batch_size, len(train)))
            nll, count = _nll(model, _collate(batch, tokenizer.pad_token_id))
            loss = nll / count
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            losses.append(float(loss.detach()))
            stage.advance()
    tenth = max(1, len(losses) // 10)
    progress.note(f"training loss {sum(losses[:tenth]) / tenth:.3f} over the first {tenth} steps, "
                  f"{sum(losses[-tenth:]) / tenth:.3f} over the last {tenth}")
    model.eval()
    with progress.stage("perplexity", total=2 * len(held)) as stage:
        with model.disable_adapter():
            base_ppl, tokens = perplexity(model, held, tokenizer.pad_token_id, stage.advance)
        adapted_ppl, _ = perplexity(model, held, tokenizer.pad_token_id, stage.advance)
    _save(model, out_dir, base_model)
    return LoraResult(
        adapter_dir=out_dir,
        base_model_version=model_version(base_model, model),
        perplexity_base=base_ppl,
        perplexity_adapter=adapted_ppl,
        train_examples=len(train),
        held_out_snippets=len(held),
        held_out_tokens=tokens,
    )


@dataclass(frozen=True)
class Encoded:
    ids: list[int]
    start: int  # the first token the loss is on (at least 1: the first token has no prediction)


def encode(tokenizer: Any, texts: Sequence[TrainingText], max_length: int) -> list[Encoded]:
    """Token ids of each example, at most `max_length`: a plain text is cut at its end; a prompted
    one keeps its target whole (up to the limit) and as much of the prompt's end as fits, after
    the beginning-of-text token: what comes just before an answer says most about it."""
    out = []
    for text in texts:
        if not text.prompt:
            ids = list(tokenizer(text.target, truncation=True, max_length=max_length).input_ids)
            start = 1
        else:
            head = list(tokenizer(text.prompt).input_ids)
            tail = list(tokenizer(text.target, add_special_tokens=False).input_ids)[: max_length - 2]
            bos = head[:1] if head and head[0] == tokenizer.bos_token_id else []
            room = max_length - len(bos) - len(tail)
            context = head[len(bos):][-room:] if room > 0 else []
            ids = bos + context + tail
            start = max(1, len(ids) - len(tail))
        if len(ids) >= 2 and start < len(ids):
            out.append(Encoded(ids, start))
    return out


def _collate(batch: Sequence[Encoded], pad: int) -> dict[str, Any]:
    import torch

    width = max(len(row.ids) for row in batch)
    ids = torch.full((len(batch), width), pad, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    for i, row in enumerate(batch):
        ids[i, : len(row.ids)] = torch.tensor(row.ids)
        mask[i, : len(row.ids)] = 1
        labels[i, row.start : len(row.ids)] = torch.tensor(row.ids[row.start :])
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def _nll(model: Any, batch: dict[str, Any]) -> tuple[Any, int]:
    """(summed negative log-likelihood of the labelled tokens, how many). Logits are computed only
    from the first labelled position on: Gemma's output layer has 262k rows, and over a generated
    fix's long prompt most of the step would go to logits nothing reads."""
    import torch
    import torch.nn.functional as F

    targets = batch["labels"][:, 1:]
    first = int((targets != -100).any(dim=0).nonzero()[0])
    keep = torch.arange(first, targets.shape[1])
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                   logits_to_keep=keep).logits
    wanted = targets[:, first:]
    nll = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), wanted.reshape(-1),
                          ignore_index=-100, reduction="sum")
    return nll, int((wanted != -100).sum())


def perplexity(model: Any, texts: Sequence[Encoded], pad: int,
               advance: Callable[[], object] = lambda: None) -> tuple[float, int]:
    """(exp of the mean negative log-likelihood per predicted token, over every labelled token of
    `texts`; that token count)."""
    import torch

    total, count = 0.0, 0
    with torch.inference_mode():
        for row in texts:
            nll, n = _nll(model, _collate([row], pad))
            total += float(nll)
            count += n
            advance()
    return math.exp(total / count), count


def model_version(base_model: str, model: Any) -> str:
    """The hub commit the weights came from, else a sha256 over the local directory's files."""
    commit = getattr(getattr(model, "config", None), "_commit_hash", None)
    if commit:
        return f"commit:{commit}"
    root = Path(base_model)
    if not root.is_dir():
        return ""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.suffix in (".json", ".safetensors", ".gguf", ".model", ".txt"):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            with path.open("rb") as f:
                while chunk := f.read(1 << 20):
                    digest.update(chunk)
    return f"sha256:{digest.hexdigest()[:16]}"


def _save(model: Any, out_dir: Path, base_model: str) -> None:
    """adapter_config.json + adapter_model.safetensors, nothing else (no model card, no pickle)."""
    with atomic_directory(out_dir) as tmp:
        model.save_pretrained(str(tmp), safe_serialization=True)
        config_path = tmp / "adapter_config.json"
        config = json.loads(config_path.read_text("utf-8"))
        if config.get("modules_to_save"):
            raise UserError("the adapter would carry full weights (modules_to_save); vLLM refuses it")
        config["base_model_name_or_path"] = base_model
        config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", "utf-8")
        for path in sorted(tmp.rglob("*")):
            if path.is_file() and (path.name not in ADAPTER_FILES or path.suffix in PICKLE_SUFFIXES):
                path.unlink()
