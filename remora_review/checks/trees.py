"""libcst trees that more than one reader of a run analyses, parsed and resolved once.

The type-hint check's propagation (infer/propagation.py) reads every file a run takes whole, with
the same scope, parent and qualified-name metadata that each file's own checks read again right
after: on `check --all` that was every such file parsed and resolved twice. Whoever parses a
shared text first parses it for the other. Only the texts a reader registers are kept, and only
for the run (a run over a large repository must not hold every tree it read).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import libcst.metadata as meta

    from remora_review.infer.profile import ProfileBuilder


class SharedTrees:
    """The run's shared trees by text (the text parsed, as given: folded or not)."""

    def __init__(self) -> None:
        self._shared: set[str] = set()
        self._held: dict[str, meta.MetadataWrapper] = {}
        self._builders: dict[int, ProfileBuilder] = {}  # by id of a held tree

    def share(self, texts: Iterable[str]) -> None:
        """Keep the trees of these texts, once parsed, for every later reader of the run."""
        self._shared.update(texts)

    def parse(self, text: str) -> meta.MetadataWrapper:
        """The tree of `text` (raises libcst.ParserSyntaxError): the one kept, or a new parse,
        kept when the text is shared. Readers may resolve metadata on it; none may change it."""
        held = self._held.get(text)
        if held is not None:
            return held
        import libcst as cst
        import libcst.metadata as meta

        wrapper = meta.MetadataWrapper(cst.parse_module(text), unsafe_skip_copy=True)
        if text in self._shared:
            self._held[text] = wrapper
        return wrapper

    def builder(self, wrapper: meta.MetadataWrapper) -> ProfileBuilder:
        """The usage-profile builder of a tree: one per kept tree, so that what it works out
        (parent links, receivers, each function's sites) is worked out once per run."""
        from remora_review.infer.profile import ProfileBuilder

        if not any(held is wrapper for held in self._held.values()):
            return ProfileBuilder(wrapper)
        found = self._builders.get(id(wrapper))
        if found is None:
            found = self._builders[id(wrapper)] = ProfileBuilder(wrapper)
        return found
