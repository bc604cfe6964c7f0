"""Choosing the index from settings: embedded by default, pgvector when configured, fallback when down."""

from __future__ import annotations

import numpy as np
import pytest

from remora_review.config import Index, parse_settings
from remora_review.errors import UserError
from remora_review.retrieval.base import Document
from remora_review.retrieval.embedded_index import EmbeddedIndex
from remora_review.retrieval.factory import IndexPart, RoutedIndex, open_index, resolve_dsn
from remora_review.retrieval.pgvector_index import DatabaseUnavailable, PgVectorIndex, describe_dsn


def part(pack: str, version: str, n: int = 12, seed: int = 0) -> IndexPart:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    docs = [
        Document(f"{pack}:{i}", "usage" if i % 2 else "api", f"{pack} text {i}") for i in range(n)
    ]
    return IndexPart(pack, version, docs, vectors)


class Warnings(list[str]):
    def __call__(self, message: str) -> None:
        self.append(message)


def pgvector_settings(dsn: str | None = None, fallback: str = "embedded") -> Index:
    table = {"index": {"backend": "pgvector", "dsn": dsn, "fallback": fallback}}
    return parse_settings(table).index


def test_embedded_is_the_default() -> None:
    warnings = Warnings()
    index = open_index(Index(), [part("sqlalchemy", "0.1.0")], environ={}, warn=warnings)
    assert isinstance(index, EmbeddedIndex) and warnings == []
    [hits] = index.search(np.ones(8, dtype=np.float32), 3)
    assert len(hits) == 3


def test_dsn_comes_from_config_else_the_environment() -> None:
    env = {"REMORA_DATABASE_URL": "postgresql://env-host/db"}
    assert (
        resolve_dsn(pgvector_settings("postgresql://cfg-host/db"), env)
        == "postgresql://cfg-host/db"
    )
    assert resolve_dsn(pgvector_settings(), env) == "postgresql://env-host/db"
    assert resolve_dsn(pgvector_settings(), {}) is None


def test_a_down_database_is_one_clear_line_without_the_password(down_dsn: str) -> None:
    index = PgVectorIndex(down_dsn, connect_timeout=2)
    for call in (index.active, lambda: index.search(np.ones((1, 4), dtype=np.float32), 3)):
        with pytest.raises(DatabaseUnavailable) as caught:
            call()
        message = str(caught.value)
        assert "\n" not in message and "s3cret-pw" not in message
        assert message.startswith(f"index database at {describe_dsn(down_dsn)} is unavailable: ")
    refused = PgVectorIndex("postgresql://bob:hunter2@127.0.0.1:1/team", connect_timeout=2)
    with pytest.raises(
        DatabaseUnavailable, match=r"at 127\.0\.0\.1:1/team is unavailable"
    ) as caught:
        refused.active()
    assert "hunter2" not in str(caught.value)


def test_down_database_falls_back_to_embedded_with_one_warning(down_dsn: str) -> None:
    warnings = Warnings()
    parts = [part("sqlalchemy", "0.1.0"), part("httpx", "0.1.0", seed=1)]
    index = open_index(pgvector_settings(), parts, {"REMORA_DATABASE_URL": down_dsn}, warnings)
    assert isinstance(index, EmbeddedIndex)
    assert len(warnings) == 1 and "is unavailable" in warnings[0] and "embedded" in warnings[0]
    assert "s3cret-pw" not in warnings[0]
    assert {h.pack for h in index.search(np.ones(8, dtype=np.float32), 24)[0]} == {
        "sqlalchemy",
        "httpx",
    }


def test_down_database_without_fallback_is_the_error(down_dsn: str) -> None:
    warnings = Warnings()
    with pytest.raises(DatabaseUnavailable, match="is unavailable"):
        open_index(pgvector_settings(down_dsn, "none"), [part("a", "1")], {}, warnings)
    assert warnings == []


def test_pgvector_without_a_dsn() -> None:
    warnings = Warnings()
    index = open_index(pgvector_settings(), [part("a", "1")], {}, warnings)
    assert isinstance(index, EmbeddedIndex) and "REMORA_DATABASE_URL" in warnings[0]
    with pytest.raises(UserError, match="no DSN is set"):
        open_index(pgvector_settings(fallback="none"), [part("a", "1")], {}, warnings)


@pytest.mark.slow
def test_published_packs_come_from_the_database_the_rest_from_their_files(pg_dsn: str) -> None:
    sqlalchemy, httpx = part("sqlalchemy", "0.1.0"), part("httpx", "0.2.0", seed=1)
    with PgVectorIndex(pg_dsn) as publisher:
        publisher.publish("sqlalchemy", "0.1.0", sqlalchemy.documents, sqlalchemy.vectors)
        publisher.publish(
            "httpx", "0.1.0", httpx.documents[:4], httpx.vectors[:4]
        )  # an older httpx
    warnings = Warnings()
    settings = pgvector_settings(pg_dsn)
    all_published = open_index(settings, [sqlalchemy], {}, warnings)
    assert isinstance(all_published, PgVectorIndex) and warnings == []

    index = open_index(settings, [sqlalchemy, httpx], {}, warnings)
    assert isinstance(index, RoutedIndex)
    assert index.remote_packs == ("sqlalchemy",) and index.local_packs == ("httpx",)
    assert len(warnings) == 1 and "httpx 0.2.0" in warnings[0]
    local = EmbeddedIndex.from_parts(
        [(p.pack, p.documents, p.vectors) for p in (sqlalchemy, httpx)]
    )
    queries = np.concatenate([sqlalchemy.vectors[:2], httpx.vectors[-2:]])
    for packs, kinds in [(None, None), (["httpx"], ["usage"]), (["sqlalchemy"], None)]:
        got = index.search(queries, 6, packs, kinds)
        want = local.search(queries, 6, packs, kinds)
        assert [[h.document.id for h in r] for r in got] == [
            [h.document.id for h in r] for r in want
        ]
