"""The wrapper resolves what libcst's does, without walking the module for an empty batch."""

from __future__ import annotations

import libcst as cst
import libcst.metadata as meta

from remora_review.pysource.def_positions import DefPositions
from remora_review.pysource.scopes import Scopes
from remora_review.pysource.wrapper import wrap

TEXT = "import a\n\ndef f(x):\n    return a.g(x)\n"


def test_an_empty_batch_walks_nothing_where_libcsts_walks_the_module() -> None:
    module = cst.parse_module(TEXT)
    walked: list[cst.CSTNode] = []
    meta.MetadataWrapper(module, unsafe_skip_copy=True).visit_batched(
        [], before_visit=walked.append)
    assert walked  # libcst's own: every node, for nothing
    walked.clear()
    assert wrap(module).visit_batched([], before_visit=walked.append) is module
    assert walked == []


def test_it_resolves_batchable_and_other_providers_alike() -> None:
    module = cst.parse_module(TEXT)
    ours = wrap(module)
    theirs = meta.MetadataWrapper(module, unsafe_skip_copy=True)
    for provider in (meta.ParentNodeProvider, meta.PositionProvider, DefPositions):
        assert dict(ours.resolve(provider)) == dict(theirs.resolve(provider))
    function = module.body[1]
    assert ours.resolve(Scopes)[function] is not None
