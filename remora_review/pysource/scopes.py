"""libcst's scope analysis as one provider that walks the module itself.

`ScopeProvider` and the `ExpressionContextProvider` it depends on are batchable providers
whose one visitor method is `visit_Module`, which runs their own visitor over the module.
Resolving them costs, per module, a batched walk of every node that calls nothing, and
`inspect.getmembers` over each provider's hundreds of `CSTVisitor` stubs to find that one
method: a tenth of a warm hook's review. `Scopes` runs the same two visitors directly and
gives the same scopes (tests/pysource/test_scopes.py compares them on real modules).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import libcst as cst
from libcst import metadata as meta
from libcst.metadata import scope_provider
from libcst.metadata.expression_context_provider import ExpressionContextVisitor
from libcst.metadata.scope_provider import ScopeVisitor

from remora_review.pysource.walk import ReadOnlyWalk


class _Recorder:
    """What the two visitors ask of their provider: somewhere to record each node's value, and
    (for the scope visitor) the expression contexts recorded before."""

    def __init__(self, record: Any, contexts: Mapping[cst.CSTNode, meta.ExpressionContext]):
        self.set_metadata = record
        self._contexts = contexts

    def get_metadata(self, key: type, node: cst.CSTNode, default: Any = None) -> Any:
        return self._contexts.get(node, default)


class _Contexts(ReadOnlyWalk, ExpressionContextVisitor):
    pass


def _with_subclasses(classes: tuple[type, ...]) -> frozenset[type]:
    found: set[type] = set()
    pending = list(classes)
    while pending:
        cls = pending.pop()
        if cls not in found:
            found.add(cls)
            pending.extend(cls.__subclasses__())
    return frozenset(found)


# The node classes whose leaving moves the scope's count of assignments on.
_ASSIGNMENT_LIKE = _with_subclasses(scope_provider._ASSIGNMENT_LIKE_NODES)


class _Scopes(ReadOnlyWalk, ScopeVisitor):
    def on_leave(self, original_node: cst.CSTNode) -> None:
        # ScopeVisitor.on_leave, with its `isinstance` over sixteen ABC node classes (a fifth of
        # the walk) as one set lookup.
        self.provider.set_metadata(original_node, self.scope)
        if type(original_node) in _ASSIGNMENT_LIKE:
            self.scope._assignment_count += 1
        self.leave_hook(original_node)


class Scopes(meta.BaseMetadataProvider[meta.Scope | None]):
    """Each node's scope, as `meta.ScopeProvider` gives it."""

    def _gen_impl(self, module: cst.Module) -> None:
        contexts: dict[cst.CSTNode, meta.ExpressionContext] = {}
        recorder: Any = _Recorder(contexts.__setitem__, {})  # what the visitors use of a provider
        module.visit(_Contexts(recorder, meta.ExpressionContext.LOAD))
        recorder = _Recorder(self.set_metadata, contexts)
        visitor = _Scopes(recorder)
        module.visit(visitor)
        visitor.infer_accesses()
