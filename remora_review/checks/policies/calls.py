"""The calls a policy names: callees by qualified name, seen through names bound to instances."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property

import libcst as cst
import libcst.metadata as meta
from libcst.helpers import get_full_name_for_node_or_raise

from remora_review.checks.base import FileContext
from remora_review.findings import Edit
from remora_review.fixes import edits_between
from remora_review.pysource.scopes import Scopes
from remora_review.pysource.walk import ReadOnlyWalk

# What a call to a factory returns, by qualified name. A name bound to the result of a call has the
# type this table gives for the callee, else the callee itself (`x = Foo()` is a `Foo`; this is also
# libcst's own convention for `Foo().bar()`, named `Foo.bar`). Extend it through PolicyCheck(factories=).
DEFAULT_FACTORIES: Mapping[str, str] = {
    "logging.getLogger": "logging.Logger",
    "logging.Logger.getChild": "logging.Logger",
}

_MAX_DEPTH = 8  # bound on `a = b; b = c.child(); ...` chains followed by the inference

Owner = cst.FunctionDef | cst.ClassDef | cst.Module


@dataclass(frozen=True)
class CallSite:
    call: cst.Call
    owner: Owner  # innermost function, else class, else module
    statement: cst.CSTNode  # the top-level statement holding the call
    names: frozenset[str]  # qualified names of the callee, the inferred ones included



class FileFacts:
    """What the check learns about one file, each piece computed once and only when needed."""

    def __init__(self, ctx: FileContext, factories: Mapping[str, str]) -> None:
        self._ctx = ctx
        self._factories = factories
        self._imports: dict[tuple[str, str | None], tuple[Edit, ...]] = {}

    @cached_property
    def positions(self) -> Mapping[cst.CSTNode, meta.CodeRange]:
        return self._ctx.wrapper.resolve(meta.PositionProvider)

    @cached_property
    def scopes(self) -> Mapping[cst.CSTNode, meta.Scope | None]:
        return self._ctx.wrapper.resolve(Scopes)  # the other checks' own, resolved once

    @cached_property
    def global_scope(self) -> meta.Scope | None:
        return self.scopes.get(self._ctx.module)

    def changed_sites(self, terminals: set[str]) -> list[CallSite]:
        """Calls on changed lines whose callee ends in one of `terminals` (or an alias of one).

        Scope and qualified names, the costly metadata, are resolved only when such calls exist;
        a file whose text never names one is not walked at all (a call's last name, or the name an
        import aliases, is a word of the text).
        """
        if not _names_any(self._ctx.source, terminals):
            return []
        facts = _CallCollector(self._ctx.module)
        for statement in self._ctx.module.body:
            facts.statement = statement
            statement.visit(facts)
        wanted = terminals | {a for t in terminals for a in facts.import_aliases.get(t, ())}
        calls = [(c, o, s) for c, o, s, name in facts.calls if name in wanted]
        if calls and self._ctx.changed_lines is not None:
            where = [self.positions[c] for c, _, _ in calls]
            calls = [
                site for site, r in zip(calls, where) if self._ctx.touches(r.start.line, r.end.line)
            ]
        if not calls:
            return []
        names = _NameInference(self._ctx.wrapper, self._factories, facts)
        return [CallSite(c, o, s, names.callee_names(c)) for c, o, s in calls]

    @cached_property
    def _statement_spans(self) -> dict[int, tuple[int, int]] | None:
        """Where each top-level statement's text lies in the source (None: not a plain concat)."""
        module, spans = self._ctx.module, {}
        offset = sum(len(module.code_for_node(line)) for line in module.header)
        for statement in module.body:
            code = module.code_for_node(statement)
            if self._ctx.source[offset : offset + len(code)] != code:
                return None  # e.g. the last line has no newline: codegen drops it at module level
            spans[id(statement)] = (offset, offset + len(code))
            offset += len(code)
        return spans

    def replace_in_statement(
        self, statement: cst.CSTNode, old: cst.CSTNode, new: cst.CSTNode
    ) -> str:
        """The source with `old` replaced, re-rendering only its top-level statement.

        Rendered in place, a call spread over lines keeps the indentation of its block; the new
        statement must parse on its own (compiling the whole file is left to the caller).
        """
        spans, module = self._statement_spans, self._ctx.module
        if spans is None or id(statement) not in spans:
            whole = module.deep_replace(old, new)
            assert isinstance(whole, cst.Module)
            return whole.code
        start, end = spans[id(statement)]
        code = module.code_for_node(statement.deep_replace(old, new))
        cst.parse_module(code)
        return self._ctx.source[:start] + code + self._ctx.source[end:]

    def import_edits(self, needed: tuple[str, str | None]) -> tuple[Edit, ...]:
        """The edits that add `from module import name` (or `import module`) to this file."""
        if needed not in self._imports:
            # Imported here: libcst.codemod pulls in libcst.matchers, ~0.4 s the hook should not
            # pay on files that need no import.
            from libcst.codemod import CodemodContext
            from libcst.codemod.visitors import AddImportsVisitor

            context = CodemodContext()
            AddImportsVisitor.add_needed_import(context, needed[0], needed[1])
            module = AddImportsVisitor(context).transform_module(self._ctx.module)
            self._imports[needed] = edits_between(self._ctx.source, module.code)
        return self._imports[needed]


class _CallCollector(ReadOnlyWalk):
    """One pass over the module: calls with their owners, and the bindings inference follows."""

    def __init__(self, module: cst.Module) -> None:
        # call, its owner, its top-level statement, the callee's last name
        self.calls: list[tuple[cst.Call, Owner, cst.CSTNode, str | None]] = []
        self.statement: cst.CSTNode = module  # the top-level statement being visited
        self.values: dict[cst.CSTNode, list[cst.BaseExpression]] = {}  # target -> assigned values
        self.annotations: dict[cst.CSTNode, cst.BaseExpression] = {}  # target -> its annotation
        self.first_params: dict[cst.Param, cst.ClassDef] = {}  # `self` of a method -> its class
        self.class_targets: dict[cst.CSTNode, cst.ClassDef] = {}  # names bound in a class body
        self.import_aliases: dict[str, set[str]] = {}  # `from m import info as say`: info -> say
        self._owners: list[Owner] = [module]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        params = node.params.posonly_params or node.params.params
        static = any(
            isinstance(d.decorator, cst.Name) and d.decorator.value == "staticmethod"
            for d in node.decorators
        )
        if isinstance(self._owners[-1], cst.ClassDef) and params and not static:
            self.first_params[params[0]] = self._owners[-1]
        self._owners.append(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._owners.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._owners.append(node)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._owners.pop()

    def visit_Call(self, node: cst.Call) -> None:
        owner = next((o for o in reversed(self._owners) if isinstance(o, cst.FunctionDef)), None)
        self.calls.append((node, owner or self._owners[-1], self.statement, _last_name(node.func)))

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._bind(target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self.annotations[node.target] = node.annotation.annotation
        self._bind(node.target, node.value)

    def _bind(self, target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        if value is not None:
            self.values.setdefault(target, []).append(value)
        if isinstance(self._owners[-1], cst.ClassDef) and isinstance(target, cst.Name):
            self.class_targets[target] = self._owners[-1]

    def visit_ImportAlias(self, node: cst.ImportAlias) -> None:
        if node.asname is not None and isinstance(node.asname.name, cst.Name):
            original = get_full_name_for_node_or_raise(node.name).rsplit(".", 1)[-1]
            self.import_aliases.setdefault(original, set()).add(node.asname.name.value)


def _names_any(text: str, words: set[str]) -> bool:
    return bool(words) and re.search(
        r"\b(?:" + "|".join(map(re.escape, sorted(words))) + r")\b", text) is not None


def _last_name(func: cst.BaseExpression) -> str | None:
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return None


class _NameInference:
    """Qualified names of callees, seeing through names bound to instances.

    libcst names `log.info` after a local `log = logging.getLogger()` as `f.<locals>.log.info`;
    this follows `log` to its assignments (or a parameter's annotation, or `self.log = ...` in the
    class) and names the call `logging.Logger.info`.
    """

    def __init__(
        self, wrapper: meta.MetadataWrapper, factories: Mapping[str, str], facts: _CallCollector
    ) -> None:
        self._scopes = wrapper.resolve(Scopes)
        self._factories = factories
        self._facts = facts
        self._memo: dict[int, set[str]] = {}  # id(expression) -> types; the module outlives this

    def callee_names(self, call: cst.Call, depth: int = 0) -> frozenset[str]:
        names = self._qualified_names(call.func)
        if isinstance(call.func, cst.Attribute):
            attr = call.func.attr.value
            names |= {f"{t}.{attr}" for t in self._types(call.func.value, depth)}
        return frozenset(self._through_factories(n) for n in names) | frozenset(names)

    def _qualified_names(self, node: cst.CSTNode) -> set[str]:
        # What libcst's QualifiedNameProvider gives, asked of the node's scope when needed: the
        # provider walks the whole module for a name per node, and resolves its own scopes.
        scope = self._scopes.get(node)
        return set() if scope is None else {q.name for q in scope.get_qualified_names_for(node)}

    def _through_factories(self, name: str) -> str:
        """`logging.getLogger.info` (libcst's name for `getLogger().info`) -> `logging.Logger.info`."""
        for _ in range(_MAX_DEPTH):
            parts = name.split(".")
            for i in range(len(parts) - 1, 0, -1):
                prefix = ".".join(parts[:i])
                if prefix in self._factories:
                    name = ".".join((self._factories[prefix], *parts[i:]))
                    break
            else:
                return name
        return name

    def _types(self, expr: cst.BaseExpression, depth: int) -> set[str]:
        """Qualified names of the classes an expression's value may be an instance of."""
        # Memoised with a cycle guard: `x = x.child()` repeated must stay linear, not exponential.
        if id(expr) in self._memo:
            return self._memo[id(expr)]
        if depth > _MAX_DEPTH:
            return set()
        self._memo[id(expr)] = set()
        self._memo[id(expr)] = found = self._infer(expr, depth)
        return found

    def _infer(self, expr: cst.BaseExpression, depth: int) -> set[str]:
        if isinstance(expr, cst.Call):
            return {self._factories.get(n, n) for n in self.callee_names(expr, depth + 1)}
        if isinstance(expr, cst.Name):
            return self._name_types(expr, depth)
        if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name):
            return self._self_attribute_types(expr.value, expr.attr.value, depth)
        return set()

    def _name_types(self, name: cst.Name, depth: int) -> set[str]:
        out: set[str] = set()
        for target in self._binding_nodes(name):
            if isinstance(target, cst.Param):
                if target.annotation is not None:
                    out |= self._annotation_types(target.annotation.annotation)
            else:
                out |= self._target_types(target, depth)
        return out

    def _target_types(self, target: cst.CSTNode, depth: int) -> set[str]:
        """An assignment target's types: its annotation's, else those of the values bound to it."""
        annotation = self._facts.annotations.get(target)
        if annotation is not None:
            return self._annotation_types(annotation)
        out: set[str] = set()
        for value in self._facts.values.get(target, ()):
            out |= self._types(value, depth + 1)
        return out

    def _binding_nodes(self, name: cst.Name) -> Iterator[cst.CSTNode]:
        scope = self._scopes.get(name)
        if scope is None:
            return
        for access in scope.accesses[name]:
            for ref in access.referents:
                if isinstance(ref, meta.Assignment):
                    yield ref.node

    def _annotation_types(self, annotation: cst.BaseExpression) -> set[str]:
        if isinstance(annotation, (cst.Name, cst.Attribute)):
            return self._qualified_names(annotation)
        return set()

    def _self_attribute_types(self, base: cst.Name, attr: str, depth: int) -> set[str]:
        """`self.log` in a method: what the class body or `self.log = ...` in a method binds."""
        cls = self._class_of_self(base)
        if cls is None:
            return set()
        out: set[str] = set()
        for target in (*self._facts.values, *self._facts.annotations):
            if self._binds_attribute(target, cls, attr):
                out |= self._target_types(target, depth)
        return out

    def _class_of_self(self, base: cst.Name) -> cst.ClassDef | None:
        for node in self._binding_nodes(base):
            if isinstance(node, cst.Param) and node in self._facts.first_params:
                return self._facts.first_params[node]
        return None

    def _binds_attribute(self, target: cst.CSTNode, cls: cst.ClassDef, attr: str) -> bool:
        if isinstance(target, cst.Name):  # class body: `log = logging.getLogger()`
            return target.value == attr and self._facts.class_targets.get(target) is cls
        if not isinstance(target, cst.Attribute) or target.attr.value != attr:
            return False  # `self.log = ...` in a method
        return isinstance(target.value, cst.Name) and self._class_of_self(target.value) is cls
