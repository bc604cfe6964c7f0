"""Declared types as evidence for an unannotated parameter: what the code around it already says.

A value passed on to an annotated parameter (of the library or of the project), a method that
overrides an annotated one, calls in the project that pass an annotated value in, and a return from
a function with an annotated return type. Each gives a class path; the inferer weighs them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from remora_review.api_table import ApiTable, Param
from remora_review.project_facts import Function, ModuleFacts, Parameter, absolute
from remora_review.project_index import ProjectIndex
from remora_review.usage import UsageProfile


@dataclass(frozen=True)
class Hint:
    kind: str  # "flow" | "override" | "overridden" | "caller" | "return"
    annotation: str  # dotted class path as written where it was declared


_KINDS = {"positional_only": "o", "positional_or_keyword": "p", "keyword_only": "k"}


def _library_slots(params: Sequence[Param]) -> Mapping[str, str]:
    """A library signature's slots, read as a project signature (*args, **kwargs take none)."""
    return Function(tuple(Parameter(p.name, _KINDS[p.kind], p.annotation)
                          for p in params if p.kind in _KINDS)).slots()


@dataclass(frozen=True)
class Declarations:
    """Signatures by dotted path, from the project first and then the packs' API tables."""

    project: ProjectIndex
    apis: Sequence[ApiTable]

    def callee_slots(self, callee: str) -> Mapping[str, str] | None:
        found = self.project.function(callee)
        if found is not None:
            return found.slots()
        owner, _, name = self.project.resolve(callee).rpartition(".")
        if self.project.is_class(callee):
            owner, name = self.project.resolve(callee), "__init__"
        if owner and self.project.is_class(owner):
            return self.method_slots(owner, name)
        return self._library(callee)

    def method_slots(self, cls: str, name: str) -> Mapping[str, str] | None:
        found, outside = self.project.method(cls, name)
        if found is not None:
            return found.slots()
        for base in outside:
            slots = self._library_member(base, name)
            if slots is not None:
                return slots
        return None

    def _library(self, dotted: str) -> Mapping[str, str] | None:
        for api in self.apis:
            name = api.canonical(dotted)
            if name is None:
                continue
            if name in api.functions:
                return _library_slots(api.functions[name].params)
            if name in api.classes:
                return self._library_member(name, "__init__")
        return None

    def _library_member(self, cls: str, member: str) -> Mapping[str, str] | None:
        for api in self.apis:
            name = api.canonical(cls)
            info = api.classes.get(name) if name else None
            if info is not None and member in info.members:
                return _library_slots(info.members[member].params)
        return None


def _callee(name: str, facts: ModuleFacts, is_package: bool) -> str:
    """A callee as a profile names it (`f`, `C.m`, `..util.f`, `pkg.mod.f`) made absolute."""
    if name.startswith("."):
        return absolute(name, facts.module, is_package)
    head = name.split(".")[0]
    if head in facts.functions or head in facts.classes:
        return f"{facts.module}.{name}"
    return name


def hints(
    declarations: Declarations,
    facts: ModuleFacts,
    function: str,
    parameter: str,
    profile: UsageProfile,
    is_package: bool = False,
) -> list[Hint]:
    """Every declared type that bears on `parameter` of `function` (its qualified name in the module)."""
    out = [Hint("flow", a) for a in _flows(declarations, facts, profile, is_package)]
    signature = facts.functions.get(function)
    if signature is None:
        return out
    slots = signature.slot_of(parameter)
    owner, _, method = function.rpartition(".")
    if owner in facts.classes and "<locals>" not in function:
        out += [Hint("override", a) for a in _overridden(declarations, facts, owner, method, slots)]
        out += [Hint("overridden", a) for f in declarations.project.overriding(
                    f"{facts.module}.{owner}", method) if (a := _in_slots(f.slots(), slots))]
    for target in _call_targets(facts, function):
        passed = declarations.project.arguments(target)
        out += [Hint("caller", a) for slot in slots for a in passed.get(slot, ())]
    if profile.returned and signature.returns:
        out.append(Hint("return", signature.returns))
    return out


def _call_targets(facts: ModuleFacts, function: str) -> list[str]:
    """The dotted names a call to `function` goes by: its own, and its class's for `__init__`."""
    owner, _, method = function.rpartition(".")
    targets = [f"{facts.module}.{function}"]
    if method == "__init__" and owner in facts.classes:
        targets.append(f"{facts.module}.{owner}")
    return targets


def passes(facts: ModuleFacts, sites: Sequence[tuple[str, str, UsageProfile]],
           is_package: bool = False) -> list[tuple[int, int]]:
    """(i, j) where the parameter of site i is passed on to the parameter of site j, both in this
    module. Sites are (function qualified name, parameter, profile)."""
    by_slot: dict[tuple[str, str], int] = {}
    for j, (function, parameter, _) in enumerate(sites):
        signature = facts.functions.get(function)
        if signature is None:
            continue
        for target in _call_targets(facts, function):
            for slot in signature.slot_of(parameter):
                by_slot[(target, slot)] = j
    out = []
    for i, (_, _, profile) in enumerate(sites):
        for callee, slot in profile.passed_to:
            to = by_slot.get((_callee(callee, facts, is_package), slot))
            if to is not None and to != i:
                out.append((i, to))
    return out


def _flows(declarations: Declarations, facts: ModuleFacts, profile: UsageProfile,
           is_package: bool) -> Iterator[str]:
    for callee, slot in profile.passed_to:
        slots = declarations.callee_slots(_callee(callee, facts, is_package))
        if slots and slot in slots:
            yield slots[slot]


def _overridden(declarations: Declarations, facts: ModuleFacts, owner: str, method: str,
                slots: Sequence[str]) -> Iterator[str]:
    for base in facts.classes[owner]:
        base_slots = declarations.method_slots(declarations.project.resolve(base), method)
        if base_slots and (annotation := _in_slots(base_slots, slots)):
            yield annotation


def _in_slots(declared: Mapping[str, str], slots: Sequence[str]) -> str | None:
    """The annotation another signature gives the parameter at these slots (position first)."""
    return next((declared[slot] for slot in slots if slot in declared), None)
