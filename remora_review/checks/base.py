"""What every check receives, what it returns, and the protocol it implements."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Protocol

from remora_review.checks.trees import SharedTrees
from remora_review.config import Settings
from remora_review.findings import Finding

if TYPE_CHECKING:
    import libcst as cst
    import libcst.metadata as meta

    from remora_review.checks.folded import Analysed
    from remora_review.packs.loader import LoadedPack
    from remora_review.retrieval.base import Embedder, VectorIndex


class Retrieval(Protocol):
    """The embedding side of the packs, shared by every file of a run."""

    def embedder_for(self, pack: LoadedPack) -> Embedder: ...

    def index(self) -> VectorIndex: ...


@dataclass(frozen=True)
class FileContext:
    """One Python file with the facts checks need; parsed with libcst on first use (a check that
    reads only the text never imports libcst), metadata resolved once, on demand."""

    path: str  # relative to the repository root, with '/'
    # The text checks analyse: the file with untouched functions blanked out (pysource/slicing.py). Every
    # line it keeps has the original's number and text, so edits against it apply to the file.
    source: str
    # Lines the change touched, in this file's numbering; None when the whole file is in scope.
    changed_lines: frozenset[int] | None
    packs: tuple[LoadedPack, ...]  # packs active for this file
    retrieval: Retrieval | None  # None when the embedding extra is not installed
    settings: Settings

    # Where its trees come from: the run's, so that a tree another reader of the run parsed
    # (propagation, checks/trees.py) is not parsed and resolved again.
    trees: SharedTrees = field(default_factory=SharedTrees)

    @cached_property
    def module(self) -> cst.Module:
        """The libcst tree of `source`; raises libcst.ParserSyntaxError where libcst cannot parse."""
        return self.wrapper.module

    @cached_property
    def wrapper(self) -> meta.MetadataWrapper:
        return self.trees.parse(self.source)

    @cached_property
    def analysed_text(self) -> Analysed:
        """`source` as the type-hint and API checks analyse it (checks/folded.py): imports that
        nothing else names blanked, long blank runs folded; same positions, scopes and names."""
        return self.trees.analysed(self.source)

    @cached_property
    def analysed(self) -> meta.MetadataWrapper:
        """The wrapper the type-hint and API checks read, so that they pay for scope analysis
        once: `analysed_text`, which has the same positions, scopes and names in fewer nodes. Its
        module's code is not `source`: read positions from it, never text (`module` is the slice
        itself), and the imports it left out from `analysed_text.dropped`."""
        import libcst as cst

        text = self.analysed_text.text
        if text != self.source:
            # libcst parsed the slice, so the analysed text parses too; were it not, the slice serves
            with contextlib.suppress(cst.ParserSyntaxError):
                return self.trees.parse(text)
        return self.wrapper

    def touches(self, start: int, end: int) -> bool:
        """Whether a line span overlaps the change (always true for whole-file runs)."""
        if self.changed_lines is None:
            return True
        return any(line in self.changed_lines for line in range(start, end + 1))


@dataclass(frozen=True)
class CheckResult:
    """What a check says about one file: its findings, and notes on what it could not decide or
    fix (the review prints each note once)."""

    findings: tuple[Finding, ...] = ()
    notes: tuple[str, ...] = ()


class Check(Protocol):
    """A check looks at one file; it must not raise for any valid Python (a strict run re-raises
    what it does raise, so tests catch it; otherwise it becomes a note)."""

    name: str
    # The codes it reports, for --select / --ignore; empty: only known at run time (a pack's
    # policies), so the engine never skips it by code.
    codes: Sequence[str]
    needs_packs: bool  # skip the check on files that activate no pack

    def run(self, ctx: FileContext) -> CheckResult: ...
