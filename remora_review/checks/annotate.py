"""The type-hint fix's import: the annotated class imported where the module stays importable."""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor


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


def add_import(module: cst.Module, qualified: str, type_checking_only: bool) -> cst.Module:
    """The module importing the class `qualified` for an annotation: a plain `from x import Y` for a
    third-party library, or, for a first-party class (which could make an import cycle), one under
    `if TYPE_CHECKING:` with postponed evaluation of annotations."""
    package, _, name = qualified.rpartition(".")
    context = CodemodContext()
    if type_checking_only:
        module = _add_type_checking_import(module, package, name)
        AddImportsVisitor.add_needed_import(context, "__future__", "annotations")
        AddImportsVisitor.add_needed_import(context, "typing", "TYPE_CHECKING")
    else:
        AddImportsVisitor.add_needed_import(context, package, name)
    return AddImportsVisitor(context).transform_module(module)
