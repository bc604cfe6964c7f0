"""The fix: the call rewritten (new callee, keywords set or renamed, the import it needs), in its own layout."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import libcst as cst
import libcst.metadata as meta


@dataclass(frozen=True)
class _CalleePlan:
    expression: str  # the callee as written at the call
    import_: tuple[str, str | None] | None  # (module, name) for AddImportsVisitor; None: bound


def split_target(replace_with: str) -> tuple[str, str]:
    """`acme.audit.AuditLogger.log_transaction` -> (`acme.audit`, `AuditLogger.log_transaction`).

    `module:object` says it explicitly; otherwise the object starts at the first capitalised
    component, else it is the last component (a function).
    """
    if ":" in replace_with:
        module, obj = replace_with.split(":", 1)
        return module, obj
    parts = replace_with.split(".")
    first_upper = next((i for i, p in enumerate(parts) if p[:1].isupper()), len(parts) - 1)
    first_upper = max(first_upper, 1)
    return ".".join(parts[:first_upper]), ".".join(parts[first_upper:])


def plan_callee(
    replace_with: str, scope: meta.Scope | None, global_scope: meta.Scope | None
) -> _CalleePlan | None:
    """How to write the new callee at the call, and what to import for it.

    `from module import Name` and `Name.attr`, unless `Name` is bound to something else, then
    `import module` and the dotted form; a name already imported from the module is reused.
    """
    module, obj = split_target(replace_with)
    full = f"{module}.{obj}"
    head = obj.split(".")[0]
    if scope is None or global_scope is None:
        return None

    def bound_to(name: str) -> set[str]:
        names = {*scope.get_qualified_names_for(name), *global_scope.get_qualified_names_for(name)}
        return {q.name for q in names}

    head_bound = bound_to(head)
    if head_bound == {f"{module}.{head}"}:
        return _CalleePlan(obj, None)
    alias = _bound_alias(scope, global_scope, module, full)
    if alias is not None:
        return _CalleePlan(alias, None)
    if not head_bound:
        return _CalleePlan(obj, (module, head))
    top = module.split(".")[0]
    if any(q != top and not q.startswith(top + ".") for q in bound_to(top)):
        return None  # both `AuditLogger` and `acme` mean something else here
    return _CalleePlan(full, (module, None))


def _bound_alias(scope: meta.Scope, global_scope: meta.Scope, module: str, full: str) -> str | None:
    """A module-level import that already reaches the target, e.g. `import acme.audit as au`."""
    options = []
    for assignment in global_scope.assignments:
        if not isinstance(assignment, meta.ImportAssignment):
            continue
        names = {q.name for q in scope.get_qualified_names_for(assignment.name)}
        if len(names) != 1:
            continue
        (qualified,) = names
        if full.startswith(qualified + ".") and len(qualified) >= len(module):
            options.append(assignment.name + full[len(qualified) :])
    return min(options, key=len) if options else None


def rewrite_call(
    call: cst.Call,
    callee: cst.BaseExpression,
    keywords: Mapping[str, cst.BaseExpression],
    renames: Mapping[str, str],
) -> cst.Call:
    args = [
        a.with_changes(keyword=cst.Name(renames[a.keyword.value]))
        if a.keyword is not None and a.keyword.value in renames
        else a
        for a in call.args
    ]
    for name, value in keywords.items():
        index = next((i for i, a in enumerate(args) if a.keyword and a.keyword.value == name), None)
        if index is not None:
            args[index] = args[index].with_changes(value=value)
        else:
            args = _append_keyword(call, args, name, value)
    return call.with_changes(func=callee, args=args)


def _append_keyword(
    call: cst.Call, args: list[cst.Arg], name: str, value: cst.BaseExpression
) -> list[cst.Arg]:
    """Add `name=value` last, in the call's layout: on the line, or on a line of its own.

    A comment after the old last argument stays with it; the new argument takes over what
    closed the call (the trailing comma, the newline before the parenthesis).
    """
    no_space = cst.SimpleWhitespace("")
    new = cst.Arg(
        value=value,
        keyword=cst.Name(name),
        equal=cst.AssignEqual(whitespace_before=no_space, whitespace_after=no_space),
    )
    if not args:
        return [new]
    last = args[-1]
    trailing = last.comma if isinstance(last.comma, cst.Comma) else None
    closing = trailing.whitespace_after if trailing else last.whitespace_after_arg
    before = trailing.whitespace_before if trailing else no_space
    if isinstance(closing, cst.ParenthesizedWhitespace):
        separator = cst.Comma(
            whitespace_before=before,
            whitespace_after=closing.with_changes(last_line=_argument_indent(call, args, closing)),
        )
        end: cst.BaseParenthesizableWhitespace = closing.with_changes(
            first_line=cst.TrailingWhitespace(), empty_lines=()
        )
    else:
        separator = cst.Comma(whitespace_before=before, whitespace_after=cst.SimpleWhitespace(" "))
        end = closing
    if trailing:
        new = new.with_changes(comma=trailing.with_changes(whitespace_after=end))
        last = last.with_changes(comma=separator)
    else:
        new = new.with_changes(whitespace_after_arg=end)
        last = last.with_changes(comma=separator, whitespace_after_arg=no_space)
    return [*args[:-1], last, new]


def _argument_indent(
    call: cst.Call, args: list[cst.Arg], closing: cst.ParenthesizedWhitespace
) -> cst.SimpleWhitespace:
    """The indentation the call's arguments already use on their own lines."""
    candidates: list[cst.BaseParenthesizableWhitespace] = [call.whitespace_before_args]
    if len(args) >= 2 and isinstance(args[-2].comma, cst.Comma):
        candidates.insert(0, args[-2].comma.whitespace_after)
    for candidate in candidates:
        if isinstance(candidate, cst.ParenthesizedWhitespace):
            return candidate.last_line
    return closing.last_line


def must_compile(source: str) -> None:
    """Raise unless Python compiles the text.

    Compiling, not just `ast.parse`: a rename can repeat a keyword, `f(b=1, b=2)`, which only the
    compiler refuses.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid escape sequences are not ours to report
        compile(source, "<fix>", "exec", dont_inherit=True)


@lru_cache(maxsize=256)
def parse_expression(text: str) -> cst.BaseExpression:
    return cst.parse_expression(text)


def fix_message(callee: str, keywords: Mapping[str, cst.BaseExpression]) -> str:
    extra = "".join(f", {k}={cst.Module([]).code_for_node(v)}" for k, v in keywords.items())
    return f"Use {callee}(...{extra})"
