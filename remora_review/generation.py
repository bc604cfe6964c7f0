"""The protocol a code model implements, so LoRA-backed generators (vLLM, transformers + peft) slot in.

No generator ships yet: fixes today come from checks' own transforms. Whatever a generator
returns is untrusted text and goes through the same gate as any fix: it must parse and pass the
checks it was meant to satisfy, or it is dropped (see `engine.fix_source`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class GenerationRequest:
    prompt: str
    adapter: str | None  # the LoRA adapter of the pack the request is for; None = base model
    max_tokens: int = 256
    stop: tuple[str, ...] = ()


class Generator(Protocol):
    """Greedy, deterministic completion; one call may batch requests for several adapters."""

    def generate(self, requests: Sequence[GenerationRequest]) -> list[str]: ...
