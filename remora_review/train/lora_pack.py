"""`remora-train lora`: mine golden snippets, train the adapter, and ship it inside a new .pack."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from remora_review.errors import UserError
from remora_review.packs.archive import finalize_pack, write_manifest, write_pack
from remora_review.packs.loader import MANIFEST, load_pack
from remora_review.packs.manifest import Lora, Manifest
from remora_review.train.golden import golden_snippets, split_held_out
from remora_review.train.lora import LoraResult, LoraSettings, TrainingText, train_lora
from remora_review.train.mining import library_units, repo_units
from remora_review.train.progress import Progress

ADAPTER_DIR = "lora"


@dataclass(frozen=True)
class LoraPackResult:
    path: Path
    manifest: Manifest
    lora: LoraResult


def add_lora(
    pack: Path,
    base_model: str,
    out: Path,
    progress: Progress,
    *,
    gguf_file: str | None = None,
    modules: Sequence[str] = (),
    repos: Sequence[Path] = (),
    max_snippets: int = 2000,
    settings: LoraSettings | None = None,
    rewrites: Sequence[TrainingText] = (),
) -> LoraPackResult:
    """`rewrites`: generated fixes' prompts and answers (generate/prompt.py's format), trained on
    beside the snippets and repeated until they are about half of what the adapter sees. The
    held-out perplexity is measured on golden snippets of held-out files only."""
    settings = settings or LoraSettings()
    loaded = load_pack(pack)
    roots = tuple(modules) or loaded.activate_on
    if not roots:
        raise UserError(f"pack {loaded.name} activates on no library: name its code with --library")
    with progress.stage("snippets", total=1) as stage:
        units = library_units(roots) + [u for r in repos for u in repo_units(r)]
        snippets = golden_snippets(units, max_snippets)
        stage.advance()
    train_snippets, held = split_held_out(snippets)
    train = [TrainingText(s.text) for s in train_snippets]
    progress.note(
        f"{len(snippets)} golden snippets from {len(units)} files: {len(train)} to train on, "
        f"{len(held)} held out"
    )
    if rewrites:
        repeat = max(1, len(train) // len(rewrites))
        train += list(rewrites) * repeat
        progress.note(f"{len(rewrites)} generated-fix pairs, each {repeat} times")
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        directory = work / "pack"
        shutil.copytree(loaded.root, directory)
        if loaded.manifest.lora is not None:  # a retrained adapter replaces the old one
            shutil.rmtree(directory / loaded.manifest.lora.path, ignore_errors=True)
        result = train_lora(
            base_model, train, [s.text for s in held],
            directory / ADAPTER_DIR, progress, gguf_file=gguf_file, settings=settings,
        )
        lora = Lora(
            base_model=base_model,
            rank=settings.rank,
            path=ADAPTER_DIR,
            base_model_version=result.base_model_version,
            perplexity_base=round(result.perplexity_base, 4),
            perplexity_adapter=round(result.perplexity_adapter, 4),
            held_out_files=tuple(sorted({s.file for s in held})),
            held_out_snippets=result.held_out_snippets,
            held_out_tokens=result.held_out_tokens,
            train_snippets=len(train_snippets),
            train_rewrites=len(rewrites),
        )
        updated = Manifest.model_validate({**loaded.manifest.model_dump(), "lora": lora, "files": {}})
        write_manifest(updated, directory / MANIFEST)
        manifest = finalize_pack(directory)
        write_pack(directory, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return LoraPackResult(out, manifest, result)
