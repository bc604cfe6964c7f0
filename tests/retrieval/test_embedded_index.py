"""The file-backed index: exact top-k against brute force, filters, files on disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from remora_review.errors import UserError
from remora_review.retrieval.base import Document
from remora_review.retrieval.embedded_index import (
    DOCUMENTS_FILE,
    VECTORS_FILE,
    EmbeddedIndex,
    read_documents,
    read_index,
    write_index,
)

KINDS = ("api", "usage", "doc", "policy_context")


def unit_rows(rng: np.random.Generator, n: int, dim: int = 16) -> np.ndarray:
    v = rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def documents(pack: str, n: int) -> list[Document]:
    return [
        Document(
            f"{pack}:{i}",
            KINDS[i % 3 if i % 7 else 3],
            f"text {i}",
            label=f"L{i % 4}",
            meta={"i": i},
        )
        for i in range(n)
    ]


def brute_force(
    parts: list[tuple[str, list[Document], np.ndarray]],
    query: np.ndarray,
    k: int,
    packs: list[str] | None,
    kinds: list[str] | None,
) -> list[tuple[str, str]]:
    scored = [
        (float(v @ query), name, doc.id)
        for name, docs, vectors in parts
        if packs is None or name in packs
        for doc, v in zip(docs, vectors)
        if kinds is None or doc.kind in kinds
    ]
    scored.sort(key=lambda s: -s[0])
    return [(name, doc_id) for _, name, doc_id in scored[:k]]


def two_packs(
    seed: int, sizes: tuple[int, int] = (300, 120)
) -> list[tuple[str, list[Document], np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [
        (name, documents(name, n), unit_rows(rng, n))
        for name, n in zip(("sqlalchemy", "httpx"), sizes)
    ]


@pytest.mark.parametrize(
    ("packs", "kinds"),
    [
        (None, None),
        (["httpx"], None),
        (None, ["usage"]),
        (["sqlalchemy"], ["api", "policy_context"]),
    ],
)
def test_top_k_matches_brute_force(packs: list[str] | None, kinds: list[str] | None) -> None:
    parts = two_packs(1)
    index = EmbeddedIndex.from_parts(parts)
    queries = unit_rows(np.random.default_rng(2), 5)
    results = index.search(queries, 10, packs=packs, kinds=kinds)
    assert len(results) == 5
    for query, hits in zip(queries, results):
        assert [(h.pack, h.document.id) for h in hits] == brute_force(
            parts, query, 10, packs, kinds
        )
        scores = [h.score for h in hits]
        assert scores == sorted(scores, reverse=True)
        assert all(
            (packs is None or h.pack in packs) and (kinds is None or h.document.kind in kinds)
            for h in hits
        )


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    k=st.integers(0, 40),
    kinds=st.one_of(st.none(), st.lists(st.sampled_from((*KINDS, "glossary")), max_size=3)),
    sizes=st.tuples(st.integers(0, 30), st.integers(1, 30)),
)
def test_top_k_property(seed: int, k: int, kinds: list[str] | None, sizes: tuple[int, int]) -> None:
    parts = two_packs(seed, sizes)
    query = unit_rows(np.random.default_rng(seed + 1), 1)
    [hits] = EmbeddedIndex.from_parts(parts).search(query, k, kinds=kinds)
    expected = brute_force(parts, query[0], k, None, kinds)
    # Equal scores may come in either order; compare scores, then ids where scores differ.
    assert len(hits) == len(expected)
    got_scores = [h.score for h in hits]
    want = {
        (n, d): float(v @ query[0])
        for n, docs, vs in parts
        for d, v in zip((x.id for x in docs), vs)
    }
    np.testing.assert_allclose(got_scores, [want[e] for e in expected], atol=1e-6)


def test_k_larger_than_the_index_and_unknown_filters() -> None:
    parts = two_packs(3, (4, 3))
    index = EmbeddedIndex.from_parts(parts)
    query = unit_rows(np.random.default_rng(4), 1)
    assert len(index.search(query, 50)[0]) == 7
    assert index.search(query, 0) == [[]]
    assert index.search(query, 5, packs=["fastapi"]) == [[]]
    assert index.search(query, 5, kinds=["glossary"]) == [[]]
    assert len(index.search(query[0], 3)) == 1  # one vector is one query


def test_write_then_open_round_trips_memory_mapped(tmp_path: Path) -> None:
    (name, docs, vectors), (other, docs2, vectors2) = two_packs(5)
    write_index(tmp_path / name, docs, vectors)
    write_index(tmp_path / other, docs2, vectors2)
    assert sorted(p.name for p in (tmp_path / name).iterdir()) == [DOCUMENTS_FILE, VECTORS_FILE]
    read_docs, read_vectors = read_index(tmp_path / name)
    assert isinstance(read_vectors, np.memmap) and not read_vectors.flags.writeable
    assert {d.id: d for d in read_docs} == {d.id: d for d in docs}
    # Rows are grouped by kind on disk, each still paired with its own vector.
    by_id = dict(zip((d.id for d in docs), vectors))
    assert all(np.array_equal(by_id[d.id], v) for d, v in zip(read_docs, read_vectors))
    assert [d.kind for d in read_docs] == sorted(d.kind for d in read_docs)

    opened = EmbeddedIndex.open({name: tmp_path / name, other: tmp_path / other})
    in_memory = EmbeddedIndex.from_parts(two_packs(5))
    queries = unit_rows(np.random.default_rng(6), 4)
    for kinds in (None, ["usage"], ["doc", "api"]):
        got = opened.search(queries, 8, kinds=kinds)
        want = in_memory.search(queries, 8, kinds=kinds)
        assert [[h.document for h in r] for r in got] == [[h.document for h in r] for r in want]


def test_a_failed_write_leaves_the_old_index_intact(tmp_path: Path) -> None:
    _, docs, vectors = two_packs(7)[1]
    write_index(tmp_path, docs, vectors)
    before = (tmp_path / DOCUMENTS_FILE).read_bytes(), (tmp_path / VECTORS_FILE).read_bytes()
    with pytest.raises(UserError, match="3 vectors for 120 documents"):
        write_index(tmp_path, docs, vectors[:3])
    with pytest.raises(UserError, match="float32"):
        write_index(tmp_path, docs, vectors.astype(np.float64))
    assert (
        (tmp_path / DOCUMENTS_FILE).read_bytes(),
        (tmp_path / VECTORS_FILE).read_bytes(),
    ) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [DOCUMENTS_FILE, VECTORS_FILE]


def test_corrupt_index_files_are_user_errors(tmp_path: Path) -> None:
    _, docs, vectors = two_packs(8, (1, 5))[1]
    write_index(tmp_path, docs, vectors)
    path = tmp_path / DOCUMENTS_FILE
    path.write_text(path.read_text() + '{"id": "x", "text": "no kind"}\n')
    with pytest.raises(UserError, match=rf"{DOCUMENTS_FILE}:6: not a document record"):
        read_documents(path)
    path.write_text(path.read_text().splitlines(keepends=True)[0])
    with pytest.raises(UserError, match="5 vectors for 1 documents"):
        read_index(tmp_path)
    (tmp_path / VECTORS_FILE).write_bytes(b"not numpy")
    with pytest.raises(UserError, match="cannot read index vectors"):
        read_index(tmp_path)


def test_query_of_another_dimension_names_the_pack() -> None:
    index = EmbeddedIndex.from_parts(two_packs(9))
    with pytest.raises(
        UserError, match="pack sqlalchemy: index vectors have 16 dimensions, the query has 8"
    ):
        index.search(np.ones((1, 8), dtype=np.float32), 3)


@pytest.mark.slow
def test_semantic_search_over_real_snippets(
    embedder: object, embedded_corpus: tuple[list[Document], np.ndarray]
) -> None:
    docs, vectors = embedded_corpus
    index = EmbeddedIndex.from_parts([("mixed", docs, vectors)])
    query = embedder.embed(["send an http get request and check the status"], "query")  # type: ignore[attr-defined]
    [hits] = index.search(query, 5, kinds=["usage"])
    assert "httpx.get" in hits[0].document.text
    [hits] = index.search(query, 3, kinds=["api"])
    assert hits[0].document.text.startswith("httpx.get") or "httpx.get" in hits[0].document.text
