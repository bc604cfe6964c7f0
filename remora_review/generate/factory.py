"""The configured generator, built from `[tool.remora-review.generator]` and the activated packs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from remora_review.generate.base import Adapter, Generator

if TYPE_CHECKING:
    from remora_review.config import Generator as GeneratorSettings
    from remora_review.packs.loader import LoadedPack


def pack_adapters(packs: Mapping[str, LoadedPack]) -> list[Adapter]:
    """The LoRA adapter of every pack that ships one, named by its pack."""
    return [
        Adapter(name, path) for name, pack in sorted(packs.items())
        if (path := pack.lora_path) is not None
    ]


def skipped_note(configured: GeneratorSettings | None, packs: Mapping[str, LoadedPack]) -> str | None:
    """The one line that says what ran without a generator, or None when nothing was skipped."""
    if configured is not None:
        return None
    with_lora = sorted(name for name, pack in packs.items() if pack.manifest.lora is not None)
    if not with_lora:
        return None
    return (
        f"no generator is configured, so the LoRA adapter of {', '.join(with_lora)} was not used "
        "and no fix was generated; enable it with [tool.remora-review.generator] and "
        "`pip install 'remora-review[generate]'`"
    )


def open_generator(settings: GeneratorSettings, adapters: Sequence[Adapter]) -> Generator:
    if settings.backend == "transformers":
        from remora_review.generate.transformers_backend import TransformersGenerator

        return TransformersGenerator(
            settings.model, adapters, gguf_file=settings.gguf_file, device=settings.device,
            dtype=settings.dtype,
        )
    if settings.backend == "vllm":
        from remora_review.generate.vllm_backend import VllmGenerator

        return VllmGenerator(
            settings.model,
            adapters,
            max_loras=settings.max_loras,
            max_cpu_loras=settings.max_cpu_loras,
            max_lora_rank=settings.max_lora_rank,
            max_model_len=settings.max_model_len,
            gpu_memory_utilization=settings.gpu_memory_utilization,
            dtype=settings.dtype,
        )
    from remora_review.generate.openai_backend import OpenAIGenerator

    assert settings.server_url is not None  # the settings refuse openai without one
    return OpenAIGenerator(
        settings.server_url,
        settings.model,
        adapters,
        load_adapters=settings.load_adapters,
        timeout=settings.timeout,
    )
