"""The user's project as one index of module facts: signatures by dotted path, methods through class
bases, re-exports followed, and the typed arguments its calls pass."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

from remora_review.project.facts import Function, ModuleFacts, Parameter, TypedArgument

_MAX_HOPS = 8  # re-export and base-class chains are short; this only stops cycles
# Outside bases whose subclasses take their annotated fields as keyword arguments.
_MODEL_BASES = frozenset({"BaseModel", "SQLModel", "BaseSettings"})


def on_value(path: str, value_type: Callable[[str], str | None]) -> str | None:
    """A path through a returned value (`find_view().render`) as one through its class
    (`app.views.ModelView.render`); None when the class is unknown. Other paths are kept."""
    if "()." not in path:
        return path
    head, _, name = path.rpartition("().")
    owner = value_type(f"{head}()")
    return f"{owner}.{name}" if owner is not None else None


def _recounted(counts: Mapping[bool, Mapping[str, Mapping[str, int]]],
               changed: Iterable[tuple[ModuleFacts | None, ModuleFacts]]
               ) -> dict[bool, dict[str, dict[str, int]]]:
    """How often each parameter name is annotated with each class (by whether the annotation is
    assumed, infer/propagation.py), from `counts` with each changed module's (last, now) facts
    counted out and in. Only the names a change touches are copied; a count that falls to
    zero goes, as a fresh count would not have it."""
    # Each name's counts are the last map's own until a change touches them, then a copy.
    out: dict[bool, dict[str, Any]] = {assumed: dict(names) for assumed, names in counts.items()}
    copied: set[tuple[bool, str]] = set()
    steps = [(p.assumed, p.name, p.annotation, step) for last, now in changed
             for facts, step in ((last, -1), (now, 1)) if facts is not None
             for function in facts.functions.values() for p in function.params if p.annotation]
    for assumed, name, annotation, step in steps:
        names = out[assumed]
        if (assumed, name) not in copied:
            names[name] = dict(names.get(name, {}))
            copied.add((assumed, name))
        classes: dict[str, int] = names[name]
        classes[annotation] = classes.get(annotation, 0) + step
        if not classes[annotation]:
            del classes[annotation]
        if not classes:
            del names[name]
            copied.discard((assumed, name))
    return out


def _class_shape(facts: ModuleFacts) -> tuple[object, ...]:
    """What the project's class maps read of a module (ProjectIndex.adopt): its classes
    and attributes in order, its methods, and the imports that resolution follows (a name the
    module also defines stops it)."""
    methods = frozenset(q for q in facts.functions if q.rpartition(".")[0] in facts.classes)
    followed = {k: v for k, v in facts.imports.items()
                if k not in facts.functions and k not in facts.classes}
    return list(facts.classes.items()), list(facts.attributes.items()), methods, followed


_Placed = tuple[str, str, str] | None  # a typed argument's (callee where defined, slot, class)
# A dotted path called (`a.b.make()`, `.build()` after one); from a path's start only, so a
# long path with no call in it is read once, not once from each of its characters.
_CALLED = re.compile(r"(?<![\w.])([\w.]+)\(\)")


def _gathered(by_module: Iterable[tuple[tuple[_Placed, frozenset[str]], ...]],
              wanted: set[str] | None = None) -> dict[str, dict[str, tuple[str, ...]]]:
    """Callee -> slot -> the classes the modules' typed arguments pass there, in order (only
    the `wanted` callees, where given)."""
    by_callee: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for passed in by_module:
        for found, _ in passed:
            if found is not None and (wanted is None or found[0] in wanted):
                callee, slot, annotation = found
                by_callee[callee][slot].append(annotation)
    return {c: {s: tuple(a) for s, a in slots.items()} for c, slots in by_callee.items()}


def _returns(facts: ModuleFacts) -> dict[str, str]:
    """What a module's functions return, where they say (no annotation reads as none)."""
    return {q: f.returns for q, f in facts.functions.items() if f.returns is not None}


# class -> (how many of the project's parameters are annotated with it, how many of those use
# each member): ProjectIndex.usages
ProjectUsages = Mapping[str, tuple[int, Mapping[str, int]]]


@dataclass(frozen=True)
class ProjectIndex:
    modules: Mapping[str, ModuleFacts] = field(default_factory=dict)

    def adopt(self, other: ProjectIndex) -> None:
        """Take what `other` (the last index) worked out of the project's classes (their members
        and outside bases, their subclasses, how dotted paths resolve) and of its typed
        arguments, where it would come out the same here. The class maps need the same
        modules, each with the same classes, attributes, methods and followed imports, in the
        same order: a commit that edits function bodies or adds a module-level function leaves
        them so; one that adds a class, a method, an attribute or an import does not. In a
        repository of 5,000 files they were a third of a new commit's review, and the inferer
        keeps its rivals by the identity of `classes()`. The counts of each parameter name's
        annotations are taken too, with the changed modules' own counted again."""
        if self.modules.keys() != other.modules.keys():
            return
        changed = [(other.modules[name], facts) for name, facts in self.modules.items()
                   if facts is not other.modules[name]]  # (last, now)
        if "_annotations_by_name" in other.__dict__:
            self.__dict__["_annotations_by_name"] = _recounted(other._annotations_by_name, changed)
        if list(self.modules) != list(other.modules) or any(
                _class_shape(now) != _class_shape(last) for last, now in changed):
            return
        # As cached_property stores them: values worked out from the same inputs. The lookups
        # by dotted path are taken for the strings they give only (a split gives facts, which
        # differ here).
        for name in ("_classes", "_own_members", "_subclasses"):
            if name in other.__dict__:
                self.__dict__[name] = other.__dict__[name]
        # Shared, not copied (the copy was 2 % of a new commit's review in a repository of 5,000
        # files): what either index works out from now on holds for both.
        self._memo.update((k, v) for k, v in other._memo.items() if k != "split")
        # A module's typed arguments are read through the class maps and, for a value or a
        # receiver that is a call, what the functions it calls return (_reads); the
        # fixtures a conftest gives are arguments of every test below it.
        if "_arguments_by_module" in other.__dict__ and all(
                now.fixtures == last.fixtures for last, now in changed):
            self.__dict__["_arguments_kept"] = {
                name: passed for name, passed in other._arguments_by_module.items()
                if self.modules[name] is other.modules[name]}
            if "_arguments" in other.__dict__:
                self.__dict__["_arguments_last"] = (other._arguments, other._arguments_by_module)
            returned = [(_returns(now), _returns(last)) for last, now in changed]
            self.__dict__["_returns_changed"] = frozenset(
                q.rsplit(".", 1)[-1] for new, old in returned
                for q in new.keys() | old.keys() if new.get(q) != old.get(q))

    def with_module(self, facts: ModuleFacts) -> ProjectIndex:
        """The index with one module's facts replaced (the file being checked, as it is now)."""
        return ProjectIndex({**self.modules, facts.module: facts})

    # Lookups by dotted path, kept per index (which never changes): every derived map (classes,
    # arguments) resolves the same bases and callees many times over, and a new commit in a
    # repository of 5,000 files works them all out anew.
    @cached_property
    def _memo(self) -> dict[str, dict[str, Any]]:
        return {"split": {}, "resolve": {}, "bases": {}}

    def _memoized(self, kind: str, dotted: str, work_out: Callable[[str], Any]) -> Any:
        memo = self._memo[kind]
        if dotted not in memo:
            memo[dotted] = work_out(dotted)
        return memo[dotted]

    def _split(self, dotted: str) -> tuple[ModuleFacts, str] | None:
        """The project module that holds `dotted`, and the rest of the path inside it."""
        return self._memoized("split", dotted, self._split_anew)  # type: ignore[no-any-return]

    def _split_anew(self, dotted: str) -> tuple[ModuleFacts, str] | None:
        parts = dotted.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            facts = self.modules.get(".".join(parts[:cut]))
            if facts is not None:
                return facts, ".".join(parts[cut:])
        return None

    def resolve(self, dotted: str) -> str:
        """Follow re-exports (`from .session import Session` in a package) to where a name is defined."""
        return self._memoized("resolve", dotted, self._resolve_anew)  # type: ignore[no-any-return]

    def _resolve_anew(self, dotted: str) -> str:
        for _ in range(_MAX_HOPS):
            hit = self._split(dotted)
            if hit is None:
                return dotted
            facts, local = hit
            head, _, rest = local.partition(".")
            if head in facts.functions or head in facts.classes or head not in facts.imports:
                return dotted
            target = facts.imports[head]
            dotted = f"{target}.{rest}" if rest else target
        return dotted

    def is_class(self, dotted: str) -> bool:
        return self._class(self.resolve(dotted)) is not None

    def _class(self, dotted: str) -> tuple[ModuleFacts, str] | None:
        """The module facts and local name of a project class (already resolved), else None."""
        hit = self._split(dotted)
        return hit if hit is not None and hit[1] in hit[0].classes else None

    def bases(self, dotted: str) -> tuple[str, ...]:
        """A project class's direct bases (absolute dotted paths); () for anything else."""
        return self._memoized("bases", dotted, self._bases_anew)  # type: ignore[no-any-return]

    def _bases_anew(self, dotted: str) -> tuple[str, ...]:
        hit = self._split(self.resolve(dotted))
        if hit is None:
            return ()
        facts, local = hit
        return tuple(self.resolve(b) for b in facts.classes.get(local, ()))

    def function(self, dotted: str) -> Function | None:
        """The signature of a project function, a method (found through bases) or a class's __init__."""
        dotted = self.resolve(dotted)
        hit = self._split(dotted)
        if hit is None:
            return None
        facts, local = hit
        if local in facts.functions:
            return facts.functions[local]
        if local in facts.classes:
            return self.method(dotted, "__init__")[0] or self._generated_init(dotted)
        owner, _, name = dotted.rpartition(".")
        return self.method(owner, name)[0] if self.is_class(owner) else None

    def _generated_init(self, cls: str) -> Function | None:
        """The constructor a dataclass or a pydantic model gets from its fields: a dataclass takes
        its bases' fields first, by position; a model takes them all by keyword."""
        chain = list(self.mro(cls))
        model = any(base.rsplit(".", 1)[-1] in _MODEL_BASES for base in chain
                    if self._class(base) is None)
        params: dict[str, Parameter] = {}
        for owner in reversed(chain):
            hit = self._class(owner)
            if hit is None or not (model or hit[1] in hit[0].dataclasses):
                continue
            for p in hit[0].fields.get(hit[1], ()):
                params.pop(p.name, None)
                params[p.name] = Parameter(p.name, "k", p.annotation) if model else p
        return Function(tuple(params.values())) if params else None

    def method(self, cls: str, name: str) -> tuple[Function | None, tuple[str, ...]]:
        """A method as the project defines it on `cls` or its project bases; else the outside
        bases (library classes, in MRO order) where the caller may look it up."""
        outside: list[str] = []
        for owner in self.mro(cls):
            hit = self._class(owner)
            if hit is None:
                outside.append(owner)
                continue
            facts, local = hit
            found = facts.functions.get(f"{local}.{name}")
            if found is not None:
                return found, ()
        return None, tuple(outside)

    def mro(self, cls: str) -> Iterator[str]:
        """Depth-first, left-to-right over bases: close enough to the MRO for signature lookups."""
        seen: set[str] = set()
        stack = [self.resolve(cls)]
        while stack and len(seen) < 64:
            current = stack.pop(0)
            if current in seen:
                continue
            seen.add(current)
            yield current
            stack[:0] = list(self.bases(current))

    def dispatching(self, cls: str, name: str) -> Iterator[str]:
        """`name` on each of the project's bases of `cls` that defines it (`pkg.Base.render`): a
        call through a value declared as one of them (`widget: BaseWidget; widget.render(r)`)
        may run the override `cls` defines."""
        for owner in list(self.mro(cls))[1:]:
            hit = self._class(owner)
            if hit is not None and f"{hit[1]}.{name}" in hit[0].functions:
                yield f"{owner}.{name}"

    def overriding(self, cls: str, name: str) -> Iterator[Function]:
        """`name` as the project's subclasses of `cls` (at any depth) define it themselves."""
        seen: set[str] = set()
        stack = list(self._subclasses.get(self.resolve(cls), ()))
        while stack and len(seen) < 256:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            hit = self._split(current)
            found = hit[0].functions.get(f"{hit[1]}.{name}") if hit is not None else None
            if found is not None:
                yield found
            stack.extend(self._subclasses.get(current, ()))

    def annotations_of(self, parameter: str, assumed: bool = False) -> Mapping[str, int]:
        """How often the project annotates a parameter of this name with each class; `assumed`:
        how often sure predictions of other modules do (infer/propagation.py)."""
        return self._annotations_by_name[assumed].get(parameter, {})

    @cached_property
    def _annotations_by_name(self) -> Mapping[bool, Mapping[str, Mapping[str, int]]]:
        return _recounted({False: {}, True: {}}, [(None, f) for f in self.modules.values()])

    def same_named(self, name: str) -> tuple[tuple[str, Function], ...]:
        """Every method of a project class called `name`: (its class's dotted path, signature)."""
        return self._methods_by_name.get(name, ())

    @cached_property
    def _methods_by_name(self) -> Mapping[str, tuple[tuple[str, Function], ...]]:
        by_name: dict[str, list[tuple[str, Function]]] = defaultdict(list)
        for facts in self.modules.values():
            for qualname, function in facts.functions.items():
                owner, _, name = qualname.rpartition(".")
                if owner in facts.classes and "<locals>" not in qualname:
                    by_name[name].append((f"{facts.module}.{owner}", function))
        return {n: tuple(m) for n, m in by_name.items()}

    def usages(self) -> ProjectUsages:
        """How the project's annotated parameters use each class they are annotated with: class
        -> (how many parameters, how many of them use each member). Worked out once per index,
        the same read-only object at every call (the inferer keeps what it derives by identity)."""
        return self._usages

    @cached_property
    def _usages(self) -> ProjectUsages:
        counts: dict[str, int] = defaultdict(int)
        members: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for facts in self.modules.values():
            for cls, used in facts.usages:
                counts[cls] += 1
                for member in used:
                    members[cls][member] += 1
        return MappingProxyType({c: (n, MappingProxyType(dict(members[c])))
                                 for c, n in counts.items()})

    def classes(self) -> Mapping[str, tuple[frozenset[str], tuple[str, ...]]]:
        """Every project class (not those local to a function): the members it has, its own and
        those of its project bases (methods and data attributes), and its bases outside the project.
        Worked out once per index and the same read-only object at every call, so what is
        derived from it (TypeInferer's rivals) is kept by identity across a run's files."""
        return self._classes

    @cached_property
    def _classes(self) -> Mapping[str, tuple[frozenset[str], tuple[str, ...]]]:
        return MappingProxyType({name: self._members(name) for facts in self.modules.values()
                                 for local in facts.classes if "<locals>" not in local
                                 for name in (f"{facts.module}.{local}",)})

    def _members(self, cls: str) -> tuple[frozenset[str], tuple[str, ...]]:
        names: set[str] = set()
        outside: list[str] = []
        for owner in self.mro(cls):
            if self._class(owner) is None:
                outside.append(owner)
            else:
                names.update(self._own_members.get(owner, ()))
        return frozenset(names), tuple(outside)

    @cached_property
    def _own_members(self) -> Mapping[str, frozenset[str]]:
        by_class: dict[str, set[str]] = defaultdict(set)
        for facts in self.modules.values():
            for local, attributes in facts.attributes.items():
                by_class[f"{facts.module}.{local}"].update(attributes)
            for qualname in facts.functions:
                owner, _, name = qualname.rpartition(".")
                if owner in facts.classes:
                    by_class[f"{facts.module}.{owner}"].add(name)
        return {c: frozenset(m) for c, m in by_class.items()}

    @cached_property
    def _subclasses(self) -> Mapping[str, tuple[str, ...]]:
        by_base: dict[str, list[str]] = defaultdict(list)
        for facts in self.modules.values():
            for local, bases in facts.classes.items():
                for base in bases:
                    by_base[self.resolve(base)].append(f"{facts.module}.{local}")
        return {b: tuple(c) for b, c in by_base.items()}

    @cached_property
    def _arguments(self) -> Mapping[str, Mapping[str, tuple[str, ...]]]:
        """Callee -> slot -> the classes passed there, in the project's order. After `adopt`,
        only the callees a changed module passes to (or passed to) are gathered again: the
        whole map was a twelfth of a new commit's review in a repository of 5,000 files."""
        by_module = self._arguments_by_module
        last = self.__dict__.pop("_arguments_last", None)  # the last index's, no longer held
        if last is None:
            return _gathered(by_module.values())
        taken, was_by_module = last
        wanted = {f[0] for name, passed in by_module.items()
                  if (was := was_by_module.get(name, ())) != passed
                  for f, _ in (*was, *passed) if f is not None}
        return {**{c: v for c, v in taken.items() if c not in wanted},
                **_gathered(by_module.values(), wanted)}

    @cached_property
    def _arguments_by_module(self) -> Mapping[str, tuple[tuple[_Placed, frozenset[str]], ...]]:
        """Each module's typed arguments, in order: (callee where defined, slot, class), None
        for one the project cannot place, with the names of the functions whose return placing
        it reads (_reads). Where `adopt` kept the last index's for a module, those that
        read no changed return are taken as they were."""
        kept = self.__dict__.get("_arguments_kept", {})
        changed = self.__dict__.get("_returns_changed", frozenset())
        out = {}
        for name, facts in self.modules.items():
            args = (*facts.arguments, *self._fixtures_passed(facts))
            last = kept.get(name)
            if last is None or len(last) != len(args):
                out[name] = tuple((self._placed(arg), self._reads(arg)) for arg in args)
            else:
                out[name] = tuple(was if was[1].isdisjoint(changed) else (self._placed(arg), was[1])
                                  for arg, was in zip(args, last))
        return out

    def _reads(self, arg: TypedArgument) -> frozenset[str]:
        """The names of the functions whose return placing a typed argument reads: those its
        value calls (`make()`, `make().build()`) or its callee's receiver does (`make().save`),
        and for the first, the name it resolves to (an imported alias)."""
        if "()" not in arg.annotation and "()" not in arg.callee:
            return frozenset()
        called = [*_CALLED.findall(arg.annotation), *_CALLED.findall(arg.callee)]
        names = {c.rsplit(".", 1)[-1] for c in called}
        names.update(self.resolve(c).rsplit(".", 1)[-1] for c in called if not c.startswith("."))
        return frozenset(names)

    def _placed(self, arg: TypedArgument) -> _Placed:
        callee = self._defined_at(arg.callee)
        annotation = self.value_type(arg.annotation)
        if annotation is None and arg.annotation.endswith("()"):
            # What a library call returns: the packs' API tables say (infer/declared.py).
            annotation = arg.annotation
        return (callee, arg.slot, annotation) if callee is not None and annotation is not None \
            else None

    def _fixtures_passed(self, facts: ModuleFacts) -> Iterator[TypedArgument]:
        """pytest's calls: a test (or a fixture) gets the value of the fixture its parameter is
        named for, from its own module or a `conftest` of its package or one above."""
        parts = facts.module.split(".")
        visible: dict[str, str | None] = {}
        for cut in range(len(parts) - 1, -1, -1):
            conftest = self.modules.get(".".join([*parts[:cut], "conftest"]))
            if conftest is not None:
                visible = {**conftest.fixtures, **visible}
        visible = {**visible, **facts.fixtures}
        if not any(visible.values()):
            return
        for qualname, function in facts.functions.items():
            name = qualname.rsplit(".", 1)[-1]
            if not (name.startswith("test") or name in facts.fixtures):
                continue
            for p in function.params:
                value = visible.get(p.name)
                if value is not None and p.kind != "o" and p.name != name:
                    yield TypedArgument(f"{facts.module}.{qualname}", p.name, value)

    def value_type(self, value: str) -> str | None:
        """The class of a value as facts write it: a class path as it is, a call `f()` as what
        it returns (a project class is its instance, a project function its return annotation)."""
        if not value.endswith("()"):
            return value
        called = on_value(value[:-2], self.value_type)  # `make().build()`: a method's return
        if called is None:
            return None
        if self.is_class(called):
            return self.resolve(called)
        function = self.function(called)
        return function.returns if function is not None else None

    def _defined_at(self, callee: str) -> str | None:
        """Where a called method is defined: `view.m()` on a `ModelView` calls `BaseModelView.m`
        when the subclass does not define `m` itself. None for a call through a value whose class
        is unknown."""
        through = on_value(callee, self.value_type)
        if through is None:
            return None
        callee = self.resolve(through)
        owner, _, name = callee.rpartition(".")
        if not owner or self._class(owner) is None:
            return callee
        for cls in self.mro(owner):
            hit = self._class(cls)
            if hit is not None and f"{hit[1]}.{name}" in hit[0].functions:
                return f"{cls}.{name}"
        return callee

    def hierarchy_root(self, name: str) -> str | None:
        """The class whose method `name` every definition of that method in the project
        overrides (or is), where one such class exists: the method a call by name
        (`BY_NAME`) reaches, whichever of them the value is."""
        definers = [cls for cls, _ in self.same_named(name)]
        roots = [c for c in definers if all(c in self.mro(d) for d in definers)]
        return roots[0] if len(roots) == 1 else None

    def events(self, dotted: str) -> tuple[str, ...]:
        """The SQLAlchemy events the project registers this function for (project/injected.py)."""
        return self._registered[0].get(dotted, ())

    def given(self, dotted: str) -> tuple[tuple[str, str], ...]:
        """(slot, class) for what a framework passes this function, which the project registers
        with it (project/injected.py)."""
        return self._registered[1].get(dotted, ())

    @cached_property
    def _registered(self) -> tuple[Mapping[str, tuple[str, ...]],
                                   Mapping[str, tuple[tuple[str, str], ...]]]:
        events: dict[str, list[str]] = defaultdict(list)
        given: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for facts in self.modules.values():
            for function, event in facts.listened:
                where = self._defined_at(function)
                if where is not None and event not in events[where]:
                    events[where].append(event)
            for arg in facts.injected:
                where = self._defined_at(arg.callee)
                if where is not None and (arg.slot, arg.annotation) not in given[where]:
                    given[where].append((arg.slot, arg.annotation))
        return ({f: tuple(e) for f, e in events.items()},
                {f: tuple(g) for f, g in given.items()})

    def arguments(self, dotted: str) -> Mapping[str, tuple[str, ...]]:
        """Slot -> annotations of the values the project's calls pass to this function; a value
        the project cannot type (a library call's, `create_engine()`) is left as its call."""
        return self._arguments.get(dotted, {})
