"""From log scores to one posterior: softmax, declared types mixed in by their kinds' shares, and
mass moved to the subclass the module's place names."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence

from remora_review.infer.classes import Catalogue
from remora_review.infer.evidence import (
    BOUND_KINDS,
    JOINED_KINDS,
    LOWER_BOUND_KINDS,
    EvidenceKind,
    Hint,
)
from remora_review.infer.scoring import PROJECT
from remora_review.infer.weights import HINT_WEIGHTS, PLACE_SHARE, TWIN_SHARE


def softmax(scores: Mapping[str, float]) -> dict[str, float]:
    if not scores:
        return {}
    top = max(scores.values())
    exp = {k: math.exp(v - top) for k, v in scores.items()}
    total = sum(exp.values())
    return {k: v / total for k, v in exp.items()}


def with_hints(catalogue: Catalogue, posterior: Mapping[str, float], hints: Sequence[Hint],
               own: Collection[str] = ()) -> dict[str, float]:
    """Mix declared types into the posterior.

    A hint takes its kind's share of the mass for the class it names, or, when the usage rules
    that class out, for its subclasses that fit (a declaration is an upper bound). Hints that
    fit nothing are ignored: the usage outweighs a declaration that contradicts it. A hint
    naming one of the project's `own` classes takes its share for that class, never proposed
    (`field: BaseField` on every sibling method is no fastapi `ModelField`).
    """
    named = [*_joined(catalogue, hints), *((h.kind, PROJECT + h.annotation) for h in hints
                                           if h.annotation in own)]
    shares: dict[tuple[str, bool, bool], float] = {}
    for kind, name in named:
        key = (name, kind in BOUND_KINDS, kind in LOWER_BOUND_KINDS)
        shares[key] = 1.0 - (1.0 - shares.get(key, 0.0)) * (1.0 - HINT_WEIGHTS[kind])
    exact = [(share, spread) for (name, bound, lower), share in shares.items()
             if not (bound or lower) and (spread := _hinted(catalogue, name, posterior))]
    # An upper bound spreads over its subclasses as they weigh with the exact declarations in:
    # a `statement` passed on to `session.execute(statement: Executable)` by a function whose
    # callers pass a `Select` is that `Select`, not any `Executable`. A lower bound asks which
    # base the parameter is declared as, which the class a value has at run time does not
    # answer: it spreads as the usage alone weighs them. A bound that contradicts the exact
    # declarations weighs against them.
    weighed = _spread(posterior, exact)
    bounds = [(share, spread) for (name, bound, lower), share in shares.items()
              if (bound or lower) and (spread := (_below(catalogue, name, posterior) if lower
                                                  else _hinted(catalogue, name, weighed, bound)))]
    return _spread(posterior, [*exact, *bounds])


def _spread(posterior: Mapping[str, float],
            spreads: Sequence[tuple[float, Mapping[str, float]]]) -> dict[str, float]:
    """The posterior with each declaration's share of the mass given to its spread, the shares
    of several taken together as independent claims and split in their proportion."""
    if not spreads:
        return dict(posterior)
    kept = math.prod(1.0 - share for share, _ in spreads)
    total = sum(share for share, _ in spreads)
    out = {k: v * kept for k, v in posterior.items()}
    for share, spread in spreads:
        for name, p in spread.items():
            out[name] = out.get(name, 0.0) + (1.0 - kept) * share / total * p
    return out


def placed(catalogue: Catalogue, posterior: Mapping[str, float], place: str) -> dict[str, float]:
    """Mass moved from each class to its one subclass that fits and is defined in the
    sub-package the module is named for (`PLACE_SHARE`)."""
    if not place or place in catalogue.library_roots:
        return dict(posterior)
    local = catalogue.placed_subclasses(place)
    return _moved(posterior, PLACE_SHARE, lambda name: local.get(name, ()))


def named_for(catalogue: Catalogue, posterior: Mapping[str, float], module: str
              ) -> dict[str, float]:
    """Mass moved from each class to its one base or subclass that fits and comes from the
    library the module's package is named for (`PLACE_SHARE`): `extensions/starlette/` works
    with `Starlette`, `extensions/fastapi/` with its `FastAPI` subclass, where the usage fits
    both and the stripped module imports neither."""
    named = set(module.split(".")[1:-1]) & catalogue.library_roots
    if len(named) != 1:
        return dict(posterior)
    (library,) = named
    related = catalogue.homed_relatives(library)
    return _moved(posterior, PLACE_SHARE, lambda name: related.get(name, ()))


def coloured(catalogue: Catalogue, posterior: Mapping[str, float], is_async: bool
             ) -> dict[str, float]:
    """Mass moved from each class to its asyncio twin where the function's colour is the twin's
    (`TWIN_SHARE`): an `async def` works with `redis.asyncio.Redis`, a plain `def` with
    `redis.Redis`. The twins share every command, so neither the usage nor a declaration made
    for the other twin's code (a sync package generated from an async one) tells them apart."""
    def twin(name: str) -> list[str]:
        other = catalogue.twins.get(name)
        return [other] if other is not None and (other in catalogue.asynchronous) == is_async else []

    return _moved(posterior, TWIN_SHARE, twin)


def _moved(posterior: Mapping[str, float], share: float,
           targets: Callable[[str], Sequence[str]]) -> dict[str, float]:
    """`share` of each class's mass moved to its target, where `targets` gives exactly one that
    the posterior also holds."""
    out = dict(posterior)
    for name, p in posterior.items():
        if p <= 0.0:
            continue
        held = [t for t in targets(name) if posterior.get(t, 0.0) > 0.0]
        if len(held) == 1:
            out[name] -= share * p
            out[held[0]] += share * p
    return out


def _joined(catalogue: Catalogue, hints: Sequence[Hint]) -> list[tuple[EvidenceKind, str]]:
    """(kind, class) of the known hints. Where callers pass several classes, or overriding
    methods declare several, they are joined into their nearest common base, as a type checker
    joins them (MSDDLCompiler, PGDDLCompiler: DDLCompiler)."""
    classes = catalogue.classes
    known = [(h.kind, name) for h in hints if (name := catalogue.known(h.annotation)) is not None]
    for kind in JOINED_KINDS:
        named = {name for k, name in known if k == kind and name in classes}
        if len(named) < 2:
            continue
        common = set.intersection(*({n, *classes[n].info.bases} for n in named))
        joined = max((c for c in common if c in classes),
                     key=lambda c: len(classes[c].info.bases), default=None)
        known = [(k, name) for k, name in known if k != kind]
        if joined is not None:
            known.append((kind, joined))
    return known


def _below(catalogue: Catalogue, name: str, posterior: Mapping[str, float]) -> dict[str, float]:
    """Where a lower bound's share goes: over the class and its bases that fit, as the
    posterior weighs them."""
    info = catalogue.classes.get(name)
    bases = set(info.info.bases) if info is not None else set()
    cone = {c: p for c, p in posterior.items() if c == name or c in bases}
    total = sum(cone.values())
    return {c: p / total for c, p in cone.items()} if total > 0 else {}


def _hinted(catalogue: Catalogue, name: str, posterior: Mapping[str, float], bound: bool = False
            ) -> dict[str, float]:
    """Where a declaration's share goes: to the class it names, or, when the usage rules that
    out or the declaration is only an upper `bound`, over it and its subclasses that fit, as
    the posterior weighs them."""
    if name.startswith(PROJECT) or (name in posterior and not bound):
        return {name: 1.0}
    classes = catalogue.classes
    cone = {c: p for c, p in posterior.items()
            if c == name or (c in classes and name in classes[c].info.bases)}
    total = sum(cone.values())
    return {c: p / total for c, p in cone.items()} if total > 0 else {}
