"""Which findings ask the code model for their fix, and what it is told: a policy whose fix is
`generate`, an API-check finding a pack's `rewrites` entry names, a deprecation without a rename."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from remora_review.findings import Finding

if TYPE_CHECKING:
    from remora_review.packs.loader import LoadedPack
    from remora_review.packs.manifest import RewriteExample

DEPRECATED = "RR204"  # checks/api.py; not imported, so this module stays free of libcst


@dataclass(frozen=True)
class Wanted:
    """A finding whose fix the code model is asked to write."""

    finding: Finding
    pack: LoadedPack
    hint: str  # what to change, in the pack's words (or the library's deprecation notice)
    examples: tuple[RewriteExample, ...] = ()


def wanted_fixes(findings: Sequence[Finding], packs: Mapping[str, LoadedPack]) -> list[Wanted]:
    """The findings without a fix that a pack says the code model should fix, in order."""
    out = []
    for finding in findings:
        pack = packs.get(finding.pack or "")
        if finding.fix is None and pack is not None:
            found = _spec(finding, pack)
            if found is not None:
                out.append(found)
    return out


def _spec(finding: Finding, pack: LoadedPack) -> Wanted | None:
    manifest = pack.manifest
    for policy in manifest.policies:
        if policy.code == finding.code and policy.fix == "generate":
            return Wanted(finding, pack, policy.hint or policy.message, policy.examples)
    names = {finding.data.get("callee"), finding.data.get("target")} - {None}
    for rewrite in manifest.rewrites:
        if (rewrite.code == finding.code and rewrite.callee in names
                and rewrite.keyword in (None, finding.data.get("keyword"))):
            return Wanted(finding, pack, rewrite.hint, rewrite.examples)
    if finding.code == DEPRECATED and manifest.kind == "library":
        # The library's own notice names what replaces it; the API check found no rename.
        return Wanted(finding, pack, finding.message)
    return None
