"""The Retrieval a run hands to its checks: one embedder per model spec, one index over the packs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from remora_review.config import Settings
from remora_review.retrieval.base import Embedder, VectorIndex

if TYPE_CHECKING:
    from remora_review.packs.loader import LoadedPack


class PackRetrieval:
    """Embedders and the index are made on first use, so a run that never embeds loads nothing."""

    def __init__(
        self,
        packs: Sequence[LoadedPack],
        settings: Settings,
        environ: Mapping[str, str],
        warn: Callable[[str], None],
    ) -> None:
        self._packs = list(packs)
        self._settings = settings
        self._environ = environ
        self._warn = warn
        self._embedders: dict[tuple[str, str], Embedder] = {}
        self._index: VectorIndex | None = None

    def embedder_for(self, pack: LoadedPack) -> Embedder:
        from remora_review.server_client import make_embedder

        spec = pack.manifest.embedding
        model_path = pack.embedding_model_path
        key = (spec.model_dump_json(), model_path)
        if key not in self._embedders:
            self._embedders[key] = make_embedder(
                spec, self._settings.embedding, self._environ, model_path, warn=self._warn
            )
        return self._embedders[key]

    def index(self) -> VectorIndex:
        if self._index is None:
            from remora_review.retrieval.factory import IndexPart, open_index

            parts = [IndexPart(p.name, p.version, p.documents, p.vectors) for p in self._packs]
            self._index = open_index(self._settings.index, parts, self._environ, self._warn)
        return self._index
