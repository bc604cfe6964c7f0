"""The default index: each pack's documents.jsonl + memory-mapped vectors.npy, exact cosine top-k."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from remora_review.atomic import atomic_writer, write_atomic
from remora_review.errors import UserError
from remora_review.packs.data import documents_bytes, read_documents
from remora_review.retrieval.base import Document, Hit

__all__ = ["DOCUMENTS_FILE", "VECTORS_FILE", "read_documents", "read_index", "write_documents",
           "write_index"]

DOCUMENTS_FILE = "documents.jsonl"
VECTORS_FILE = "vectors.npy"
_LOOP_QUERIES = 16  # up to this many queries, no BLAS (_dot)
_MAX_SLICED_RUNS = (
    8  # past this many row runs, one matmul over the whole pack and a gather is faster
)


def check_vectors(vectors: np.ndarray, count: int, where: str) -> None:
    if vectors.ndim != 2 or vectors.dtype != np.float32:
        raise UserError(
            f"{where}: vectors must be float32 [n, dim], got {vectors.dtype} {vectors.shape}"
        )
    if vectors.shape[0] != count:
        raise UserError(f"{where}: {vectors.shape[0]} vectors for {count} documents")


def write_documents(path: Path, documents: Sequence[Document]) -> None:
    """documents.jsonl (packs/data.py), written atomically."""
    data = documents_bytes(documents)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data)


def write_index(directory: Path, documents: Sequence[Document], vectors: np.ndarray) -> None:
    """Write documents.jsonl and vectors.npy, grouped by kind so kind filters read contiguous rows."""
    check_vectors(vectors, len(documents), str(directory))
    order = sorted(range(len(documents)), key=lambda i: documents[i].kind)
    ordered = np.ascontiguousarray(vectors[order], dtype=np.float32)
    directory.mkdir(parents=True, exist_ok=True)
    # Vectors first: a reader racing a rewrite sees a count mismatch (an error), not a half file.
    with atomic_writer(directory / VECTORS_FILE) as f:
        np.save(f, ordered, allow_pickle=False)
    write_documents(directory / DOCUMENTS_FILE, [documents[i] for i in order])


def read_index(directory: Path) -> tuple[list[Document], np.ndarray]:
    """One pack's documents and its vectors, memory-mapped read-only."""
    documents = read_documents(directory / DOCUMENTS_FILE)
    try:
        vectors = np.load(directory / VECTORS_FILE, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as e:
        raise UserError(f"{directory / VECTORS_FILE}: cannot read index vectors ({e})") from None
    check_vectors(vectors, len(documents), str(directory))
    return documents, vectors


def _runs(rows: np.ndarray) -> tuple[tuple[int, int], ...]:
    """Sorted row numbers as half-open [start, end) runs of consecutive rows."""
    if rows.size == 0:
        return ()
    breaks = np.flatnonzero(np.diff(rows) != 1)
    starts = np.concatenate(([rows[0]], rows[breaks + 1]))
    ends = np.concatenate((rows[breaks], [rows[-1]])) + 1
    return tuple(zip(starts.tolist(), ends.tolist()))


def _dot(block: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Scores [rows, queries]. A few queries (one file's parameters) go through numpy's own loop:
    BLAS would split the product over threads, and in the warm server, where the embedder's
    threads hold the cores, waiting for them cost about 5 ms a search (measured: half of the
    searches' 50 ms in a ten-file review) where the loop takes 0.3 ms over 3k x 384."""
    if queries.shape[0] <= _LOOP_QUERIES:
        return np.einsum("nd,qd->nq", block, queries)
    return block @ queries.T


@dataclass(frozen=True, eq=False)
class _Pack:
    name: str
    documents: Sequence[Document]
    vectors: np.ndarray
    kind_rows: Mapping[str, np.ndarray]

    @classmethod
    def build(cls, name: str, documents: Sequence[Document], vectors: np.ndarray) -> _Pack:
        check_vectors(vectors, len(documents), f"pack {name}")
        kinds = np.array([d.kind for d in documents], dtype=object)
        kind_rows = {str(k): np.flatnonzero(kinds == k) for k in dict.fromkeys(kinds.tolist())}
        return cls(name, documents, vectors, kind_rows)

    def scores(
        self, queries: np.ndarray, kinds: Sequence[str] | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Cosine scores [rows, queries] of the rows of the given kinds, and those row numbers."""
        if kinds is None:
            return _dot(self.vectors, queries), np.arange(len(self.documents))
        picked = [self.kind_rows[k] for k in dict.fromkeys(kinds) if k in self.kind_rows]
        rows = np.sort(np.concatenate(picked)) if picked else np.zeros(0, dtype=np.intp)
        runs = _runs(rows)
        if len(runs) > _MAX_SLICED_RUNS:
            return _dot(self.vectors, queries)[rows], rows
        blocks = [_dot(self.vectors[s:e], queries) for s, e in runs]
        if not blocks:
            return np.zeros((0, queries.shape[0]), dtype=np.float32), rows
        return (blocks[0] if len(blocks) == 1 else np.concatenate(blocks)), rows


class EmbeddedIndex:
    """A `VectorIndex` over packs held in memory or memory-mapped from their index files."""

    def __init__(self, packs: Sequence[_Pack]) -> None:
        self._packs = {p.name: p for p in packs}

    @classmethod
    def from_parts(
        cls, parts: Sequence[tuple[str, Sequence[Document], np.ndarray]]
    ) -> EmbeddedIndex:
        return cls([_Pack.build(name, docs, vectors) for name, docs, vectors in parts])

    @classmethod
    def open(cls, dirs: Mapping[str, Path]) -> EmbeddedIndex:
        return cls.from_parts([(name, *read_index(d)) for name, d in dirs.items()])

    @property
    def packs(self) -> tuple[str, ...]:
        return tuple(self._packs)

    def part(self, pack: str) -> tuple[Sequence[Document], np.ndarray]:
        p = self._packs[pack]
        return p.documents, p.vectors

    def search(
        self,
        vectors: np.ndarray,
        k: int,
        packs: Sequence[str] | None = None,
        kinds: Sequence[str] | None = None,
    ) -> list[list[Hit]]:
        queries = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        if k <= 0:
            return [[] for _ in range(queries.shape[0])]
        chosen = [
            self._packs[n]
            for n in (packs if packs is not None else self._packs)
            if n in self._packs
        ]
        found: list[tuple[_Pack, np.ndarray, np.ndarray]] = []  # pack, rows, scores [rows, queries]
        for pack in chosen:
            if pack.vectors.shape[1] != queries.shape[1]:
                raise UserError(
                    f"pack {pack.name}: index vectors have {pack.vectors.shape[1]} dimensions, "
                    f"the query has {queries.shape[1]} (was it built with another embedding model?)"
                )
            scores, rows = pack.scores(queries, kinds)
            if k < len(rows):
                best = np.argpartition(-scores, k - 1, axis=0)[:k]  # [k, queries]
                scores = np.take_along_axis(scores, best, axis=0)
                rows = rows[best]
            else:
                rows = np.repeat(rows[:, None], queries.shape[0], axis=1)
            found.append((pack, rows, scores))
        return [self._merge(found, q, k) for q in range(queries.shape[0])]

    @staticmethod
    def _merge(found: list[tuple[_Pack, np.ndarray, np.ndarray]], q: int, k: int) -> list[Hit]:
        if not found:
            return []
        scores = np.concatenate([s[:, q] for _, _, s in found])
        owner = np.concatenate([np.full(len(s), i) for i, (_, _, s) in enumerate(found)])
        rows = np.concatenate([r[:, q] for _, r, _ in found])
        top = np.argsort(-scores, kind="stable")[:k]
        return [
            Hit(found[owner[i]][0].documents[rows[i]], float(scores[i]), found[owner[i]][0].name)
            for i in top
        ]
