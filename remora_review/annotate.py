"""The type-hint fix: annotate one parameter and import its class where the module stays importable."""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor


class _Annotate(cst.CSTTransformer):
    def __init__(self, target: cst.Param, annotation: str) -> None:
        self.target = target
        self.annotation = annotation

    def leave_Param(self, original: cst.Param, updated: cst.Param) -> cst.Param:
        if original is not self.target:
            return updated
        return updated.with_changes(
            annotation=cst.Annotation(cst.parse_expression(self.annotation)),
            whitespace_after_param=updated.whitespace_after_param,
        )


def _is_type_checking_block(stmt: cst.CSTNode) -> bool:
    return m.matches(
        stmt,
        m.If(test=m.Name("TYPE_CHECKING") | m.Attribute(value=m.Name("typing"),
                                                        attr=m.Name("TYPE_CHECKING"))),
    )


def _add_type_checking_import(module: cst.Module, package: str, name: str) -> cst.Module:
    """`from package import name` under `if TYPE_CHECKING:`, creating the block after the imports."""
    line = cst.parse_statement(f"from {package} import {name}\n")
    body = list(module.body)
    for i, stmt in enumerate(body):
        if _is_type_checking_block(stmt) and isinstance(stmt, cst.If):
            block = stmt.body
            if isinstance(block, cst.IndentedBlock):
                body[i] = stmt.with_changes(body=block.with_changes(body=[*block.body, line]))
                return module.with_changes(body=body)
    last_import = -1
    for i, stmt in enumerate(body):
        if m.matches(stmt, m.SimpleStatementLine(body=[m.Import() | m.ImportFrom()])):
            last_import = i
    guarded = cst.parse_statement(f"if TYPE_CHECKING:\n    from {package} import {name}\n")
    body.insert(last_import + 1, guarded)
    return module.with_changes(body=body)


def annotate_parameter(
    module: cst.Module,
    param: cst.Param,
    qualified: str,
    local_name: str | None,
    type_checking_only: bool,
) -> cst.Module:
    """Return the module with `param` annotated by the class `qualified` (e.g. sqlalchemy.orm.Session).

    `local_name` is a name the module already binds to that class; else an import is added:
    a plain `from x import Y` for a third-party library, or, for a first-party class (which could
    make an import cycle), one under `if TYPE_CHECKING:` with postponed evaluation of annotations.
    """
    package, _, name = qualified.rpartition(".")
    annotated = module.visit(_Annotate(param, local_name or name))
    if local_name is not None:
        return annotated
    context = CodemodContext()
    if type_checking_only:
        annotated = _add_type_checking_import(annotated, package, name)
        AddImportsVisitor.add_needed_import(context, "__future__", "annotations")
        AddImportsVisitor.add_needed_import(context, "typing", "TYPE_CHECKING")
    else:
        AddImportsVisitor.add_needed_import(context, package, name)
    return AddImportsVisitor(context).transform_module(annotated)
