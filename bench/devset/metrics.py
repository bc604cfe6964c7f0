"""Coverage, precision, top-1 and top-5 of predictions against the gold, and the threshold sweep."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from bench.devset.extract import GoldParam, StrippedFile
from bench.devset.predictor import Prediction


@dataclass(frozen=True)
class Outcome:
    """One gold parameter against the prediction made for it (if any)."""

    project: str
    gold: str
    predicted: bool
    confidence: float  # 0.0 when nothing was predicted
    top1: bool
    top5: bool
    used: bool = True  # the function refers to the parameter (not a stub or an overload)


@dataclass(frozen=True)
class Figures:
    n: int
    covered: int  # predicted with confidence >= threshold
    correct_covered: int
    top1_correct: int
    top5_correct: int

    @property
    def coverage(self) -> float:
        return self.covered / self.n if self.n else 0.0

    @property
    def precision(self) -> float | None:
        return self.correct_covered / self.covered if self.covered else None

    @property
    def top1(self) -> float:
        return self.top1_correct / self.n if self.n else 0.0

    @property
    def top5(self) -> float:
        return self.top5_correct / self.n if self.n else 0.0


@dataclass(frozen=True)
class Operating:
    """The lowest threshold reaching a precision target, and what it covers there."""

    target: float
    threshold: float
    precision: float
    coverage: float


def score(
    project: str,
    gold: Iterable[GoldParam],
    predictions: Sequence[Prediction],
    canonical: Callable[[str], str],
) -> list[Outcome]:
    """Matches predictions to gold by (line, parameter name); answers compare as class keys."""
    by_site: dict[tuple[int, str], Prediction] = {}
    for prediction in predictions:
        by_site.setdefault((prediction.line, prediction.parameter), prediction)
    out = []
    for g in gold:
        p = by_site.get((g.line, g.parameter))
        if p is None or not p.candidates:
            out.append(Outcome(project, g.gold, False, 0.0, False, False, g.used))
            continue
        ranked = [canonical(annotation) for annotation, _ in p.candidates[:5]]
        top1, top5 = ranked[0] == g.gold, g.gold in ranked
        out.append(Outcome(project, g.gold, True, p.confidence, top1, top5, g.used))
    return out


def dump_rows(
    stripped: StrippedFile, outcomes: Sequence[Outcome], predictions: Sequence[Prediction]
) -> list[dict[str, object]]:
    """One file's outcomes (in `score`'s order) as plain rows, with the candidates predicted."""
    by_site = {(p.line, p.parameter): p for p in reversed(predictions)}
    rows = []
    for g, o in zip(stripped.gold, outcomes):
        p = by_site.get((g.line, g.parameter))
        rows.append({
            "project": o.project, "path": g.path, "function": g.function,
            "parameter": g.parameter, "original": g.original, "line": g.line, "gold": g.gold,
            "used": g.used, "confidence": o.confidence, "top1": o.top1, "top5": o.top5,
            "candidates": [list(c) for c in p.candidates[:5]] if p is not None else [],
        })
    return rows


def figures(outcomes: Sequence[Outcome], threshold: float) -> Figures:
    covered = [o for o in outcomes if o.predicted and o.confidence >= threshold]
    return Figures(
        n=len(outcomes),
        covered=len(covered),
        correct_covered=sum(o.top1 for o in covered),
        top1_correct=sum(o.top1 for o in outcomes),
        top5_correct=sum(o.top5 for o in outcomes),
    )


def sweep(outcomes: Sequence[Outcome]) -> list[tuple[float, float, float]]:
    """(threshold, precision, coverage) at every distinct confidence, lowest threshold first."""
    thresholds = sorted({o.confidence for o in outcomes if o.predicted})
    out = []
    for t in thresholds:
        f = figures(outcomes, t)
        if f.precision is not None:
            out.append((t, f.precision, f.coverage))
    return out


def lowest_threshold(outcomes: Sequence[Outcome], target: float) -> Operating | None:
    """The lowest threshold whose precision reaches the target; None when none does."""
    for t, precision, coverage in sweep(outcomes):
        if precision >= target:
            return Operating(target, t, precision, coverage)
    return None
