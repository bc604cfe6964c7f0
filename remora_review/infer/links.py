"""Links between a module's unannotated parameters that hold the same value: one passed on to the
other, or a method's and its override's at the same position. Uses travel along them both ways."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from remora_review.infer.evidence import EvidenceKind
from remora_review.infer.profile import UsageProfile
from remora_review.infer.weights import HOPS
from remora_review.project.facts import ModuleFacts
from remora_review.pysource.imports import absolute

# A module's sites as links and declarations read them: (function qualified name, parameter, profile).
Site = tuple[str, str, UsageProfile]


@dataclass(frozen=True)
class Link:
    """Two unannotated parameters of one module that hold the same value: site `source` is passed
    on to site `target`, or its method overrides the target's (same position). A sure prediction
    for one is a declaration for the other, of the kind named for that direction."""

    source: int
    target: int
    to_target: EvidenceKind  # the kind of declaration `target` takes from a sure `source`
    to_source: EvidenceKind  # the kind of declaration `source` takes from a sure `target`
    shared: bool  # both take each other's uses (overrides), else only source takes target's


def links(facts: ModuleFacts, sites: Sequence[Site], is_package: bool = False) -> list[Link]:
    """Every link between the sites of a module (their own uses, before the links join them:
    a value only passed on is relayed, bounded by the class its target is sure of)."""
    overrides = list(_overrides(facts, sites))
    out = [Link(i, j, EvidenceKind.CALLER,
                EvidenceKind.RELAYED if relays(facts, sites[i][0], sites[i][2])
                else EvidenceKind.FLOW, False)
           for i, j in _dispatched(_passes(facts, sites, is_package), overrides)]
    out += [Link(i, j, EvidenceKind.OVERRIDDEN, EvidenceKind.OVERRIDE, True) for i, j in overrides]
    paired = {frozenset(pair) for pair in overrides}
    out += [Link(i, j, EvidenceKind.SIBLING, EvidenceKind.SIBLING, False)
            for i, j in _siblings(facts, sites) if frozenset((i, j)) not in paired]
    return out


def with_linked_uses(sites: Sequence[Site], linked: Sequence[Link]) -> list[Site]:
    """A value passed on to another unannotated parameter of this module must also support what
    that function does with it: its uses join the caller's profile (along chains, a few hops).
    A method and its override in the module take the same values: each takes the other's uses."""
    pairs = [(k.source, k.target) for k in linked]
    pairs += [(k.target, k.source) for k in linked if k.shared]
    out = list(sites)
    for _ in range(HOPS):
        grown = False
        for i, j in pairs:
            function, parameter, profile = out[i]
            joined = profile.with_uses_of(out[j][2])
            if joined != profile:
                out[i] = (function, parameter, joined)
                grown = True
        if not grown:
            break
    return out


def relays(facts: ModuleFacts, function: str, profile: UsageProfile) -> bool:
    """Whether the parameter's value is relayed: only passed on, so that an annotated parameter
    it reaches bounds its class (EvidenceKind.RELAYED). Not in a function a library calls
    (`@compiles`): what the library passes is the class the value has, and the helper's
    annotation says how generally the project writes it, which the function's own annotation
    may follow (alembic's `compiler: SQLCompiler` for an `MSSQLCompiler`): there it stays a
    flow that can contradict, not a bound that agrees."""
    return profile.only_passed_on and function not in facts.compiled


def callee_path(name: str, facts: ModuleFacts, is_package: bool) -> str:
    """A callee as a profile names it (`f`, `C.m`, `..util.f`, `pkg.mod.f`) made absolute."""
    if name.startswith("."):
        return absolute(name, facts.module, is_package)
    head = name.split(".")[0]
    if head in facts.functions or head in facts.classes:
        return f"{facts.module}.{name}"
    return name


def call_targets(facts: ModuleFacts, function: str) -> list[str]:
    """The dotted names a call to `function` goes by: its own, and its class's for `__init__`."""
    owner, _, method = function.rpartition(".")
    targets = [f"{facts.module}.{function}"]
    if method == "__init__" and owner in facts.classes:
        targets.append(f"{facts.module}.{owner}")
    return targets


def _overrides(facts: ModuleFacts, sites: Sequence[Site]) -> Iterator[tuple[int, int]]:
    """(i, j) where site i's method overrides site j's method of a base class in this module,
    at the same position: by substitution both parameters take the same values."""
    at: dict[tuple[str, str], int] = {}
    for j, (function, parameter, _) in enumerate(sites):
        signature = facts.functions.get(function)
        position = next((s for s in signature.slot_of(parameter) if s.isdigit()), None) \
            if signature is not None else None
        if position is not None:
            at[(function, position)] = j
    prefix = f"{facts.module}."
    for (function, position), i in at.items():
        owner, _, method = function.rpartition(".")
        if method in CONSTRUCTORS:
            continue
        seen: set[str] = set()
        stack = list(facts.classes.get(owner, ())) if "<locals>" not in function else []
        while stack:
            base = stack.pop()
            local = base[len(prefix):] if base.startswith(prefix) else None
            if local is None or local in seen or local not in facts.classes:
                continue
            seen.add(local)
            base_site = at.get((f"{local}.{method}", position))
            if base_site is not None:
                yield i, base_site
            else:
                stack.extend(facts.classes[local])


# Constructors: a subclass's takes what it needs, in its own order (`ColumnType(name,
# column_name, type_)` beside its base's `AlterColumn(name, column_name, schema)`); nothing calls
# them through the base, so they override nothing by position (type checkers exempt them too).
CONSTRUCTORS = frozenset({"__init__", "__new__"})
# Method names too common across unrelated classes for their signatures to say anything.
GENERIC_METHODS = frozenset({"__init__", "__new__", "__call__", "__eq__", "__hash__", "__repr__",
                             "__str__", "__enter__", "__exit__", "__getitem__", "__setitem__",
                             "__contains__", "__iter__", "get", "set", "update", "run", "process"})


def _siblings(facts: ModuleFacts, sites: Sequence[Site]) -> Iterator[tuple[int, int]]:
    """(i, j), i < j, where sites i and j are keyword-only parameters of the same keyword in
    same-named methods of two classes of this module: a protocol and the class that follows it
    (`get_one(self, *filters, statement=None)`). A sure prediction for one is a sibling
    declaration for the other. Not by position: unrelated classes put unrelated values first
    (respx's patterns' `parse(request)` beside its own `Response` parsers), and one wrong sure
    answer would travel to them all."""
    by_place: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for j, (function, parameter, _) in enumerate(sites):
        owner, _, method = function.rpartition(".")
        signature = facts.functions.get(function)
        if (signature is None or owner not in facts.classes or "<locals>" in function
                or method in GENERIC_METHODS):
            continue
        if any(p.name == parameter and p.kind == "k" for p in signature.params):
            by_place.setdefault((method, parameter), []).append((owner, j))
    for group in by_place.values():
        for k, (owner, i) in enumerate(group):
            yield from ((i, j) for other, j in group[k + 1:] if other != owner)


def _dispatched(passes: Sequence[tuple[int, int]], overrides: Sequence[tuple[int, int]]
                ) -> list[tuple[int, int]]:
    """The passes, and for each one to a method, the same pass to every override of it in the
    module (at any depth): a call through the base (`widget.render(request)` with `widget:
    BaseWidget`) runs whichever override the value's class defines."""
    below: dict[int, list[int]] = {}
    for i, j in overrides:
        below.setdefault(j, []).append(i)
    out = list(passes)
    for caller, callee in passes:
        stack, seen = list(below.get(callee, ())), {callee}
        while stack:
            site = stack.pop()
            if site in seen:
                continue
            seen.add(site)
            if site != caller:
                out.append((caller, site))
            stack.extend(below.get(site, ()))
    return out


def _passes(facts: ModuleFacts, sites: Sequence[Site], is_package: bool = False
            ) -> list[tuple[int, int]]:
    """(i, j) where the parameter of site i is passed on to the parameter of site j, both in this
    module."""
    by_slot: dict[tuple[str, str], int] = {}
    for j, (function, parameter, _) in enumerate(sites):
        signature = facts.functions.get(function)
        if signature is None:
            continue
        for target in call_targets(facts, function):
            for slot in signature.slot_of(parameter):
                by_slot[(target, slot)] = j
    out = []
    for i, (_, _, profile) in enumerate(sites):
        for callee, slot in profile.passed_to:
            to = by_slot.get((callee_path(callee, facts, is_package), slot))
            if to is not None and to != i:
                out.append((i, to))
    return out
