"""The protocols the engine and remora-train depend on, and the values they exchange."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np

TextKind = Literal["query", "document"]


@dataclass(frozen=True)
class Document:
    """One indexed text: an API entry, a mined typed usage, a policy context example, a glossary entry."""

    id: str  # stable within a pack, e.g. "usage:sqlalchemy.orm.Session:17"
    kind: str  # api | usage | policy_context | glossary | doc
    text: str
    label: str | None = None  # e.g. the annotation a usage was typed with
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Hit:
    document: Document
    score: float  # cosine similarity
    pack: str


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    @property
    def model_id(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: Sequence[str], kind: TextKind) -> np.ndarray: ...


class VectorIndex(Protocol):
    """Top-k cosine search over the documents of one or more packs."""

    def search(
        self,
        vectors: np.ndarray,
        k: int,
        packs: Sequence[str] | None = None,
        kinds: Sequence[str] | None = None,
    ) -> list[list[Hit]]: ...
