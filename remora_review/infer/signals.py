"""Which evidence type inference weighs: all of it in the product, subsets for the dev set's ablations."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Signals:
    structure: bool = True  # members, signatures, mined member statistics, the project's rivals
    embedding: bool = True  # the nearest mined usages vote for their labels
    name: bool = True  # the packs' and the project's statistics of parameter names
    flow: bool = True  # declared types around the parameter (needs structure)


ALL = Signals()
