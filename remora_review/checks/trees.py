"""libcst trees that more than one reader of a run analyses, parsed and resolved once.

The type-hint check's propagation (infer/propagation.py) reads every file a run takes whole, with
the same scope, parent and qualified-name metadata that each file's own checks read again right
after: on `check --all` that was every such file parsed and resolved twice. Whoever parses a
shared text first parses it for the other. Only the texts a reader registers are kept, and only
for the run (a run over a large repository must not hold every tree it read).

The same goes for Python's own `ast`: the syntax check, the folding, the import scans and the
unannotated-parameter test each parsed the same file again (a ninth of `check --all`). The last
few texts' trees are kept, and what is worked out from them for every file of the run.
"""

from __future__ import annotations

import ast
import warnings
from collections import OrderedDict
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import libcst.metadata as meta

    from remora_review.checks.folded import Analysed
    from remora_review.infer.profile import ProfileBuilder

# The readers of one file come one after another; a few trees more serve the run's first pass
# over every file (which files propagation takes, their analysed texts).
_SYNTAX_KEPT = 4


class SharedTrees:
    """The run's shared trees by text (the text parsed, as given: folded or not)."""

    def __init__(self) -> None:
        self._shared: set[str] = set()
        self._held: dict[str, meta.MetadataWrapper] = {}
        self._builders: dict[int, ProfileBuilder] = {}  # by id of a held tree
        self._syntax: OrderedDict[str, ast.Module | SyntaxError | ValueError] = OrderedDict()
        self._analysed: dict[str, Analysed] = {}
        self._unannotated: dict[str, bool] = {}

    def syntax(self, text: str) -> ast.Module:
        """Python's `ast` of `text` (raises SyntaxError or ValueError, as ast.parse does). Kept
        for the last few texts only; readers must not change it."""
        found = self._syntax.get(text)
        if found is None:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # invalid escape sequences: not ours to say
                    found = ast.parse(text)
            except (SyntaxError, ValueError) as e:
                found = e
            self._syntax[text] = found
            if len(self._syntax) > _SYNTAX_KEPT:
                self._syntax.popitem(last=False)
        else:
            self._syntax.move_to_end(text)
        if isinstance(found, Exception):
            raise found
        return found

    def analysed(self, text: str) -> Analysed:
        """The text the type-hint and API checks analyse (checks/folded.py), once per run."""
        found = self._analysed.get(text)
        if found is None:
            from remora_review.checks.folded import analysed_text

            found = self._analysed[text] = analysed_text(text, self.syntax)
        return found

    def unannotated(self, text: str) -> bool:
        """Whether some parameter of the text lacks an annotation (infer/rounds.py), once per run."""
        found = self._unannotated.get(text)
        if found is None:
            from remora_review.infer.rounds import has_unannotated

            found = self._unannotated[text] = has_unannotated(text, self.syntax)
        return found

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

        from remora_review.pysource.wrapper import wrap

        wrapper = wrap(cst.parse_module(text))
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
