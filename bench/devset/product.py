"""The product's type inference as Predictors: one per signal set, and per pack flavour that is built."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.devset.predictor import Prediction, Predictor
from remora_review.infer.signals import Signals

PACKS: tuple[str, ...] = ("sqlalchemy", "httpx", "fastapi")
# The ablations, named by what they keep.
SIGNAL_SETS: tuple[tuple[str, Signals], ...] = (
    ("structure", Signals(structure=True, embedding=False, name=False, flow=False)),
    ("embedding", Signals(structure=False, embedding=True, name=False, flow=False)),
    ("combined", Signals()),
)


@dataclass(frozen=True)
class ProductConfig:
    label: str  # e.g. "product structure", "product combined ft"
    signals: Signals
    fine_tuned: bool


def pack_files(packs_dir: Path, fine_tuned: bool, names: Sequence[str] = PACKS) -> list[Path]:
    suffix = "-ft" if fine_tuned else ""
    return [packs_dir / f"{name}{suffix}.pack" for name in names]


def configs(packs_dir: Path, names: Sequence[str] = PACKS) -> list[ProductConfig]:
    """Every configuration whose packs exist: plain packs, then fine-tuned ones when built."""
    out = []
    for fine_tuned in (False, True):
        if not all(p.is_file() for p in pack_files(packs_dir, fine_tuned, names)):
            continue
        for label, signals in SIGNAL_SETS:
            suffix = " ft" if fine_tuned else ""
            out.append(ProductConfig(f"product {label}{suffix}", signals, fine_tuned))
    return out


@dataclass(frozen=True)
class Published:
    """A dev-set project as published: its index and its files' texts by repository path."""

    index: Any  # remora_review.project.index.ProjectIndex
    texts: Mapping[str, str]


def _adapt(predict_source: Callable[..., Sequence[Any]],
           inferer_for: Callable[[tuple[str, ...]], Any], triggers: Sequence[Any],
           projects: Mapping[str, Any]) -> Predictor:
    """Like the hook: only the packs a file activates by its imports take part, and the rest of
    the project is seen as published (annotated): only the file under test is stripped."""
    from remora_review.activation import activations

    def predict(source: str, path: str, project: str) -> list[Prediction]:
        published = projects.get(project)
        texts = published.texts if published is not None else {}
        # The hook's activation, follow-imports included, over the project as published.
        (active,) = activations([(path, source)], triggers, (),
                                lambda paths: {p: texts[p] for p in paths if p in texts})
        if not active:
            return []
        inferer = inferer_for(active)
        context = published.index if published is not None else None
        return [
            Prediction(
                p.function,
                p.parameter,
                p.line,
                tuple((c.annotation, float(c.score)) for c in p.candidates),
                float(p.confidence),
            )
            for p in predict_source(source, inferer, path, context)
        ]

    return predict


def availability(packs_dir: Path, names: Sequence[str] = PACKS) -> str | None:
    """Why the product cannot be measured yet, or None when it can."""
    try:
        from remora_review.infer import inferer, rounds
    except ImportError:
        return "product: not available yet (remora_review.infer does not import)"
    if not (hasattr(rounds, "predict_source") and hasattr(inferer, "build_inferer")):
        return "product: not available yet (no predict_source / build_inferer)"
    missing = [p for p in pack_files(packs_dir, False, names) if not p.is_file()]
    if missing:
        names = ", ".join(str(p) for p in missing)
        return f"product: packs not built yet ({names} missing)"
    return None


def predictors(
    packs_dir: Path,
    selected: Sequence[ProductConfig],
    warn: Callable[[str], None],
    names: Sequence[str] = PACKS,
    projects: Mapping[str, Any] | None = None,
) -> list[tuple[str, Predictor]]:
    """Predictors for the selected configurations; packs and retrieval are loaded once per flavour."""
    from remora_review.activation import PackTrigger
    from remora_review.config import Settings
    from remora_review.infer.inferer import build_inferer
    from remora_review.infer.rounds import predict_source
    from remora_review.packs.loader import load_pack
    from remora_review.retrieval.runtime import PackRetrieval

    # No warm server process for a benchmark: the model loads in this process, once.
    settings = Settings.model_validate({"embedding": {"server": False}})
    out = []
    for fine_tuned in (False, True):
        chosen = [c for c in selected if c.fine_tuned == fine_tuned]
        if not chosen:
            continue
        packs = [load_pack(p) for p in pack_files(packs_dir, fine_tuned, names)]
        retrieval = PackRetrieval(packs, settings, os.environ, warn)
        triggers = [PackTrigger(p.name, p.kind, p.activate_on) for p in packs]
        for config in chosen:
            out.append((config.label, _adapt(predict_source,
                                             _inferers(packs, retrieval, config.signals,
                                                       build_inferer), triggers,
                                             projects or {})))
    return out


def _inferers(packs: Sequence[Any], retrieval: Any, signals: Signals,
              build: Callable[..., Any]) -> Callable[[tuple[str, ...]], Any]:
    cache: dict[tuple[str, ...], Any] = {}

    def inferer_for(active: tuple[str, ...]) -> Any:
        if active not in cache:
            cache[active] = build([p for p in packs if p.name in active], retrieval, signals)
        return cache[active]

    return inferer_for
