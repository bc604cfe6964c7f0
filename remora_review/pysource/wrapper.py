"""libcst's MetadataWrapper, less one walk of the module that gives nothing.

To resolve providers, libcst runs the ones it cannot batch on their own and then walks the module
once with the batchable ones, even when there are none. The checker's providers are not
batchable (Scopes, DefPositions): every module paid a walk for nothing, measured 3 % of
`check --all` on advanced-alchemy.

It also keeps the text a module was parsed from, where the parser's caller gives it: generating
the code of a module again costs about what `ast` takes to parse it (pysource/def_positions.py).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable

import libcst as cst
import libcst.metadata as meta

VisitorMethod = Callable[[cst.CSTNode], None]


class Wrapper(meta.MetadataWrapper):
    def __init__(self, module: cst.Module, source: str | None = None,
                 syntax: Callable[[str], ast.Module] = ast.parse) -> None:
        super().__init__(module, unsafe_skip_copy=True)
        # The text the module was parsed from (libcst's code of it, to the byte), where known:
        # a provider that reads the text need not generate the module's code again.
        self.source = source
        # Where a provider that reads the text's `ast` gets it (a run's shared trees); read only.
        self.syntax = syntax

    def visit_batched(
        self, visitors: Iterable[cst.BatchableCSTVisitor], before_visit: VisitorMethod | None = None,
        after_leave: VisitorMethod | None = None,
    ) -> cst.CSTNode:
        visitors = list(visitors)
        if not visitors:
            return self.module
        return super().visit_batched(visitors, before_visit, after_leave)


def wrap(module: cst.Module, source: str | None = None,
         syntax: Callable[[str], ast.Module] = ast.parse) -> Wrapper:
    """The module's wrapper, the module itself inside (no deep copy: nothing here changes it);
    `source`: the text it was parsed from, if the caller has it; `syntax`: where the text's
    `ast` comes from."""
    return Wrapper(module, source, syntax)
