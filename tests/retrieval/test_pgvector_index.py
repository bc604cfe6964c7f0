"""The pgvector index on a real Postgres: publish, search, atomic republish, agreement, a down server."""

from __future__ import annotations

import threading
import time
import uuid

import numpy as np
import pytest

from remora_review.errors import UserError
from remora_review.retrieval.base import Document, Hit
from remora_review.retrieval.embedded_index import EmbeddedIndex
from remora_review.retrieval.embedder import SentenceTransformerEmbedder
from remora_review.retrieval.pgvector_index import (
    PgVectorIndex,
    schema_name,
)

pytestmark = pytest.mark.slow
Corpus = tuple[list[Document], np.ndarray]
QUERIES = [
    "commit the session to the database",
    "post json with an async http client",
    "declare a GET route in the web app",
    "read a json file from disk",
    "log that a payment went through",
]


def ids(results: list[list[Hit]]) -> list[list[tuple[str, str]]]:
    return [[(h.pack, h.document.id) for h in hits] for hits in results]


@pytest.fixture(scope="module")
def queries(embedder: SentenceTransformerEmbedder) -> np.ndarray:
    return embedder.embed(QUERIES, "query")


def test_schema_names_are_safe_identifiers() -> None:
    assert schema_name("sqlalchemy", "0.1.0") == "remora_sqlalchemy_0_1_0"
    assert schema_name("Acme-Co", "1.0+local", "ab12") == "remora_acme_co_1_0_local_ab12"
    long = schema_name("x" * 80, "1.0", "ab12")
    assert len(long) <= 63 and long.endswith("_ab12")
    assert long != schema_name("x" * 81, "1.0", "ab12")


def test_publish_then_search_matches_the_embedded_index(
    pg_dsn: str, embedded_corpus: Corpus, queries: np.ndarray
) -> None:
    docs, vectors = embedded_corpus
    half = len(docs) // 2
    parts = [("sqlalchemy", docs[:half], vectors[:half]), ("httpx", docs[half:], vectors[half:])]
    local = EmbeddedIndex.from_parts(parts)
    with PgVectorIndex(pg_dsn) as index:
        assert index.active() == {}
        assert index.search(queries, 5) == [[] for _ in QUERIES]
        for name, d, v in parts:
            index.publish(name, "0.1.0", d, v)
        active = index.active()
        assert sorted(active) == ["httpx", "sqlalchemy"]
        assert active["sqlalchemy"].schema == "remora_sqlalchemy_0_1_0"
        assert (active["sqlalchemy"].dim, active["sqlalchemy"].documents) == (384, half)
        for packs, kinds in [(None, None), (["httpx"], None), (None, ["usage", "api"])]:
            want = local.search(queries, 10, packs, kinds)
            assert ids(index.search(queries, 10, packs, kinds, exact=True)) == ids(want)
            got = index.search(queries, 10, packs, kinds)  # HNSW, default ef_search
            assert ids(got) == ids(want)
            np.testing.assert_allclose(
                [h.score for r in got for h in r], [h.score for r in want for h in r], atol=1e-5
            )
        [hit, *_] = index.search(queries[:1], 3, kinds=["usage"])[0]
        assert hit.document == next(d for d in docs if d.id == hit.document.id)
        assert "session.commit()" in hit.document.text


def test_kind_filter_still_returns_k_hits_for_a_rare_kind(
    pg_dsn: str, embedded_corpus: Corpus, queries: np.ndarray
) -> None:
    docs, vectors = embedded_corpus
    rare = sum(d.kind == "policy_context" for d in docs)
    with PgVectorIndex(pg_dsn, ef_search=10) as index:
        index.publish("acme", "1.0", docs, vectors)
        for hits in index.search(queries, 15, kinds=["policy_context"]):
            assert len(hits) == min(15, rare)
            assert {h.document.kind for h in hits} == {"policy_context"}


def test_republish_is_atomic_for_readers(
    pg_dsn: str, embedded_corpus: Corpus, queries: np.ndarray
) -> None:
    docs, vectors = embedded_corpus
    old_docs, new_docs = docs[::2], docs[1::2]
    with PgVectorIndex(pg_dsn) as index:
        index.publish("sqlalchemy", "0.1.0", old_docs, vectors[::2])
        old = ids(index.search(queries[:1], 5))
        old_schema = index.active()["sqlalchemy"].schema
    expected_new = ids(
        EmbeddedIndex.from_parts([("sqlalchemy", new_docs, vectors[1::2])]).search(queries[:1], 5)
    )
    assert old != expected_new

    seen: list[list[list[tuple[str, str]]]] = []
    started, done = threading.Event(), threading.Event()

    def read() -> None:
        with PgVectorIndex(pg_dsn) as reader:
            seen.append(ids(reader.search(queries[:1], 5, exact=True)))
            started.set()
            deadline = time.monotonic() + 60
            while not done.is_set() and time.monotonic() < deadline and len(seen) < 5000:
                seen.append(ids(reader.search(queries[:1], 5, exact=True)))
            seen.append(ids(reader.search(queries[:1], 5, exact=True)))

    thread = threading.Thread(target=read)
    thread.start()
    try:
        assert started.wait(30)
        with PgVectorIndex(pg_dsn) as publisher:
            publisher.publish("sqlalchemy", "0.1.0", new_docs, vectors[1::2])  # same version again
    finally:
        done.set()
        thread.join()
    assert seen[0] == old and seen[-1] == expected_new
    assert all(result in (old, expected_new) for result in seen), "a reader saw a partial pack"
    with PgVectorIndex(pg_dsn) as index:
        new_schema = index.active()["sqlalchemy"].schema
        assert new_schema != old_schema
        conn = index._connection()
        schemas = {
            r[0]
            for r in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'remora_%'")
        }
        assert schemas == {"remora_catalog", new_schema}  # the old load is gone


def test_a_new_version_replaces_the_old_one(pg_dsn: str, embedded_corpus: Corpus) -> None:
    docs, vectors = embedded_corpus
    with PgVectorIndex(pg_dsn) as index:
        index.publish("httpx", "0.1.0", docs[:20], vectors[:20])
        index.publish("httpx", "0.2.0", docs[20:50], vectors[20:50])
        active = index.active()["httpx"]
        assert (active.version, active.schema, active.documents) == (
            "0.2.0",
            "remora_httpx_0_2_0",
            30,
        )
        hits = index.search(vectors[:20], 1)
        assert all(h.document.id not in {d.id for d in docs[:20]} for r in hits for h in r)


def test_bad_input_changes_nothing(pg_dsn: str, embedded_corpus: Corpus) -> None:
    docs, vectors = embedded_corpus
    with PgVectorIndex(pg_dsn) as index:
        index.publish("httpx", "0.1.0", docs[:10], vectors[:10])
        with pytest.raises(UserError, match="for 9 documents"):
            index.publish("httpx", "0.2.0", docs[:9], vectors[:10])
        with pytest.raises(UserError, match="384 dimensions, the query has 8"):
            index.search(np.ones((1, 8), dtype=np.float32), 3)
        assert index.active()["httpx"].version == "0.1.0"


def test_an_account_without_rights_gets_one_line(pg_dsn: str, embedded_corpus: Corpus) -> None:
    import psycopg

    docs, vectors = embedded_corpus
    role = f"viewer_{uuid.uuid4().hex[:8]}"  # roles are shared by the server's databases
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
    viewer = psycopg.conninfo.make_conninfo(pg_dsn, user=role)
    with PgVectorIndex(pg_dsn) as owner:
        owner.publish("httpx", "0.1.0", docs[:5], vectors[:5])
    with PgVectorIndex(viewer) as index:
        with pytest.raises(
            UserError, match=r"^publishing pack httpx 0\.2\.0 to .* failed: permission"
        ):
            index.publish("httpx", "0.2.0", docs[:5], vectors[:5])
        with pytest.raises(UserError, match="refused: permission denied for schema remora_catalog"):
            index.search(vectors[:1], 3)
    with PgVectorIndex(pg_dsn) as owner:
        assert owner.active()["httpx"].version == "0.1.0"
