"""Every check a review runs, registered in one list with the codes it reports and what it needs.

Adding a check is one module with a `build(env) -> Check` function, one entry below, and its
test. A check is imported only when a run builds it, so the entries say, before any import,
whether it needs packs and which codes it reports: a commit that activates no pack never imports
a pack check (nor libcst), and `--select` / `--ignore` skip a check whose codes are all off.
RR001 (a file that does not parse) is no entry here: it is the engine's gate before every check.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from remora_review.checks.trees import SharedTrees

if TYPE_CHECKING:
    from remora_review.checks.base import Check, Retrieval
    from remora_review.config import Settings
    from remora_review.config_file import PreSettings
    from remora_review.packs.loader import LoadedPack
    from remora_review.project.index import ProjectIndex


@dataclass(frozen=True)
class CheckEnv:
    """What one run hands the checks it builds."""

    root: Path
    settings: Settings
    packs: Mapping[str, LoadedPack]  # every pack some file of the run activates
    retrieval: Retrieval | None  # None without the embedding model
    project: Callable[[], ProjectIndex]  # the project's declarations, read on first call
    # Every file of the run as it is checked
    files: Sequence[RunFile] = ()
    # The libcst trees its readers share (checks/trees.py): the Runtime's, which the files'
    # contexts parse through.
    trees: SharedTrees = field(default_factory=SharedTrees)


@dataclass(frozen=True)
class RunFile:
    """One file of the run: its whole text, the packs it activates, and the lines the run
    reports on (None: all of them, as for `check --all`)."""

    path: str
    text: str
    packs: tuple[str, ...]
    lines: frozenset[int] | None = None


@dataclass(frozen=True)
class Registered:
    """One check: where it lives and what it declares."""

    name: str
    module: str  # defines `build(env: CheckEnv) -> Check`
    codes: tuple[str, ...]  # the codes it reports
    needs_packs: bool  # run only on files that activate a pack
    pack_codes: bool = False  # it also reports the codes the active packs' policies name

    def reports(self, packs: Iterable[LoadedPack]) -> tuple[str, ...]:
        if not self.pack_codes:
            return self.codes
        return (*self.codes, *(p.code for pack in packs for p in pack.manifest.policies))

    def build(self, env: CheckEnv) -> Check:
        check: Check = importlib.import_module(self.module).build(env)
        return check


CHECKS: tuple[Registered, ...] = (
    Registered("typehints", "remora_review.checks.typehints", ("RR101",), needs_packs=True),
    Registered("api", "remora_review.checks.api", ("RR201", "RR202", "RR203", "RR204"),
               needs_packs=True),
    Registered("policies", "remora_review.checks.policies.check", (), needs_packs=True,
               pack_codes=True),
)


def wanted(registered: Iterable[Registered], settings: PreSettings,
           packs: Mapping[str, LoadedPack]) -> tuple[Registered, ...]:
    """The checks a run needs: a pack check only when some file activates a pack, and only
    checks that may report a code --select / --ignore leave on."""
    return tuple(
        r for r in registered
        if (packs or not r.needs_packs)
        and any(settings.code_enabled(code) for code in r.reports(packs.values()))
    )


def build_checks(registered: Iterable[Registered], env: CheckEnv) -> tuple[Check, ...]:
    return tuple(r.build(env) for r in wanted(registered, env.settings, env.packs))
