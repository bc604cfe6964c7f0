"""The NAME language pack for remora-review, found through the `remora_review.packs` entry point."""

from __future__ import annotations

from pathlib import Path


def pack_path() -> Path:
    """The bundled `.pack` file; remora-review verifies every file in it before use."""
    return Path(__file__).resolve().parent / "NAME.pack"
