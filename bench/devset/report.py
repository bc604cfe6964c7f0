"""Plain-text tables of the dev set and of each predictor's figures, and their JSON form."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from bench.devset.dataset import ProjectSet
from bench.devset.extract import NEGATIVE
from bench.devset.metrics import Outcome, figures, lowest_threshold, sweep

TARGETS = {"kept": 0.97, "blind": 0.95}
CURVE = (0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99)


def _pct(x: float | None) -> str:
    return "     -" if x is None else f"{100 * x:5.1f}%"


def dataset_table(sets: Sequence[ProjectSet]) -> list[str]:
    lines = [
        f"{'project':<20} {'version':<9} {'files':>6} {'w/ gold':>7} {'params':>6} "
        f"{'unused':>6} {'no-imp':>6} {'skipped':>7}  top gold classes"
    ]
    skipped: Counter[str] = Counter()
    for ps in sets:
        skipped.update(ps.skipped)
        golds = Counter(g.gold for f in ps.kept for g in f.gold)
        top = ", ".join(f"{k.rsplit('.', 1)[-1]} {n}" for k, n in golds.most_common(3))
        lines.append(
            f"{ps.project.name:<20} {ps.project.version:<9} {ps.files_scanned:>6} {len(ps.kept):>7} "
            f"{ps.size:>6} {ps.unused:>6} {ps.orphaned:>6} {sum(ps.skipped.values()):>7}  {top}"
        )
    total = sum(ps.size for ps in sets)
    classes = len({g.gold for ps in sets for f in ps.kept for g in f.gold})
    lines.append(
        f"{'total':<20} {'':<9} {sum(p.files_scanned for p in sets):>6} "
        f"{sum(len(p.kept) for p in sets):>7} {total:>6} {sum(p.unused for p in sets):>6} "
        f"{sum(p.orphaned for p in sets):>6} "
        f"{sum(skipped.values()):>7}  {classes} distinct classes"
    )
    lines.append(
        "unused: the function never refers to the parameter (overloads, stubs); no-imp: its stripped "
        "file imports none of the four libraries any more (a pack activates only through the "
        "project modules it imports)"
    )
    if skipped:
        reasons = ", ".join(f"{reason}: {n}" for reason, n in skipped.most_common())
        lines.append(f"left out (library-typed, but not a plain class annotation): {reasons}")
    unparsed = sum(p.files_unparsed for p in sets)
    if unparsed:
        lines.append(f"files libcst could not parse: {unparsed}")
    return lines


def figures_table(
    label: str, mode: str, outcomes: Sequence[Outcome], threshold: float, errors: int
) -> list[str]:
    lines = [f"== {label} | names {mode} | threshold {threshold:.2f} =="]
    lines.append(f"{'project':<20} {'n':>5} {'coverage':>9} {'precision':>9} {'top-1':>7} {'top-5':>7}")
    projects = list(dict.fromkeys(o.project for o in outcomes))
    for name in [*projects, "overall", "overall, used"]:
        if name == "overall":
            rows = list(outcomes)
        elif name == "overall, used":  # parameters their function refers to
            rows = [o for o in outcomes if o.used]
        else:
            rows = [o for o in outcomes if o.project == name]
        f = figures(rows, threshold)
        lines.append(
            f"{name:<20} {f.n:>5} {_pct(f.coverage):>9} {_pct(f.precision):>9} "
            f"{_pct(f.top1):>7} {_pct(f.top5):>7}"
        )
    target = TARGETS[mode]
    op = lowest_threshold(outcomes, target)
    if op is None:
        lines.append(f"precision >= {target:.2f}: never reached")
    else:
        lines.append(
            f"precision >= {target:.2f}: lowest threshold {op.threshold:.3f}, "
            f"coverage {_pct(op.coverage).strip()} (precision {_pct(op.precision).strip()})"
        )
    curve = []
    for t in CURVE:
        f = figures(outcomes, t)
        curve.append(f"{t:.2f}: {_pct(f.precision).strip()}/{_pct(f.coverage).strip()}")
    lines.append("precision/coverage by threshold  " + "  ".join(curve))
    if errors:
        lines.append(f"files the predictor failed on: {errors}")
    return lines


def result_json(
    label: str, mode: str, outcomes: Sequence[Outcome], threshold: float, errors: int
) -> dict[str, Any]:
    def block(rows: Sequence[Outcome]) -> Mapping[str, Any]:
        f = figures(rows, threshold)
        return {"n": f.n, "coverage": f.coverage, "precision": f.precision, "top1": f.top1,
                "top5": f.top5}

    projects = list(dict.fromkeys(o.project for o in outcomes))
    op = lowest_threshold(outcomes, TARGETS[mode])
    return {
        "predictor": label,
        "mode": mode,
        "threshold": threshold,
        "overall": block(outcomes),
        "overall_used": block([o for o in outcomes if o.used]),
        "projects": {p: block([o for o in outcomes if o.project == p]) for p in projects},
        "target_precision": TARGETS[mode],
        "chosen": None if op is None else {"threshold": op.threshold, "precision": op.precision,
                                           "coverage": op.coverage},
        "sweep": [{"threshold": t, "precision": p, "coverage": c} for t, p, c in sweep(outcomes)],
        "errors": errors,
    }


_BUILTIN_HEADS = frozenset({
    "str", "int", "float", "bool", "bytes", "dict", "list", "set", "tuple", "frozenset", "type",
    "Optional", "Union", "Callable", "Sequence", "Mapping", "Iterable", "Iterator", "Dict", "List",
    "Set", "Tuple", "Type", "Literal", "Awaitable", "Coroutine", "AsyncIterator", "Collection",
})


def _negative_kind(gold: str) -> str:
    head = gold[len(NEGATIVE):].split("[", 1)[0].split("|", 1)[0].strip().rsplit(".", 1)[-1]
    return "builtin or typing" if head in _BUILTIN_HEADS else "other class"


def _negative_figures(outcomes: Sequence[Outcome], threshold: float) -> dict[str, Any]:
    positives = [o for o in outcomes if not o.gold.startswith(NEGATIVE)]
    negatives = [o for o in outcomes if o.gold.startswith(NEGATIVE)]
    f = figures(positives, threshold)
    false = [o for o in negatives if o.predicted and o.confidence >= threshold]
    findings = f.covered + len(false)
    return {
        "library": {"n": f.n, "coverage": f.coverage, "precision": f.precision},
        "others": len(negatives),
        "false_findings": len(false),
        "false_rate": len(false) / len(negatives) if negatives else 0.0,
        "precision_all": f.correct_covered / findings if findings else None,
        "by_kind": dict(Counter(_negative_kind(o.gold) for o in false)),
        "others_by_kind": dict(Counter(_negative_kind(o.gold) for o in negatives)),
    }


def negatives_table(label: str, outcomes: Sequence[Outcome], threshold: float) -> list[str]:
    """False positives: the names-kept files with every other plain annotation stripped as well."""
    g = _negative_figures(outcomes, threshold)
    kinds = ", ".join(f"{k} {g['by_kind'].get(k, 0)} of {n}"
                      for k, n in sorted(g["others_by_kind"].items()))
    lines = [
        f"== {label} | names kept, other annotations stripped too | threshold {threshold:.2f} ==",
        f"library-typed parameters: {g['library']['n']}, coverage "
        f"{_pct(g['library']['coverage']).strip()}, precision "
        f"{_pct(g['library']['precision']).strip()}",
        f"other-typed parameters (str, project classes, ...): {g['others']}, given a finding: "
        f"{g['false_findings']} ({_pct(g['false_rate']).strip()}; {kinds})",
        f"precision of all findings: {_pct(g['precision_all']).strip()}",
    ]
    curve = []
    for t in CURVE[2:]:
        at = _negative_figures(outcomes, t)
        curve.append(f"{t:.2f}: {_pct(at['precision_all']).strip()}/{at['false_findings']}")
    lines.append("precision of all findings / false findings by threshold  " + "  ".join(curve))
    return lines


def negatives_json(label: str, outcomes: Sequence[Outcome], threshold: float) -> dict[str, Any]:
    return {"predictor": label, "mode": "negatives", "threshold": threshold,
            **_negative_figures(outcomes, threshold),
            "curve": {f"{t:.2f}": _negative_figures(outcomes, t) for t in CURVE}}
