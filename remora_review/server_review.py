"""The warm server's review: the same review() as the hook's own, with what can be kept between
requests kept, each piece under a key that changes whenever its answer could.

- imported modules (libcst, pydantic, numpy, the checks): once per server;
- packs, with their API tables, documents, vectors and inference models: per pack path, keyed by
  the manifest's sha256 and every file's size and mtime (an archive's own size, mtime and
  manifest), so an upgraded or rebuilt pack is loaded, and verified, again;
- the embedded vector index over a run's packs: per set of those pack objects;
- the embedding model: the server's, shared with its `embed` requests;
- the code model (the generator of `[tool.remora-review.generator]` with the activated packs'
  LoRA adapters): the last one opened, keyed by its settings and by each adapter's pack key, so
  a retrained adapter, upgraded in place, is loaded again;
- the project index: per repository, keyed by every tracked file's path and blob id, so an edit,
  a staged change or a branch switch builds another;
- discovery, settings, the change's texts: read again on every request (cheap, and where a
  stale answer would hide).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import os
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from remora_review import git
from remora_review.review import Backends, Note, review
from remora_review.review_wire import decode_changes, decode_settings, encode_review

if TYPE_CHECKING:
    from remora_review.checks.base import Retrieval
    from remora_review.config import Generator as GeneratorSettings
    from remora_review.config import Settings
    from remora_review.generate.base import Generation, GenerationRequest, Generator
    from remora_review.packs.discovery import PackRef
    from remora_review.packs.loader import LoadedPack
    from remora_review.packs.manifest import EmbeddingModel
    from remora_review.project.index import ProjectIndex
    from remora_review.project.scan import ProjectMemo
    from remora_review.retrieval.base import Embedder, TextKind, VectorIndex

# Embeds texts with the server's model for (spec, model path, device), loaded on first use, one
# request at a time: the same model and code the server's `embed` requests use.
EmbedTexts = Callable[["EmbeddingModel", "str | None", str, "Sequence[str]", "TextKind"],
                      "np.ndarray"]


def pack_key(path: Path) -> tuple[Any, ...]:
    """What must stay equal for a loaded pack to be served again: for a directory, its manifest's
    sha256 (which lists every file's sha256) and each file's size and mtime; for a `.pack`
    archive, its size, mtime and inode and its manifest's sha256."""
    if path.is_dir():
        manifest = path / "manifest.toml"
        files = sorted(
            (str(p.relative_to(path)), st.st_size, st.st_mtime_ns, st.st_ino)
            for p in path.rglob("*") if not p.is_dir() for st in (p.lstat(),)
        )
        return ("dir", str(path), hashlib.sha256(manifest.read_bytes()).hexdigest(), tuple(files))
    st = path.stat()
    with zipfile.ZipFile(path) as zf:
        manifest_sha = hashlib.sha256(zf.read("manifest.toml")).hexdigest()
    return ("archive", str(path), st.st_size, st.st_mtime_ns, st.st_ino, manifest_sha)


@dataclass
class ReviewCache:
    """What the server keeps between reviews; used under the server's review lock only."""

    embed: EmbedTexts
    packs: dict[tuple[str, str], tuple[tuple[Any, ...], LoadedPack]] = field(default_factory=dict)
    indexes: dict[tuple[int, ...], tuple[list[LoadedPack], VectorIndex]] = field(
        default_factory=dict)
    projects: dict[str, ProjectMemo] = field(default_factory=dict)
    # One code model at a time (it is the largest thing here): (key, generator), and how many
    # times one was opened, for `remora-review server status`.
    code_model: tuple[tuple[Any, ...], Generator] | None = None
    code_model_loads: int = 0

    def load(self, refs: Sequence[PackRef], environ: Mapping[str, str]) -> dict[str, LoadedPack]:
        from remora_review.packs.loader import load_pack

        loaded = {}
        for ref in refs:
            slot = (str(ref.path), ref.origin)
            try:
                key = pack_key(ref.path)
            except (OSError, KeyError, zipfile.BadZipFile):
                key = None  # load_pack says what is wrong with it, as the hook's own run would
            kept = self.packs.get(slot)
            # An archive's extracted copy lives in the user's cache, which may have been cleared.
            if key is not None and kept is not None and kept[0] == key and kept[1].root.is_dir():
                loaded[ref.name] = kept[1]
                continue
            self.packs.pop(slot, None)
            pack = load_pack(ref.path, origin=ref.origin, environ=environ)
            if key is not None:
                self.packs[slot] = (key, pack)
                self._forget_indexes()
            loaded[ref.name] = pack
        return loaded

    def generator(self, settings: GeneratorSettings,
                  packs: Mapping[str, LoadedPack]) -> Generator:
        """The code model for these settings with these packs' adapters: the kept one when
        nothing it was opened from has changed, else a new one (the old one closed first)."""
        from remora_review.generate.factory import open_generator, pack_adapters

        adapters = pack_adapters(packs)
        keys = {id(pack): key for key, pack in self.packs.values()}
        key = (settings.model_dump_json(), tuple(
            (a.name, str(a.path), keys.get(id(packs[a.name]), ("unkept", id(packs[a.name]))))
            for a in adapters))
        if self.code_model is not None and self.code_model[0] != key:
            old, self.code_model = self.code_model[1], None
            old.close()
        if self.code_model is None:
            self.code_model = (key, open_generator(settings, adapters))
            self.code_model_loads += 1
        return _Kept(self.code_model[1])

    def generator_status(self) -> dict[str, Any] | None:
        if self.code_model is None:
            return None
        settings = json.loads(self.code_model[0][0])
        return {"model": settings.get("model"), "backend": settings.get("backend"),
                "adapters": [name for name, _, _ in self.code_model[0][1]],
                "loads": self.code_model_loads}

    def _forget_indexes(self) -> None:
        kept = {id(p) for _, p in self.packs.values()}
        self.indexes = {k: v for k, v in self.indexes.items() if set(k) <= kept}

    def index(self, packs: Sequence[LoadedPack], settings: Settings, environ: Mapping[str, str],
              warn: Note) -> VectorIndex:
        from remora_review.retrieval.factory import IndexPart, open_index

        parts = [IndexPart(p.name, p.version, p.documents, p.vectors) for p in packs]
        if settings.index.backend != "embedded":  # a database: asked afresh, as the hook does
            return open_index(settings.index, parts, environ, warn)
        key = tuple(id(p) for p in packs)
        if key not in self.indexes:
            self.indexes[key] = (list(packs), open_index(settings.index, parts, environ, warn))
        return self.indexes[key][1]

    def project(self, root: Path, at: str | None, note: Note,
                blobs: git.Blobs) -> Callable[[], ProjectIndex]:
        from functools import cache

        from remora_review.project.scan import UNSAVED_MAX, load_project_index

        @cache
        def load() -> ProjectIndex:
            return load_project_index(root, at, git.common_path(root, "remora-review"), note, blobs,
                                      memo=self.projects, unsaved_max=UNSAVED_MAX)

        return load


@dataclass(frozen=True)
class _Kept:
    """The kept code model as a run sees it: the run's close() at its end leaves it loaded."""

    inner: Generator

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        return self.inner.generate(requests)

    def close(self) -> None:
        pass


class ServerRetrieval:
    """The Retrieval of a review in the server: its own model (no socket round trip) and the
    cached index."""

    def __init__(self, cache: ReviewCache, packs: Sequence[LoadedPack], settings: Settings,
                 environ: Mapping[str, str], warn: Note) -> None:
        self._cache = cache
        self._packs = list(packs)
        self._settings = settings
        self._environ = environ
        self._warn = warn
        self._index: VectorIndex | None = None

    def embedder_for(self, pack: LoadedPack) -> Embedder:
        return _Deferred(self._cache.embed, pack.manifest.embedding, pack.embedding_model_path,
                         self._settings.embedding.device)

    def index(self) -> VectorIndex:
        if self._index is None:
            self._index = self._cache.index(self._packs, self._settings, self._environ,
                                            self._warn)
        return self._index


@dataclass(frozen=True)
class _Deferred:
    """An embedder whose model the server loads when it first embeds (as a RemoteEmbedder's
    request would have), so a review that never embeds loads no model."""

    embed_texts: EmbedTexts
    spec: EmbeddingModel
    model_path: str | None
    device: str

    @property
    def model_id(self) -> str:
        return self.model_path or self.spec.model

    @property
    def dimension(self) -> int:
        return self.spec.dimension

    def embed(self, texts: Sequence[str], kind: TextKind) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self.embed_texts(self.spec, self.model_path, self.device, texts, kind)


def _retrieval(cache: ReviewCache) -> Callable[..., Retrieval | None]:
    def make(packs: Sequence[LoadedPack], settings: Settings, environ: Mapping[str, str],
             note: Note) -> Retrieval | None:
        if importlib.util.find_spec("sentence_transformers") is None:
            from remora_review.review import NO_EMBEDDING_NOTE

            note(NO_EMBEDDING_NOTE)
            return None
        return ServerRetrieval(cache, packs, settings, environ, note)

    return make


def answer(cache: ReviewCache, request: Mapping[str, Any]) -> dict[str, Any]:
    """Run the review a hook asked for; its Review as review_wire encodes it."""
    environ = _environ(request)
    changes = decode_changes(request["changes"])
    settings = decode_settings(request["settings"])
    backends = _backends(cache, environ, bool(request.get("strict")))
    with git.client_environment(_git_vars(environ)):
        result = review(changes.root, changes, settings, backends, fix=bool(request.get("fix")))
    return {"review": encode_review(result), "pid": os.getpid()}


def check_answer(cache: ReviewCache, request: Mapping[str, Any]) -> dict[str, Any]:
    """Run a hook's whole `remora-review check ARGV` as the hook's own process would from its
    directory and environment (commands/check.py): what it prints, and its exit status. Only
    for a check that writes nothing (no --fix, no --diff-output): the hook writes its files."""
    from remora_review.cli import build_parser
    from remora_review.commands.check import check

    environ = _environ(request)
    argv, cwd = request["argv"], request["cwd"]
    if not (isinstance(argv, list) and all(isinstance(a, str) for a in argv)
            and isinstance(cwd, str) and os.path.isabs(cwd)):
        raise ValueError("argv must be a list of strings and cwd an absolute path")
    try:
        args = build_parser("check").parse_args(["check", *argv])
    except SystemExit:  # argparse has printed to the server's log; the hook's own run says why
        raise ValueError(f"bad arguments for check: {argv}") from None
    if args.fix or args.diff_output:
        raise ValueError("a check that fixes runs in the hook")
    backends = _backends(cache, environ, environ.get("REMORA_REVIEW_STRICT") == "1")
    with git.client_environment(_git_vars(environ)):
        printed = check(args, Path(cwd), environ, backends)
    return {"printed": [list(c) for c in printed.chunks], "code": printed.code,
            "pid": os.getpid()}


def _environ(request: Mapping[str, Any]) -> dict[str, str]:
    environ = request["environ"]
    if not isinstance(environ, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in environ.items()):
        raise ValueError("environ must be an object of strings")
    return environ


def _git_vars(environ: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in environ.items() if k.startswith("GIT_")}


def _backends(cache: ReviewCache, environ: Mapping[str, str], strict: bool) -> Backends:
    # A pack installed since the last request is a new module and a new dist-info: look again.
    importlib.invalidate_caches()
    return Backends(
        environ=environ,
        load=lambda refs: cache.load(refs, environ),
        retrieval=_retrieval(cache),
        project=cache.project,
        strict=strict,
        generator=cache.generator,
    )
