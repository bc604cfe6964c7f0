"""The gate every generated fix passes before it is proposed: it parses and compiles, keeps what
the region defined, uses no name nothing defines, imports nothing the library lacks, and the
re-run checks no longer report what it was meant to fix nor anything new where it wrote."""

from __future__ import annotations

import builtins
import textwrap
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

import libcst as cst
import libcst.matchers as m

from remora_review.api_table import ApiTable
from remora_review.checks.annotate import ModuleImports
from remora_review.checks.import_style import ImportStyle
from remora_review.checks.policies.rewrite import must_compile
from remora_review.engine import remap_lines
from remora_review.findings import Finding
from remora_review.fixes import apply_edits, split_lines
from remora_review.generate.fixing import CheckText
from remora_review.generate.prompt import Answer
from remora_review.generate.region import Region
from remora_review.pysource.scopes import Scopes
from remora_review.pysource.wrapper import wrap

API_CODES = ("RR201", "RR202", "RR203", "RR204")


@dataclass(frozen=True)
class Rejected:
    reason: str  # a clause for the note: "it does not parse (...)"


def apply_answer(source: str, region: Region, answer: Answer,
                 style: ImportStyle | None = None) -> str | Rejected:
    """The file with the region replaced by the answer (at the region's indentation) and the
    answer's imports added where isort puts them (the type-hint fix's import edits), or where
    libcst's AddImportsVisitor does when the import block is too crowded for a point edit."""
    lines = split_lines(source)
    code = textwrap.indent(answer.code, region.indent)
    text = "".join(lines[:region.start_line - 1]) + code + "".join(lines[region.end_line:])
    try:
        cst.parse_module(text)
    except cst.ParserSyntaxError as e:
        return Rejected(f"it does not parse in the file ({str(e).splitlines()[0]})")
    for module_name, name in answer.imports:
        text = _imported(text, module_name, name, style or ImportStyle())
    try:
        must_compile(text)
    except SyntaxError as e:
        return Rejected(f"it does not compile ({e.msg})")
    return text


def _imported(text: str, module: str, name: str | None, style: ImportStyle) -> str:
    edits = ModuleImports(text, style).edits(f"{module}.{name}", False) if name else None
    if edits is not None:
        return apply_edits(text, edits)
    from libcst.codemod import CodemodContext
    from libcst.codemod.visitors import AddImportsVisitor

    context = CodemodContext()
    AddImportsVisitor.add_needed_import(context, module, name)
    return AddImportsVisitor(context).transform_module(cst.parse_module(text)).code


def gate(old: str, new: str, region: Region, answer: Answer, targets: Sequence[Finding],
         before: Sequence[Finding], check: CheckText, tables: Sequence[ApiTable],
         scope: frozenset[int] | None) -> Rejected | None:
    """None when the rewrite may be proposed; else why not. `before`: the file's findings with
    `scope` (the change and every region) in scope; `check` re-runs the checks on a text."""
    if "remora: ignore" in answer.code:
        return Rejected("it suppresses the finding instead of fixing it")
    rewritten = cst.parse_module(answer.code)
    lost = sorted(region.keeps - _defined(rewritten))
    if lost:
        return Rejected(f"it no longer defines `{lost[0]}`")
    written = cst.parse_module(region.text(split_lines(old)))
    reshaped = _reshaped(written, rewritten, region.keeps) or _dropped_argument(written, rewritten)
    if reshaped is not None:
        return reshaped
    invented = sorted(_undefined(new) - _undefined(old))
    if invented:
        return Rejected(f"it uses `{invented[0]}`, which nothing defines")
    for module_name, name in answer.imports:
        unknown = _unknown_import(module_name, name, tables)
        if unknown is not None:
            return unknown
    where = remap_lines(frozenset(region.lines()), old, new) or frozenset()
    returned = _returns_changed(old, new, region, where, tables)
    if returned is not None:
        return returned
    after = check(new, remap_lines(scope, old, new) if scope is not None else None)
    meant = {(t.code, t.message) for t in targets}
    for f in after:
        if f.line in where and (f.code, f.message) in meant:
            return Rejected(f"{f.code} is still reported: {f.message}")
    was = Counter((f.code, f.message) for f in before if f.line in region.lines())
    now = Counter((f.code, f.message) for f in after if f.line in where)
    for code, message in sorted((now - was).elements()):
        who = "the API check" if code in API_CODES else "the re-run checks"
        return Rejected(f"{who} reports {code} on it: {message}")
    return None


def _reshaped(old: cst.Module, new: cst.Module, keeps: Collection[str]) -> Rejected | None:
    """A kept function whose decorators or parameters (names, kinds, defaults) changed: its
    callers and whatever registers it would break, which no check of this file sees. Annotations
    may change; that is what some fixes are."""
    before = _functions(old)
    after = _functions(new)
    for name in sorted(keeps & before.keys() & after.keys()):
        was, now = before[name], after[name]
        if _decorators(was) != _decorators(now):
            return Rejected(f"it changes the decorators of `{name}` "
                            f"({', '.join(_decorators(was)) or 'none'} before)")
        if _parameters(was) != _parameters(now):
            return Rejected(f"it changes the parameters of `{name}`, which its callers pass")
    return None


def _dropped_argument(old: cst.Module, new: cst.Module) -> Rejected | None:
    """An argument the code passed that the rewrite no longer passes anywhere: a filter
    condition lost on the way from `query(...).filter(a).filter(b)` to `select(...).where(a)`.
    Only arguments without a call inside are compared (a call's own arguments are, and the call
    itself may be what the fix changes), and not literals (`@app.on_event("startup")` goes)."""
    code = cst.Module([]).code_for_node
    kept = "".join(code(new).split())
    for node in _arguments(old):
        text = "".join(code(node).split())
        if text not in kept:
            return Rejected(f"it drops `{code(node).strip()}`, an argument the code passed")
    return None


_LITERALS = (cst.SimpleString, cst.ConcatenatedString, cst.Integer, cst.Float, cst.Imaginary)


def _arguments(module: cst.Module) -> list[cst.BaseExpression]:
    class Arguments(cst.CSTVisitor):
        def __init__(self) -> None:
            super().__init__()
            self.found: list[cst.BaseExpression] = []

        def visit_Arg(self, node: cst.Arg) -> None:
            value = node.value
            if isinstance(value, _LITERALS) or (isinstance(value, cst.Name) and value.value in (
                    "None", "True", "False")):
                return
            calls = m.findall(value, m.Call())
            if not calls:
                self.found.append(value)

    seen = Arguments()
    module.visit(seen)
    return seen.found


def _functions(module: cst.Module) -> dict[str, cst.FunctionDef]:
    return {s.name.value: s for s in module.body if isinstance(s, cst.FunctionDef)}


def _decorators(function: cst.FunctionDef) -> list[str]:
    code = cst.Module([]).code_for_node
    return ["@" + "".join(code(d.decorator).split()) for d in function.decorators]


def _parameters(function: cst.FunctionDef) -> list[tuple[str, str, str]]:
    code = cst.Module([]).code_for_node
    p = function.params
    kinds = [("/", p.posonly_params), ("", p.params), ("*", [p.star_arg]),
             ("keyword", p.kwonly_params), ("**", [p.star_kwarg])]
    return [(kind, param.name.value, "".join(code(param.default).split()) if param.default else "")
            for kind, params in kinds for param in params if isinstance(param, cst.Param)]


def _returns_changed(old: str, new: str, region: Region, where: Collection[int],
                     tables: Sequence[ApiTable]) -> Rejected | None:
    """A kept function that returned a library object of a known class (an unfinished `Query`)
    and returns something else, or something not known to be that class: its callers use it."""
    from remora_review.checks.api import returned_classes

    before = returned_classes(cst.parse_module(old), tables, frozenset(region.lines()))
    after = returned_classes(cst.parse_module(new), tables, where)
    for name in sorted(region.keeps & before.keys() & after.keys()):
        known = {c for c in before[name] if c is not None}
        if known and not set(after[name]) <= known:
            return Rejected(f"it changes what `{name}` returns ({_classes(known)} before, "
                            f"{_classes(after[name])} now), which its callers use")
    return None


def _classes(names: Iterable[str | None]) -> str:
    return ", ".join(sorted({f"`{n.rsplit('.', 1)[-1]}`" if n else "not known" for n in names}))


def _defined(module: cst.Module) -> set[str]:
    """Names the module's top level defines."""
    out: set[str] = set()
    for statement in module.body:
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            out.add(statement.name.value)
        elif isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                targets: Iterable[cst.BaseExpression] = ()
                if isinstance(small, cst.Assign):
                    targets = [t.target for t in small.targets]
                elif isinstance(small, cst.AnnAssign):
                    targets = [small.target]
                out.update(t.value for t in targets if isinstance(t, cst.Name))
    return out


_BUILTINS = frozenset(dir(builtins)) | {"__file__", "__name__", "__doc__", "__class__"}


def _undefined(source: str) -> set[str]:
    """Names read somewhere in the module that no scope binds (nor the builtins)."""
    wrapper = wrap(cst.parse_module(source), source)
    scopes = {s for s in wrapper.resolve(Scopes).values() if s is not None}
    return {
        access.node.value for scope in scopes for access in scope.accesses
        if not access.referents and isinstance(access.node, cst.Name)
        and access.node.value not in _BUILTINS
    }


def _unknown_import(module: str, name: str | None, tables: Sequence[ApiTable]) -> Rejected | None:
    """An import from a pack's library that the installed version's API table does not have."""
    full = f"{module}.{name}" if name else module
    top = module.split(".")[0]
    for table in tables:
        names = _table_names(table)
        if not any(n.split(".")[0] == top for n in names):
            continue
        if table.canonical(full) is None and not any(n.startswith(full + ".") for n in names) \
                and not _installed_has(module, name):
            return Rejected(f"the API check: {table.library} {table.version} has no `{full}`")
    return None


def _installed_has(module: str, name: str | None) -> bool:
    """Whether the installed library has it after all: the table records classes and functions,
    not module-level instances such as sqlalchemy's `func`. Only a library a pack is for is
    imported here, and only when it is installed."""
    import importlib
    import importlib.util

    try:
        if importlib.util.find_spec(module.split(".")[0]) is None:
            return False
        found = importlib.import_module(module)
    except (ImportError, ValueError):
        return False
    return name is None or hasattr(found, name)


def _table_names(table: ApiTable) -> Collection[str]:
    return [*table.classes, *table.functions, *table.aliases]
