"""The first-party packs bundled with remora-review, exposed through `remora_review.packs` entry points."""

from __future__ import annotations

from pathlib import Path


def _bundled(name: str) -> Path:
    return Path(__file__).resolve().parent / f"{name}.pack"


def sqlalchemy() -> Path:
    return _bundled("sqlalchemy")


def httpx() -> Path:
    return _bundled("httpx")


def fastapi() -> Path:
    return _bundled("fastapi")


def acme() -> Path:
    return _bundled("acme")
