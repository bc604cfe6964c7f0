"""Pick the vector index the settings ask for, falling back to the packs' own files when told to."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from remora_review.config import Index
from remora_review.errors import UserError
from remora_review.retrieval.base import Document, Hit, VectorIndex
from remora_review.retrieval.embedded_index import EmbeddedIndex, read_index

DSN_VARIABLE = "REMORA_DATABASE_URL"


@dataclass(frozen=True, eq=False)
class IndexPart:
    """One activated pack's index as shipped in the pack."""

    pack: str
    version: str
    documents: Sequence[Document]
    vectors: np.ndarray  # float32 [n, dim], often memory-mapped

    @classmethod
    def from_directory(cls, pack: str, version: str, directory: Path) -> IndexPart:
        return cls(pack, version, *read_index(directory))


def _print_warning(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def resolve_dsn(settings: Index, environ: Mapping[str, str] = os.environ) -> str | None:
    return settings.dsn or environ.get(DSN_VARIABLE) or None


def embedded(parts: Sequence[IndexPart]) -> EmbeddedIndex:
    return EmbeddedIndex.from_parts([(p.pack, p.documents, p.vectors) for p in parts])


def open_index(
    settings: Index,
    parts: Sequence[IndexPart],
    environ: Mapping[str, str] = os.environ,
    warn: Callable[[str], None] = _print_warning,
) -> VectorIndex:
    """The embedded index, or the database's, with packs it lacks served from their own files."""
    if settings.backend == "embedded":
        return embedded(parts)
    dsn = resolve_dsn(settings, environ)
    try:
        if dsn is None:
            raise UserError(
                f"index backend is pgvector but no DSN is set "
                f"([tool.remora-review.index] dsn or {DSN_VARIABLE})"
            )
        from remora_review.retrieval.pgvector_index import PgVectorIndex

        remote = PgVectorIndex(dsn)
        catalog = remote.active()
    except UserError as e:
        if settings.fallback != "embedded":
            raise
        warn(f"{e}; searching the packs' embedded indexes instead")
        return embedded(parts)
    stale = [p for p in parts if p.pack not in catalog or catalog[p.pack].version != p.version]
    if not stale:
        return remote
    warn(
        f"index database at {remote.where} lacks "
        + ", ".join(f"{p.pack} {p.version}" for p in stale)
        + "; searching their embedded indexes"
    )
    local_packs = tuple(p.pack for p in stale)
    remote_packs = tuple(name for name in catalog if name not in local_packs)
    if not remote_packs:
        remote.close()
        return embedded(parts)
    return RoutedIndex(remote, remote_packs, embedded(stale), local_packs)


@dataclass(frozen=True)
class RoutedIndex:
    """Sends each pack to the index that holds its current version and merges the hits."""

    remote: VectorIndex
    remote_packs: tuple[str, ...]
    local: VectorIndex
    local_packs: tuple[str, ...]

    def search(
        self,
        vectors: np.ndarray,
        k: int,
        packs: Sequence[str] | None = None,
        kinds: Sequence[str] | None = None,
    ) -> list[list[Hit]]:
        queries = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        merged: list[list[Hit]] = [[] for _ in range(queries.shape[0])]
        for index, names in ((self.remote, self.remote_packs), (self.local, self.local_packs)):
            chosen = [n for n in names if packs is None or n in packs]
            if chosen:
                for row, hits in zip(merged, index.search(queries, k, chosen, kinds)):
                    row.extend(hits)
        return [sorted(row, key=lambda h: -h.score)[:k] for row in merged]
