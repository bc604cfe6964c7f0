"""Fine-tune the embedding model on (mined usage, class API text) pairs with in-batch negatives."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from remora_review.atomic import atomic_directory
from remora_review.errors import UserError
from remora_review.packs.loader import PICKLE_SUFFIXES
from remora_review.retrieval.base import Document

# What sentence-transformers may write that a pack must not carry: pickles and a model card
# whose text varies between runs.
_DROPPED_NAMES = frozenset({"README.md", "training_args.json"})


@dataclass(frozen=True)
class FineTuneConfig:
    """Small on purpose: one pass over at most 512 pairs, 32 steps of 16. On sqlalchemy's 972
    usages, 2000 pairs at 128 tokens took 67 steps and 10.5 min on a busy 2-core machine."""

    epochs: int = 1
    batch_size: int = 16
    learning_rate: float = 3e-5
    max_pairs: int = 512
    max_seq_length: int = 80  # training only; the saved model keeps its own limit
    seed: int = 20250101


def training_pairs(documents: Sequence[Document], max_pairs: int, seed: int) -> list[tuple[str, str]]:
    """(usage text, API text of its class) for every usage document whose class has an API entry."""
    api = {d.label: d.text for d in documents if d.kind == "api" and d.label}
    pairs = sorted(
        {(d.text, api[d.label]) for d in documents if d.kind == "usage" and d.label in api}
    )
    if len(pairs) > max_pairs:
        pairs = sorted(random.Random(seed).sample(pairs, max_pairs))
    return pairs


def batches(pairs: Sequence[tuple[str, str]], size: int, seed: int) -> list[list[tuple[str, str]]]:
    """Shuffled batches in which no positive repeats: a repeat would be a false in-batch negative."""
    order = list(pairs)
    random.Random(seed).shuffle(order)
    out: list[list[tuple[str, str]]] = []
    pending = order
    while pending:
        batch: list[tuple[str, str]] = []
        seen: set[str] = set()
        rest: list[tuple[str, str]] = []
        for pair in pending:
            if len(batch) < size and pair[1] not in seen:
                batch.append(pair)
                seen.add(pair[1])
            else:
                rest.append(pair)
        if len(batch) < 2:
            break  # one class left: nothing to contrast it with
        out.append(batch)
        pending = rest
    return out


def fine_tune(
    model_path: str,
    pairs: Sequence[tuple[str, str]],
    out_dir: Path,
    *,
    query_prompt: str = "",
    document_prompt: str = "",
    config: FineTuneConfig = FineTuneConfig(),
    on_step: Callable[[], None] | None = None,
) -> Path:
    """Train with MultipleNegativesRankingLoss and save safetensors weights to `out_dir`."""
    try:
        import torch
        from sentence_transformers import SentenceTransformer
        from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    except ImportError:
        raise UserError(
            "--fine-tune-embeddings needs sentence-transformers: pip install 'remora-review[train]'"
        ) from None
    plan = [b for _ in range(config.epochs) for b in batches(pairs, config.batch_size, config.seed)]
    if not plan:
        raise UserError("--fine-tune-embeddings: too few mined usages of distinct classes to train on")
    random.seed(config.seed)
    torch.manual_seed(config.seed)
    model = SentenceTransformer(model_path, device="cpu")
    inference_length = model.max_seq_length
    model.max_seq_length = min(inference_length or config.max_seq_length, config.max_seq_length)
    loss = MultipleNegativesRankingLoss(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate)
    model.train()
    for batch in plan:
        anchors = model.preprocess([a for a, _ in batch], prompt=query_prompt or None)
        positives = model.preprocess([p for _, p in batch], prompt=document_prompt or None)
        value = loss([anchors, positives], None)
        value.backward()
        optimizer.step()
        optimizer.zero_grad()
        if on_step is not None:
            on_step()
    model.eval()
    model.max_seq_length = inference_length  # training truncates harder than inference needs
    return _save(model, out_dir)


def steps(pairs: Sequence[tuple[str, str]], config: FineTuneConfig) -> int:
    return config.epochs * len(batches(pairs, config.batch_size, config.seed))


def _save(model: object, out_dir: Path) -> Path:
    with atomic_directory(out_dir) as tmp:
        model.save(str(tmp), create_model_card=False, safe_serialization=True)  # type: ignore[attr-defined]
        for path in sorted(tmp.rglob("*")):
            if path.is_file() and (
                path.suffix.lower() in PICKLE_SUFFIXES or path.name in _DROPPED_NAMES
            ):
                path.unlink()
    return out_dir
