"""The protocol a code host implements, so the review can be posted where the change lives.

The GitHub implementation (github3.py, one review per run, suggestions anchored inside the diff,
de-duplicated by finding fingerprints) is the next step; the engine already produces everything
it needs: findings with fixes and stable fingerprints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from remora_review.findings import Finding


@dataclass(frozen=True)
class ReviewTarget:
    repository: str  # owner/name
    number: int  # pull request number
    base: str  # commit ids
    head: str


class GitHost(Protocol):
    def existing_fingerprints(self, target: ReviewTarget) -> frozenset[str]: ...

    def post_review(
        self, target: ReviewTarget, findings: Sequence[Finding], fingerprints: Sequence[str]
    ) -> str: ...
