"""A sentence-transformers model of the all-MiniLM shape (a BERT-style encoder, mean pooling, an
optional Normalize) run through onnxruntime and tokenizers, from an export the warm server made
of it (retrieval/onnx_export.py). Same vectors as sentence-transformers (the export is checked
against it before it is kept); what it saves is the start: onnxruntime and tokenizers import in
about 0.15 s where sentence-transformers (torch, transformers) takes 5 s, and a cold hook waits
for that.

Only numpy at import; onnxruntime and tokenizers when a model is opened.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

EXPORT_FORMAT = 1  # bump when what an export holds changes: older exports are then not read
CONFIG_NAME = "remora-onnx.json"  # written last: a directory without it is no export
MODEL_NAME = "model.onnx"
TOKENIZER_NAME = "tokenizer.json"


@dataclass(frozen=True)
class Pipeline:
    """What sentence-transformers does around the encoder, as the export recorded it."""

    max_seq_length: int
    normalize: bool
    inputs: tuple[str, ...]  # the encoder's inputs, in the order the export gave them
    identity: str  # model_identity() of the model directory it was exported from

    def to_json(self) -> str:
        return json.dumps({"format": EXPORT_FORMAT, "max_seq_length": self.max_seq_length,
                           "normalize": self.normalize, "inputs": list(self.inputs),
                           "identity": self.identity}, indent=1)

    @classmethod
    def read(cls, path: Path) -> Pipeline | None:
        try:
            raw = json.loads(path.read_text("utf-8"))
            if raw.get("format") != EXPORT_FORMAT:
                return None
            return cls(int(raw["max_seq_length"]), bool(raw["normalize"]),
                       tuple(str(i) for i in raw["inputs"]), str(raw["identity"]))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None


def export_dir(root: Path, identity: str) -> Path:
    """Where the export of the model with this identity lives (under the user's cache)."""
    key = hashlib.sha256(f"{EXPORT_FORMAT}\0{identity}".encode()).hexdigest()[:24]
    return root / key


class OnnxSentenceModel:
    """`encode` as sentence-transformers' SentenceTransformer gives it, for the calls the
    embedder makes."""

    def __init__(self, directory: Path, pipeline: Pipeline) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        self.pipeline = pipeline
        tokenizer = Tokenizer.from_file(str(directory / TOKENIZER_NAME))
        # sentence-transformers pads each batch to its longest text and truncates at the
        # model's max_seq_length, whatever the tokenizer file says.
        tokenizer.enable_truncation(pipeline.max_seq_length)
        pad = tokenizer.padding or {}
        tokenizer.enable_padding(pad_id=pad.get("pad_id", 0),
                                 pad_token=pad.get("pad_token", "[PAD]"))
        self._tokenizer = tokenizer
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # its warnings about unused initializers are not the user's
        self._session = onnxruntime.InferenceSession(
            str(directory / MODEL_NAME), options, providers=["CPUExecutionProvider"])

    @classmethod
    def open(cls, directory: Path, identity: str) -> OnnxSentenceModel | None:
        """The export in `directory` when there is a complete one of this model and onnxruntime
        and tokenizers are installed; else None (sentence-transformers serves)."""
        pipeline = Pipeline.read(directory / CONFIG_NAME)
        if pipeline is None or pipeline.identity != identity:
            return None
        # A damaged export, or onnxruntime missing: sentence-transformers serves, as before it.
        with contextlib.suppress(Exception):
            return cls(directory, pipeline)
        return None

    def encode(self, texts: Sequence[str], batch_size: int = 32, convert_to_numpy: bool = True,
               show_progress_bar: bool = False, **_: Any) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        # Texts of like length batch together, as sentence-transformers does: less padding.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        size = max(1, batch_size)
        vectors = np.concatenate([self._batch([texts[i] for i in order[start:start + size]])
                                  for start in range(0, len(order), size)])
        out = np.empty_like(vectors)
        out[order] = vectors
        return out

    def _batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask,
                 "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64)}
        tokens = self._session.run(None, {k: feeds[k] for k in self.pipeline.inputs})[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (tokens * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        if self.pipeline.normalize:
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return pooled.astype(np.float32)
