"""The company pack with the real embedding model, shared by the slow policy tests."""

from __future__ import annotations

import json

import numpy as np
import pytest

from remora_review.api_table import ApiTable
from remora_review.packs.archive import finalize_pack, write_manifest
from remora_review.packs.loader import LoadedPack, load_pack
from remora_review.retrieval.base import Embedder

from .helpers import ACME001, BILLING_EXAMPLES, MINILM, PackRetrieval, company_manifest


@pytest.fixture(scope="session")
def minilm() -> Embedder:
    from remora_review.retrieval.embedder import make_embedder

    return make_embedder(MINILM)


@pytest.fixture(scope="session")
def acme_pack(tmp_path_factory: pytest.TempPathFactory, minilm: Embedder) -> LoadedPack:
    """The company pack as remora-train would write it: manifest, API table, examples indexed."""
    root = tmp_path_factory.mktemp("acme-pack")
    write_manifest(company_manifest(ACME001), root / "manifest.toml")
    ApiTable(library="acme", version="1.0.0", classes={}).save(root / "api.json")
    (root / "index").mkdir()
    docs = [
        {"id": f"policy_context:ACME001:{i}", "kind": "policy_context", "text": text}
        for i, text in enumerate(BILLING_EXAMPLES)
    ]
    (root / "index" / "documents.jsonl").write_text(
        "".join(json.dumps(d) + "\n" for d in docs), "utf-8"
    )
    np.save(root / "index" / "vectors.npy", minilm.embed(BILLING_EXAMPLES, "document"))
    finalize_pack(root)
    return load_pack(root)


@pytest.fixture
def retrieval(minilm: Embedder) -> PackRetrieval:
    return PackRetrieval(minilm)
