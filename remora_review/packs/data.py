"""A pack's data files, read and written in one place: documents.jsonl (the index's records) and
names.json (how often each parameter name was annotated with each class). The API table's file
format lives with the table (api_table.py); a loaded pack reads all three through its manifest."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from remora_review.errors import UserError
from remora_review.retrieval.base import Document


class DataError(UserError):
    """A data file that is not what its format says: where (`line`, 1-based; 0 for the whole
    file) and why (`reason`)."""

    def __init__(self, message: str, line: int = 0, reason: str = "") -> None:
        super().__init__(message)
        self.line = line
        self.reason = reason


def document_json(document: Document) -> dict[str, Any]:
    return {"id": document.id, "kind": document.kind, "text": document.text,
            "label": document.label, "meta": dict(document.meta)}


def documents_bytes(documents: Sequence[Document], *, sort_keys: bool = False) -> bytes:
    """documents.jsonl: one JSON object per line, fields in a fixed order (or sorted)."""
    return "".join(json.dumps(document_json(d), ensure_ascii=False, sort_keys=sort_keys) + "\n"
                   for d in documents).encode()


def read_documents(path: Path) -> list[Document]:
    """The records of a documents.jsonl; blank lines are skipped."""
    documents = []
    try:
        with path.open(encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    raw = json.loads(line)
                    label = raw.get("label")
                    documents.append(Document(
                        id=str(raw["id"]), kind=str(raw["kind"]), text=str(raw["text"]),
                        label=None if label is None else str(label),
                        meta=dict(raw.get("meta") or {}),
                    ))
                except (ValueError, KeyError, TypeError, AttributeError) as e:
                    raise DataError(f"{path}:{number}: not a document record ({e!r})",
                                    number, repr(e)) from None
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read index documents ({e})") from None
    return documents


def names_bytes(names: Mapping[str, Mapping[str, int]]) -> bytes:
    """names.json, keys sorted: the same counts give the same bytes."""
    return (json.dumps(names, sort_keys=True, separators=(",", ":")) + "\n").encode()


def read_names(path: Path) -> dict[str, dict[str, float]]:
    try:
        raw = json.loads(path.read_text("utf-8"))
        return {str(name): {str(label): float(count) for label, count in labels.items()}
                for name, labels in raw.items()}
    except (OSError, ValueError, TypeError, AttributeError) as e:
        raise DataError(f"{path}: not a table of name counts ({e!r})", 0, repr(e)) from None
