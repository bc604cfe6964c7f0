"""Declared types as evidence for an unannotated parameter: what the code around it already says.

A value passed on to an annotated parameter (of the library or of the project), a method that
overrides an annotated one, calls in the project that pass an annotated value in, and a return from
a function with an annotated return type. Each gives a class path; the inferer weighs them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from remora_review.api_table import ApiTable, Param
from remora_review.infer.evidence import EvidenceKind, Hint
from remora_review.infer.links import (
    CONSTRUCTORS,
    GENERIC_METHODS,
    call_targets,
    callee_path,
    relays,
)
from remora_review.infer.profile import UsageProfile
from remora_review.infer.weights import HABIT_AGREE, HABIT_SEEN, NAME_AGREE, NAME_SEEN
from remora_review.project.facts import (
    BY_NAME,
    Function,
    ModuleFacts,
    Parameter,
    attribute_type,
)
from remora_review.project.index import ProjectIndex, on_value
from remora_review.project.injected import COMPILERS, DIALECT_PACKAGES

_KINDS = {"positional_only": "o", "positional_or_keyword": "p", "keyword_only": "k"}
# Members of the builtin types: a call of one by name may be on a builtin value.
_BUILTIN_MEMBERS = frozenset(m for t in (dict, list, str, set, tuple, bytes, int, float)
                             for m in dir(t))
_EVENTS = "sqlalchemy.event.Events"  # the base of SQLAlchemy's event classes, as the packs name it


def _library_slots(params: Sequence[Param]) -> Mapping[str, str]:
    """A library signature's slots, read as a project signature (*args, **kwargs take none)."""
    return Function(tuple(Parameter(p.name, _KINDS[p.kind], p.annotation)
                          for p in params if p.kind in _KINDS)).slots()


@dataclass(frozen=True)
class Declarations:
    """Signatures by dotted path, from the project first and then the packs' API tables."""

    project: ProjectIndex
    apis: Sequence[ApiTable]

    def callee_slots(self, callee: str) -> tuple[Mapping[str, str], bool] | None:
        """The callee's annotated slots, and whether the project declares them (not a library).
        A method of a returned value (`find_view().render`) is looked up on its class."""
        through = on_value(callee, self.value_type)
        if through is None:
            return None
        callee = through
        found = self.project.function(callee)
        if found is not None:
            return found.slots(), True
        owner, _, name = self.project.resolve(callee).rpartition(".")
        if self.project.is_class(callee):
            owner, name = self.project.resolve(callee), "__init__"
        if owner and self.project.is_class(owner):
            found, outside = self.project.method(owner, name)
            if found is not None:
                return found.slots(), True
            slots = self._outside_member(outside, name)
            return (slots, False) if slots is not None else None
        slots = self._library(callee)
        return (slots, False) if slots is not None else None

    def by_name(self, method: str) -> bool:
        """Whether calls of `method` on values of unknown class (`BY_NAME`) reach the project's
        definitions of it: one of its class hierarchies defines it, and no library class of the
        packs nor a builtin has a member of that name (`session.execute(stmt)` on an untyped
        `session` is no call of the project's `Repository.execute`)."""
        return (method not in GENERIC_METHODS and not method.startswith("__")
                and method not in _BUILTIN_MEMBERS
                and not any(method in api.member_names for api in self.apis)
                and self.project.hierarchy_root(method) is not None)

    def method_slots(self, cls: str, name: str) -> Mapping[str, str] | None:
        found, outside = self.project.method(cls, name)
        return found.slots() if found is not None else self._outside_member(outside, name)

    def _outside_member(self, bases: Sequence[str], name: str) -> Mapping[str, str] | None:
        for base in bases:
            slots = self._library_member(base, name)
            if slots is not None:
                return slots
        return None

    def value_type(self, value: str) -> str | None:
        """What a call returns (`f()`), through the project, else the library: a class is its
        instance, a function or method its return annotation."""
        found = self.project.value_type(value)
        if found is not None or not value.endswith("()"):
            return found
        called = value[:-2]
        if "()." in called:  # `create_engine().connect()`: a method of the library value's class
            head, _, member = called.rpartition("().")
            owner = self.value_type(f"{head}()")
            called = f"{owner}.{member}" if owner is not None else called
        for api in self.apis:
            name = api.canonical(called)
            if name is not None and name in api.classes:
                return name
            if name is not None and name in api.functions:
                return api.functions[name].returns
            owner, _, member = called.rpartition(".")
            info = api.classes.get(api.canonical(owner) or "") if owner else None
            if info is not None and member in info.members:
                return info.members[member].returns
        return None

    def field_type(self, cls: str, name: str) -> str | None:
        """The class a project class (or a base of it in the project) annotates an attribute
        with at class level (`statement: Select[...]`), else the class of what its methods store
        there (`self.statement = select(model)`)."""
        stack, seen = [cls], set[str]()
        while stack and len(seen) < 64:
            current = self.project.resolve(stack.pop(0))
            if current in seen:
                continue
            seen.add(current)
            module, _, local = current.rpartition(".")
            facts = self.project.modules.get(module)
            if facts is None:
                continue  # a nested class or one outside the project
            found = attribute_type(facts.fields, facts.stored, local, name)
            if found is not None and found.endswith("()"):
                found = self.value_type(found)
            if found is not None:
                return found
            stack.extend(self.project.bases(current))
        return None

    def compiler_for(self, construct: str, dialect: str | None) -> str | None:
        """The compiler SQLAlchemy hands a `@compiles(construct, dialect)` function: the one the
        construct's root is compiled by; for a DDL construct, the dialect's own where its package
        defines exactly one (through the packs' API tables). A SQL element's function is given
        the dialect's SQL compiler too, but is written against (and annotated with) the generic
        one: on the dev set 5 of 7 such functions were, where 25 of 27 DDL ones named the
        dialect's DDL compiler."""
        lineage = self._lineage(construct)
        compiler = next((c for root, c in COMPILERS if root in lineage), None)
        if compiler is None or dialect is None or compiler != COMPILERS[0][1]:
            return compiler
        prefix = f"sqlalchemy.dialects.{DIALECT_PACKAGES.get(dialect, dialect)}.base."
        for api in self.apis:
            found = {name for name, info in api.classes.items()
                     if name.startswith(prefix) and compiler in info.bases}
            # the dialect's compiler, not its subclasses (MSSQLStrictCompiler)
            found = {name for name in found if not found & set(api.classes[name].bases)}
            if len(found) == 1:
                return found.pop()
        return compiler

    def event_slots(self, event: str) -> Mapping[str, str] | None:
        """What SQLAlchemy passes a listener of `event`: the slots of the method of that name
        on the library's `Events` classes (`SessionEvents.before_flush(session, flush_context,
        instances)`), where those that have one agree."""
        found = [_library_slots(info.members[event].params) for api in self.apis
                 for info in api.classes.values()
                 if _EVENTS in info.bases and event in info.members]
        return found[0] if found and all(f == found[0] for f in found) else None

    def _lineage(self, cls: str) -> set[str]:
        """A class and every base, through the project's classes to the packs' canonical names."""
        out: set[str] = set()
        stack, seen = [cls], set[str]()
        while stack and len(seen) < 64:
            current = self.project.resolve(stack.pop())
            if current in seen:
                continue
            seen.add(current)
            if self.project.is_class(current):
                stack.extend(self.project.bases(current))
                continue
            for api in self.apis:
                name = api.canonical(current)
                if name is not None and name in api.classes:
                    out.update((name, *api.classes[name].bases))
        return out

    def _library(self, dotted: str) -> Mapping[str, str] | None:
        """A library function, a class (its constructor) or a method of a class (`conn.execute`
        on a parameter annotated `Connection`)."""
        for api in self.apis:
            name = api.canonical(dotted)
            if name is None:
                continue
            if name in api.functions:
                return _library_slots(api.functions[name].params)
            if name in api.classes:
                return self._library_member(name, "__init__")
        owner, _, member = dotted.rpartition(".")
        return self._library_member(owner, member) if owner else None

    def _library_member(self, cls: str, member: str) -> Mapping[str, str] | None:
        for api in self.apis:
            name = api.canonical(cls)
            info = api.classes.get(name) if name else None
            if info is not None and member in info.members:
                return _library_slots(info.members[member].params)
        return None


def hints(
    declarations: Declarations,
    facts: ModuleFacts,
    function: str,
    parameter: str,
    profile: UsageProfile,
    is_package: bool = False,
) -> list[Hint]:
    """Every declared type that bears on `parameter` of `function` (its qualified name in the module)."""
    out = list(_flows(declarations, facts, profile, is_package, relays(facts, function, profile)))
    out += _fallbacks(declarations, facts, function, profile, is_package)
    out += [Hint(EvidenceKind.NAME, a) for a in _project_name(declarations.project, parameter)]
    signature = facts.functions.get(function)
    if signature is None:
        return out
    slots = signature.slot_of(parameter)
    owner, _, method = function.rpartition(".")
    in_class = owner in facts.classes and "<locals>" not in function  # a method of a class
    if in_class:
        # A constructor overrides its base's by name only: the same parameter passed on to
        # `super().__init__`, not whatever the base takes at that position.
        by = [s for s in slots if not s.isdigit()] if method in CONSTRUCTORS else slots
        out += [Hint(EvidenceKind.OVERRIDE, a) for a in _overridden(declarations, facts, owner, method, by)]
        out += [Hint(EvidenceKind.OVERRIDDEN, a) for f in declarations.project.overriding(
                    f"{facts.module}.{owner}", method) if (a := _in_slots(f.slots(), by))]
        out += [Hint(EvidenceKind.SIBLING, a) for a in _siblings(declarations.project, facts, owner, method,
                                                      slots)]
    for construct, dialect in facts.compiled.get(function, ()):
        # what SQLAlchemy passes a `@compiles` function: the construct, the compiler
        given = {"0": construct, "1": declarations.compiler_for(construct, dialect)}
        out += [Hint(EvidenceKind.FRAMEWORK, a) for slot in slots if (a := given.get(slot))]
    targets = list(call_targets(facts, function))
    if in_class and method not in CONSTRUCTORS:
        # calls through a base the method overrides run it too, and the framework's as well
        targets += declarations.project.dispatching(f"{facts.module}.{owner}", method)
    for target in targets:
        # what Starlette passes a route's endpoint, an exception handler, a middleware function
        out += [Hint(EvidenceKind.FRAMEWORK, a) for slot, a in declarations.project.given(target)
                if slot in slots]
        for event in declarations.project.events(target):
            # called by position, as the event's method is declared
            declared = declarations.event_slots(event) or {}
            out += [Hint(EvidenceKind.FRAMEWORK, a) for slot in slots
                    if slot.isdigit() and (a := declared.get(slot))]
    if in_class and declarations.by_name(method):
        # `field.parse_obj(request, obj)` on a value of unknown class reaches this method when
        # the project's only hierarchy defining `parse_obj` is this one
        targets.append(f"{BY_NAME}{method}")
    for target in targets:
        passed = declarations.project.arguments(target)
        out += [Hint(EvidenceKind.CALLER_CALL if value.endswith("()") else EvidenceKind.CALLER, a)
                for slot in slots for value in passed.get(slot, ())
                if (a := _value(declarations, value)) is not None]
    if profile.returned and signature.returns:
        out.append(Hint(EvidenceKind.RETURN, signature.returns))
    return out


def _fallbacks(declarations: Declarations, facts: ModuleFacts, function: str,
               profile: UsageProfile, is_package: bool) -> list[Hint]:
    """What stands in for the parameter where it is None (`p or Client()`, `select(m) if p is
    None else p`, `self.statement if p is None else p`) is a value of its declared type: an
    attribute the class annotates, what a call returns, a literal's builtin. It bounds the
    parameter from above: the parameter is that class or a subclass (rq's `pipeline:
    Pipeline`, standing in for the `Redis` base its class holds). Never a base: a caller's
    library value as a lower bound made advanced-alchemy's `statement` of `select(...)` an
    Executable."""
    owner = function.rpartition(".")[0]
    out = []
    for value in profile.fallbacks:
        if value.startswith("self."):
            found = declarations.field_type(f"{facts.module}.{owner}", value[5:]) \
                if owner in facts.classes else None
        elif value.endswith("()"):
            found = declarations.value_type(f"{callee_path(value[:-2], facts, is_package)}()")
        else:
            found = value
        if found is not None:
            out.append(Hint(EvidenceKind.FALLBACK, found))
    return out


def _value(declarations: Declarations, value: str) -> str | None:
    """A passed value's class: a library call's value through the packs' API tables."""
    return declarations.value_type(value) if value.endswith("()") else value


def _project_name(project: ProjectIndex, parameter: str) -> Iterator[str]:
    """The class the project annotates parameters of this name with, when it nearly always does
    (`request: Request` throughout a web app). Where it annotates no parameter of this name, the
    class the other modules' sure predictions give it, by a stricter rule: they err alike (a
    sync and an async twin, a base for its subclass), and a habit spreads what they say."""
    written = project.annotations_of(parameter)
    # A TypeVar or an alias the project defines names no class: where the project annotates the
    # name with nothing else, the sure predictions speak (advanced-alchemy's `statement:
    # StatementTypeT`); beside classes it still says the name is not always one of them
    # (sqladmin's `prop: MODEL_ATTR`, a union with `str`).
    unclassed = {a for a in written
                 if a.rpartition(".")[0] in project.modules and not project.is_class(a)}
    found = _habit(written, NAME_SEEN, NAME_AGREE)
    if found in unclassed:
        found = None
    if found is None and unclassed == written.keys():
        found = _habit(project.annotations_of(parameter, assumed=True), HABIT_SEEN, HABIT_AGREE)
    if found is not None:
        yield found


def _habit(counts: Mapping[str, int], at_least: int, agree: float) -> str | None:
    seen = sum(counts.values())
    if seen < at_least:
        return None
    top, n = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
    return top if n >= agree * seen else None


def _siblings(project: ProjectIndex, facts: ModuleFacts, owner: str, method: str,
              slots: Sequence[str]) -> Iterator[str]:
    """What the project's other classes annotate at this position of a method of the same name
    (`handle_exception(self, request: Request, exc)` on each of five views): a protocol the
    project follows without declaring it. Only when they all agree."""
    # a keyword-only parameter by its keyword (`get_one(*filters, statement=None)` on a
    # protocol and on the repository that follows it)
    slot = next((s for s in slots if s.isdigit()), slots[0] if slots else None)
    if slot is None or method in GENERIC_METHODS:
        return
    here = f"{facts.module}.{owner}"
    found = {a for cls, f in project.same_named(method) if cls != here
             and (a := f.slots().get(slot)) is not None}
    if len(found) == 1:
        yield found.pop()


def _flows(declarations: Declarations, facts: ModuleFacts, profile: UsageProfile,
           is_package: bool, relayed: bool) -> Iterator[Hint]:
    """Flows into annotated parameters: the project's own ("flow", or "relayed" where the value
    is only passed on) or a library's ("library_flow", often a base class: `execute(statement:
    Executable)`)."""
    for callee, slot in profile.passed_to:
        found = declarations.callee_slots(callee_path(callee, facts, is_package))
        if found is not None and slot in found[0]:
            kind = (EvidenceKind.RELAYED if relayed else EvidenceKind.FLOW) if found[1] \
                else EvidenceKind.LIBRARY_FLOW
            yield Hint(kind, found[0][slot])


def _overridden(declarations: Declarations, facts: ModuleFacts, owner: str, method: str,
                slots: Sequence[str]) -> Iterator[str]:
    for base in facts.classes[owner]:
        base_slots = declarations.method_slots(declarations.project.resolve(base), method)
        if base_slots and (annotation := _in_slots(base_slots, slots)):
            yield annotation


def _in_slots(declared: Mapping[str, str], slots: Sequence[str]) -> str | None:
    """The annotation another signature gives the parameter at these slots (position first)."""
    return next((declared[slot] for slot in slots if slot in declared), None)
