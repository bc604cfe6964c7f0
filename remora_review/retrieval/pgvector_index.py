"""A shared index in PostgreSQL + pgvector: one schema per published pack, swapped in atomically."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np

from remora_review.errors import UserError
from remora_review.retrieval.base import Document, Hit

if TYPE_CHECKING:
    import psycopg
    from typing_extensions import Self

CATALOG = "remora_catalog"
INSTALL_HINT = "install the `pgvector` extra: pip install 'remora-review[pgvector]'"
_MAX_INDEXED_DIM = 2000  # pgvector's limit for an HNSW index on `vector`
_RETRIES = 3  # a pack republished between reading the catalog and reading its table


class DatabaseUnavailable(UserError):
    """The database is down, unreachable or refused the connection."""


@dataclass(frozen=True)
class ActivePack:
    """One row of `remora_catalog.active`: where readers find a pack's current version."""

    pack: str
    version: str
    schema: str
    dim: int
    kinds: tuple[str, ...]
    documents: int


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise UserError(f"the pgvector index backend needs psycopg; {INSTALL_HINT}") from None
    return psycopg


def describe_dsn(dsn: str) -> str:
    """host:port/dbname of a DSN, never its password."""
    psycopg = _psycopg()
    try:
        info = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        raise UserError("the index database DSN is not a valid connection string") from None
    where = str(info.get("host") or info.get("hostaddr") or "localhost")
    if info.get("port"):
        where += f":{info['port']}"
    return f"{where}/{info.get('dbname') or info.get('user') or 'postgres'}"


def schema_name(pack: str, version: str, suffix: str = "") -> str:
    """A Postgres identifier for one load of a pack, e.g. remora_sqlalchemy_0_1_0."""
    name = re.sub(r"[^a-z0-9_]", "_", f"remora_{pack}_{version}".lower())
    tail = f"_{suffix}" if suffix else ""
    if len(name) + len(tail) > 63:
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        name = f"{name[: 63 - len(tail) - 9]}_{digest}"
    return name + tail


class PgVectorIndex:
    """A `VectorIndex` over the packs published in one database; HNSW by default, exact on request.

    It holds one connection: use one instance per thread.
    """

    def __init__(
        self,
        dsn: str,
        *,
        ef_search: int = 100,
        hnsw_m: int = 16,
        hnsw_ef_construction: int = 64,
        connect_timeout: int = 5,
    ) -> None:
        self._dsn = dsn
        self.where = describe_dsn(dsn)
        self.ef_search = ef_search
        self.hnsw_m = hnsw_m
        self.hnsw_ef_construction = hnsw_ef_construction
        self._connect_timeout = connect_timeout
        self._conn: psycopg.Connection[Any] | None = None
        self._vector_registered = False

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @contextmanager
    def _errors(self) -> Iterator[None]:
        psycopg = _psycopg()
        try:
            yield
        except psycopg.OperationalError as e:
            self.close()
            raise DatabaseUnavailable(
                f"index database at {self.where} is unavailable: {self._reason(e)}"
            ) from None
        except psycopg.errors.InsufficientPrivilege as e:
            raise UserError(f"index database at {self.where} refused: {self._reason(e)}") from None

    def _reason(self, error: BaseException) -> str:
        lines = [s.strip() for s in str(error).splitlines() if s.strip()]
        reason = lines[0] if lines else type(error).__name__
        password = _psycopg().conninfo.conninfo_to_dict(self._dsn).get("password")
        return reason.replace(str(password), "***") if password else reason

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            psycopg = _psycopg()
            self._conn = psycopg.connect(
                self._dsn, autocommit=True, connect_timeout=self._connect_timeout
            )
            self._vector_registered = False
            self._conn.execute(f"SET hnsw.ef_search = {int(self.ef_search)}")
        return self._conn

    def _register_vector(self, conn: psycopg.Connection[Any]) -> None:
        if not self._vector_registered:
            try:
                from pgvector.psycopg import register_vector
            except ImportError:
                raise UserError(
                    f"the pgvector index backend needs pgvector; {INSTALL_HINT}"
                ) from None
            psycopg = _psycopg()
            try:
                register_vector(conn)
            except psycopg.ProgrammingError:
                raise UserError(
                    f"index database at {self.where} has no pgvector extension"
                ) from None
            self._vector_registered = True

    def active(self) -> dict[str, ActivePack]:
        """The packs readers see now, by name; empty when nothing was ever published."""
        with self._errors():
            return self._read_catalog(self._connection())

    @staticmethod
    def _read_catalog(conn: psycopg.Connection[Any]) -> dict[str, ActivePack]:
        try:
            rows = conn.execute(
                f"SELECT pack, version, schema, dim, kinds, documents FROM {CATALOG}.active"
            ).fetchall()
        except _psycopg().errors.UndefinedTable:
            return {}  # nothing was ever published here
        return {r[0]: ActivePack(r[0], r[1], r[2], r[3], tuple(r[4]), r[5]) for r in rows}

    def publish(
        self, pack: str, version: str, documents: Sequence[Document], vectors: np.ndarray
    ) -> None:
        """Load a pack into a fresh schema and make it the active one in the same transaction."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(documents):
            raise UserError(f"pack {pack}: {vectors.shape} vectors for {len(documents)} documents")
        if vectors.shape[1] > _MAX_INDEXED_DIM:
            raise UserError(
                f"pack {pack}: pgvector indexes at most {_MAX_INDEXED_DIM} dimensions, "
                f"got {vectors.shape[1]}"
            )
        psycopg = _psycopg()
        with self._errors():
            conn = self._connection()
            try:
                with conn.transaction():
                    old = self._load(conn, pack, version, documents, vectors)
                if old is not None:
                    self._drop_schema(conn, old)
            except (psycopg.ProgrammingError, psycopg.DataError, psycopg.IntegrityError) as e:
                raise UserError(
                    f"publishing pack {pack} {version} to {self.where} failed: {self._reason(e)}"
                ) from None

    def _load(
        self,
        conn: psycopg.Connection[Any],
        pack: str,
        version: str,
        documents: Sequence[Document],
        vectors: np.ndarray,
    ) -> str | None:
        from psycopg import sql

        # One publisher at a time; readers are never blocked by it.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('remora_review.publish'))")
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        self._vector_registered = False
        self._register_vector(conn)
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {CATALOG}")
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {CATALOG}.active (pack text PRIMARY KEY, "
            "version text NOT NULL, schema text NOT NULL, dim int NOT NULL, "
            "kinds text[] NOT NULL, documents int NOT NULL, published_at timestamptz DEFAULT now())"
        )
        schema = self._fresh_schema(conn, pack, version)
        table = sql.Identifier(schema, "documents")
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        conn.execute(
            sql.SQL(
                "CREATE TABLE {} (row int PRIMARY KEY, id text NOT NULL, kind text NOT NULL, "
                "text text NOT NULL, label text, meta jsonb NOT NULL, embedding vector({}) NOT NULL)"
            ).format(table, sql.Literal(vectors.shape[1]))
        )
        self._copy(conn, table, documents, vectors)
        kinds = sorted({d.kind for d in documents})
        conn.execute("SET LOCAL maintenance_work_mem = '512MB'")
        for kind in kinds:
            # One partial index per kind, so a kind filter still gets k hits from the graph.
            conn.execute(
                sql.SQL(
                    "CREATE INDEX ON {} USING hnsw (embedding vector_cosine_ops) "
                    "WITH (m = {}, ef_construction = {}) WHERE kind = {}"
                ).format(
                    table,
                    sql.Literal(self.hnsw_m),
                    sql.Literal(self.hnsw_ef_construction),
                    sql.Literal(kind),
                )
            )
        conn.execute(sql.SQL("ANALYZE {}").format(table))
        row = conn.execute(
            f"SELECT schema FROM {CATALOG}.active WHERE pack = %s FOR UPDATE", (pack,)
        ).fetchone()
        conn.execute(
            f"INSERT INTO {CATALOG}.active (pack, version, schema, dim, kinds, documents) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (pack) DO UPDATE SET "
            "version = EXCLUDED.version, schema = EXCLUDED.schema, dim = EXCLUDED.dim, "
            "kinds = EXCLUDED.kinds, documents = EXCLUDED.documents, published_at = now()",
            (pack, version, schema, vectors.shape[1], kinds, len(documents)),
        )
        return None if row is None else str(row[0])

    @staticmethod
    def _fresh_schema(conn: psycopg.Connection[Any], pack: str, version: str) -> str:
        name = schema_name(pack, version)
        while conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (name,)).fetchone():
            name = schema_name(pack, version, secrets.token_hex(3))
        return name

    @staticmethod
    def _copy(
        conn: psycopg.Connection[Any],
        table: Any,
        documents: Sequence[Document],
        vectors: np.ndarray,
    ) -> None:
        from psycopg import sql
        from psycopg.types.json import Jsonb

        statement = sql.SQL(
            "COPY {} (row, id, kind, text, label, meta, embedding) FROM STDIN WITH (FORMAT BINARY)"
        ).format(table)
        with conn.cursor() as cur, cur.copy(statement) as copy:
            copy.set_types(["int4", "text", "text", "text", "text", "jsonb", "vector"])
            for row, (doc, vector) in enumerate(zip(documents, vectors)):
                copy.write_row(
                    [row, doc.id, doc.kind, doc.text, doc.label, Jsonb(dict(doc.meta)), vector]
                )

    @staticmethod
    def _drop_schema(conn: psycopg.Connection[Any], schema: str) -> None:
        from psycopg import sql

        # After the swap, in its own transaction: waits for readers still on the old table.
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))

    def search(
        self,
        vectors: np.ndarray,
        k: int,
        packs: Sequence[str] | None = None,
        kinds: Sequence[str] | None = None,
        *,
        exact: bool = False,
    ) -> list[list[Hit]]:
        queries = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        if k <= 0:
            return [[] for _ in range(queries.shape[0])]
        psycopg = _psycopg()
        with self._errors():
            conn = self._connection()
            for attempt in range(_RETRIES):
                catalog = self._read_catalog(conn)
                chosen = [
                    catalog[p] for p in (packs if packs is not None else catalog) if p in catalog
                ]
                if not chosen:
                    return [[] for _ in range(queries.shape[0])]
                self._register_vector(conn)
                statement = self._statement(chosen, queries.shape[1], k, kinds)
                try:
                    return self._run(conn, statement, queries, k, exact)
                except psycopg.errors.UndefinedTable:
                    if attempt == _RETRIES - 1:
                        raise
        raise AssertionError("unreachable")

    def _statement(
        self, chosen: Sequence[ActivePack], dim: int, k: int, kinds: Sequence[str] | None
    ) -> Any:
        from psycopg import sql

        parts = []
        for active in chosen:
            if active.dim != dim:
                raise UserError(
                    f"pack {active.pack}: index vectors have {active.dim} dimensions, the query has "
                    f"{dim} (was it built with another embedding model?)"
                )
            wanted = (
                active.kinds
                if kinds is None
                else [x for x in dict.fromkeys(kinds) if x in active.kinds]
            )
            for kind in wanted:
                parts.append(
                    sql.SQL(
                        "(SELECT {pack} AS pack, row, id, kind, text, label, meta, "
                        "embedding <=> %(q)s AS distance FROM {table} WHERE kind = {kind} "
                        "ORDER BY embedding <=> %(q)s LIMIT {k})"
                    ).format(
                        pack=sql.Literal(active.pack),
                        table=sql.Identifier(active.schema, "documents"),
                        kind=sql.Literal(kind),
                        k=sql.Literal(k),
                    )
                )
        if not parts:
            return None
        return sql.SQL(
            "SELECT pack, id, kind, text, label, meta, distance FROM ({}) AS hits "
            "ORDER BY distance, pack, row LIMIT {}"
        ).format(sql.SQL(" UNION ALL ").join(parts), sql.Literal(k))

    def _run(
        self,
        conn: psycopg.Connection[Any],
        statement: Any,
        queries: np.ndarray,
        k: int,
        exact: bool,
    ) -> list[list[Hit]]:
        if statement is None:
            return [[] for _ in range(queries.shape[0])]
        if not exact and k <= self.ef_search:
            return [self._hits(conn, statement, q) for q in queries]
        with conn.transaction():
            if exact:
                conn.execute("SET LOCAL enable_indexscan = off")
            else:
                conn.execute(f"SET LOCAL hnsw.ef_search = {int(k)}")
            return [self._hits(conn, statement, q) for q in queries]

    @staticmethod
    def _hits(conn: psycopg.Connection[Any], statement: Any, query: np.ndarray) -> list[Hit]:
        rows = conn.execute(statement, {"q": query}).fetchall()
        return [Hit(Document(r[1], r[2], r[3], r[4], r[5]), 1.0 - float(r[6]), r[0]) for r in rows]
