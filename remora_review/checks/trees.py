"""libcst trees that more than one reader of a run analyses, parsed and resolved once.

The type-hint check's propagation (infer/propagation.py) reads every file a run takes whole, with
the same scope, parent and qualified-name metadata that each file's own checks read again right
after: on `check --all` that was every such file parsed and resolved twice. Whoever parses a
shared text first parses it for the other. Only the texts a reader registers are kept, and only
for the run (a run over a large repository must not hold every tree it read).

The same goes for Python's own `ast`: the syntax check, the folding, the import scan and the
unannotated-parameter test each parsed the same file again (a ninth of `check --all`). What they
read of a text is worked out in its one parse and kept for the run (TextFacts: small); the tree
itself only for the last few texts (slicing reads it right after), and for the files the type-hint
check's propagation takes, which its positions, its facts and the fixes' imports read again.
"""

from __future__ import annotations

import ast
from collections import OrderedDict
from collections.abc import Callable, Iterable
from functools import cached_property
from typing import TYPE_CHECKING

from remora_review.checks.syntax import parse_quietly

if TYPE_CHECKING:
    import libcst.metadata as meta

    from remora_review.checks.folded import Analysed
    from remora_review.infer.profile import ProfileBuilder

# The readers of one file come one after another; a few trees more serve the run's first pass
# over every file (which files propagation takes, their analysed texts).
_SYNTAX_KEPT = 4


class _LastTrees:
    """The `ast` of the last few texts parsed, or why each did not parse; and of the texts held
    for the run (the files propagation takes, which several readers parse far apart)."""

    def __init__(self) -> None:
        self._kept: OrderedDict[str, ast.Module | SyntaxError | ValueError] = OrderedDict()
        self._held: dict[str, ast.Module | SyntaxError | ValueError | None] = {}

    def hold(self, text: str) -> None:
        """Keep the text's tree for the run: the one parsed last, if it is among the last few,
        else the next."""
        self._held[text] = self._held.get(text) or self._kept.get(text)

    def release(self, text: str) -> None:
        self._held.pop(text, None)

    def parse(self, text: str) -> ast.Module:
        found = self._held.get(text) or self._kept.get(text)
        if found is None:
            try:
                found = parse_quietly(text)
            except (SyntaxError, ValueError) as e:
                found = e
            self._kept[text] = found
            if len(self._kept) > _SYNTAX_KEPT:
                self._kept.popitem(last=False)
        elif text in self._kept:
            self._kept.move_to_end(text)
        if text in self._held:
            self._held[text] = found
        if isinstance(found, Exception):
            raise found
        return found


class TextFacts:
    """What the run's readers take from a text's `ast`, each worked out on first use from the
    tree its last parse left (_LastTrees keeps the last few). Whether the text parses
    is known from whichever read came first."""

    def __init__(self, text: str, syntax: Callable[[str], ast.Module]) -> None:
        self._text = text
        self._syntax = syntax
        self._error: SyntaxError | ValueError | None = None
        self._parsed = False

    def _tree(self) -> ast.Module | None:
        try:
            tree = self._syntax(self._text)
        except (SyntaxError, ValueError) as e:
            self._error = e
            tree = None
        self._parsed = True
        return tree

    @property
    def error(self) -> SyntaxError | ValueError | None:
        """Why `ast` refuses the text; None where it parses."""
        if not self._parsed:
            self._tree()
        return self._error

    @cached_property
    def unannotated(self) -> bool:
        """Some parameter lacks an annotation (infer/rounds.py: has_unannotated)."""
        from remora_review.infer.rounds import has_unannotated

        tree = self._tree()
        return tree is None or has_unannotated(self._text, lambda _: tree)

    @cached_property
    def analysed(self) -> Analysed:
        """The text the type-hint and API checks analyse (checks/folded.py)."""
        from remora_review.checks.folded import Analysed, analysed_text

        tree = self._tree()
        return Analysed(self._text) if tree is None else analysed_text(self._text, lambda _: tree)

    @cached_property
    def imports(self) -> tuple[tuple[str, ...], bool]:
        """The names its absolute imports bind or reach, and whether it star-imports
        (pysource/imports.py: reached_by_imports); a text that does not parse may import
        anything."""
        from remora_review.pysource.imports import reached_by_imports

        tree = self._tree()
        return ((), True) if tree is None else reached_by_imports(tree)


class SharedTrees:
    """The run's shared trees by text (the text parsed, as given: folded or not)."""

    def __init__(self) -> None:
        self._shared: set[str] = set()
        self._held: dict[str, meta.MetadataWrapper] = {}
        self._builders: dict[int, ProfileBuilder] = {}  # by id of a held tree
        self._syntax = _LastTrees()
        self._facts: dict[str, TextFacts] = {}

    def syntax(self, text: str) -> ast.Module:
        """Python's `ast` of `text` (raises SyntaxError or ValueError, as ast.parse does). Kept
        for the last few texts and the held ones (`hold_syntax`); readers must not change it."""
        return self._syntax.parse(text)

    def facts(self, text: str) -> TextFacts:
        """What the run's readers take from the text's `ast`, kept for the run (it is small)."""
        found = self._facts.get(text)
        if found is None:
            # The parse function is the last trees' own, not a method of this object, which
            # would make a reference cycle of every run's SharedTrees.
            found = self._facts[text] = TextFacts(text, self._syntax.parse)
        return found

    def hold_syntax(self, text: str) -> None:
        """Keep the text's `ast` for the run (`syntax`), not only among the last few."""
        self._syntax.hold(text)

    def release_syntax(self, text: str) -> None:
        self._syntax.release(text)

    def read_whole(self, text: str) -> TextFacts:
        """The facts of a text the run reads whole (`check --all`, a new file), all worked out
        now from one parse: its readers (the type-hint check first, for every such file) take
        them all, and one by one later each would parse it again."""
        found = self.facts(text)
        found.unannotated, found.analysed, found.imports  # noqa: B018
        return found

    def analysed(self, text: str) -> Analysed:
        """The text the type-hint and API checks analyse (checks/folded.py), once per run."""
        return self.facts(text).analysed

    def unannotated(self, text: str) -> bool:
        """Whether some parameter of the text lacks an annotation (infer/rounds.py), once per run."""
        return self.facts(text).unannotated

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

        wrapper = wrap(cst.parse_module(text), text, self._syntax.parse)
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
