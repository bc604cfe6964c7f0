"""Usages whose class the code shows without annotating it: what a library's tests, docstrings and
examples teach (`r = requests.get(url); r.json()`, `with Session() as s`, `pipe = r.pipeline()`,
and a pytest fixture's value handed by name to a test's parameter)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import libcst as cst
import libcst.metadata as meta

from remora_review.infer.profile import ProfileBuilder, UsageProfile, UseCollector
from remora_review.pysource.annotations import cst_dotted

MODULE_FUNCTION = "<module>"  # the `function` of a profile of a module-level variable
_ROUNDS = 3  # `s = Session(); r = s.get(u); j = r.json()`: each round types one more link


@dataclass(frozen=True)
class Typing:
    """What the miner knows of the library: a dotted path to the class it names or whose instance
    calling it returns (`requests.Session`, `requests.get`, `redis.Redis.from_url`), and what a
    class's members return."""

    call_result: Callable[[str], str | None]
    member_result: Callable[[str, str], str | None]
    class_named: Callable[[str], str | None]  # the class a dotted path names, or None


@dataclass(frozen=True)
class Binding:
    """A name whose value's class is known, with the node its first binding sits on."""

    profile: UsageProfile
    label: str
    node: cst.CSTNode


def _body_nodes(root: cst.CSTNode, skip: type[cst.CSTNode] | tuple[type[cst.CSTNode], ...]
                ) -> Iterator[cst.CSTNode]:
    """Every node under `root`, not entering nested functions, lambdas or classes."""
    stack = list(reversed(root.children))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, skip):
            stack.extend(reversed(node.children))


_NESTED = (cst.FunctionDef, cst.Lambda, cst.ClassDef)


class UsageMiner(ProfileBuilder):
    """A ProfileBuilder that also profiles variables whose class the code shows."""

    def __init__(self, wrapper: meta.MetadataWrapper, typing: Typing, module: str = "",
                 factories: bool = False) -> None:
        super().__init__(wrapper)
        self.typing = typing
        self.module = module  # the unit's module: docstring examples use its names unimported
        # Tests build clients through their own helpers (`_get_client(redis.Redis, request)`):
        # there, a call of an unknown function given one library class returns an instance of it.
        self.factories = factories
        self._globals: dict[str, str] | None = None

    # --- expressions ---------------------------------------------------------------------------

    def class_of(self, node: cst.BaseExpression, env: Mapping[str, str]) -> str | None:
        """The library class of an expression's value, when the code shows it."""
        if isinstance(node, cst.Await):
            node = node.expression
        if isinstance(node, cst.Name):
            return env.get(node.value)
        if not isinstance(node, cst.Call):
            return None
        func = node.func
        for dotted in self._paths(func):
            found = self.typing.call_result(dotted)
            if found is not None:
                return found
        if isinstance(func, cst.Attribute):
            owner = self.class_of(func.value, env)
            if owner is not None:
                return self.typing.member_result(owner, func.attr.value)
        return self._factory_result(node) if self.factories else None

    def _factory_result(self, call: cst.Call) -> str | None:
        """The one library class passed (not called) to a helper of the tests themselves (a
        function of the module, or one imported from the tests' own package)."""
        if not isinstance(call.func, cst.Name):
            return None
        callee = self.qualified(call.func) or call.func.value
        if "." in callee and not callee.startswith(".") and \
                callee.split(".", 1)[0] not in ("tests", "test", "testing"):
            return None  # a library's or the standard library's function (`isinstance`, ...)
        given = set()
        for arg in call.args:
            if isinstance(arg.value, (cst.Name, cst.Attribute)):
                for dotted in self._paths(arg.value):
                    found = self.typing.class_named(dotted)
                    if found is not None:
                        given.add(found)
        return given.pop() if len(given) == 1 else None

    def _paths(self, func: cst.BaseExpression) -> list[str]:
        found = self.qualified(func)
        if found is not None:
            return [found]
        written = cst_dotted(func)
        if written is None:
            return []
        # An example in a docstring uses its module's names without importing them.
        return [f"{self.module}.{written}"] if self.module else []

    # --- scopes --------------------------------------------------------------------------------

    def _bound(self, scope: meta.Scope, name: str, env: Mapping[str, str]) -> str | None:
        """The class every binding of `name` in `scope` gives it, or None."""
        found: set[str] = set()
        for assignment in scope.assignments[name]:
            node = getattr(assignment, "node", None)
            value = self._bound_value(node) if isinstance(node, cst.Name) else None
            if value is None:
                return None
            expr, entered = value
            cls = self.class_of(expr, env)
            if cls is None:
                return None
            if entered:
                cls = self.typing.member_result(cls, entered) or cls
            found.add(cls)
        return found.pop() if len(found) == 1 else None

    def _bound_value(self, name: cst.Name) -> tuple[cst.BaseExpression, str] | None:
        """The expression a Name target is bound to, and the dunder entered when it is a `with`
        target (`with Session() as s`: what `__enter__` returns)."""
        parent = self.parents.get(name)
        if isinstance(parent, cst.AssignTarget):
            statement = self.parents.get(parent)
            if isinstance(statement, cst.Assign) and len(statement.targets) == 1:
                return statement.value, ""
        elif isinstance(parent, (cst.AnnAssign, cst.NamedExpr)):
            value = parent.value
            return (value, "") if value is not None else None
        elif isinstance(parent, cst.AsName):
            item = self.parents.get(parent)
            if isinstance(item, cst.WithItem):
                with_node = self.parents.get(item)
                is_async = isinstance(with_node, cst.With) and with_node.asynchronous is not None
                return item.item, "__aenter__" if is_async else "__enter__"
        return None

    def environment(self, scope: meta.Scope, seeds: Mapping[str, str],
                    outer: Mapping[str, str]) -> dict[str, str]:
        """Names of a scope with a known class: the seeds (annotated or fixture parameters), then
        variables bound to what the code shows, a few rounds so chains resolve."""
        env = {**outer, **seeds}
        names = sorted({a.name for a in scope.assignments} - set(seeds))
        for _ in range(_ROUNDS):
            changed = False
            for name in names:
                if name in env and name not in outer:
                    continue
                cls = self._bound(scope, name, env)
                if cls is not None and env.get(name) != cls:
                    env[name] = cls
                    changed = True
            if not changed:
                break
        return env

    def module_environment(self) -> dict[str, str]:
        if self._globals is None:
            scope = self.scopes.get(self.wrapper.module)
            self._globals = self.environment(scope, {}, {}) if scope is not None else {}
        return self._globals

    # --- profiles ------------------------------------------------------------------------------

    def bindings(self, function: cst.FunctionDef | None, env: Mapping[str, str],
                 skip: frozenset[str] = frozenset()) -> list[Binding]:
        """Profiles of the scope's variables (not parameters) whose class `env` holds."""
        scope = self.scopes.get(function.body if function is not None else self.wrapper.module)
        if scope is None:
            return []
        out = []
        for name in sorted({a.name for a in scope.assignments} - skip):
            label = env.get(name)
            if label is None or self._bound(scope, name, env) is None:
                continue
            assignments = [a for a in scope.assignments[name]]
            profile = self._variable_profile(function, name, assignments)
            if profile.has_evidence:
                node: cst.CSTNode = assignments[0].node  # type: ignore[attr-defined]
                out.append(Binding(profile, label, node))
        return out

    def _variable_profile(self, function: cst.FunctionDef | None, name: str,
                          assignments: list[meta.BaseAssignment]) -> UsageProfile:
        acc = UseCollector()
        receivers = self._receivers(function) if function is not None else None
        for assignment in assignments:
            for ref in assignment.references:
                if isinstance(ref.node, cst.Name):
                    self._use(ref.node, acc, receivers, store=False)
        return acc.profile(name, function.name.value if function is not None else MODULE_FUNCTION,
                           function is not None and function.asynchronous is not None)

    # --- pytest fixtures -----------------------------------------------------------------------

    def is_fixture(self, function: cst.FunctionDef) -> bool:
        for decorator in function.decorators:
            node = decorator.decorator
            if isinstance(node, cst.Call):
                node = node.func
            dotted = self.qualified(node) or cst_dotted(node) or ""
            if dotted.rsplit(".", 1)[-1] == "fixture":
                return True
        return False

    def returned_class(self, function: cst.FunctionDef, env: Mapping[str, str]) -> str | None:
        """The class of what a function returns or yields, when every return agrees."""
        found: set[str] = set()
        for node in _body_nodes(function.body, _NESTED):
            value = node.value if isinstance(node, (cst.Return, cst.Yield)) else None
            if isinstance(node, cst.Yield) and isinstance(value, cst.From):
                return None
            if isinstance(value, cst.BaseExpression):
                cls = self.class_of(value, env)
                if cls is None:
                    return None
                found.add(cls)
        return found.pop() if len(found) == 1 else None
