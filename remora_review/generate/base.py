"""The protocol a code model implements, and the values it takes and returns.

Whatever a generator returns is untrusted text and goes through the same gate as any fix: it must
parse and pass the checks it was meant to satisfy, or it is dropped (see `engine.fix_source`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from remora_review.errors import UserError


@dataclass(frozen=True)
class OutputShape:
    """What the answer must look like, enforced while decoding: a small local model cannot then
    return something the bot fails to parse. At most one of the two is set."""

    json_schema: Mapping[str, Any] | None = field(default=None, hash=False)
    grammar: str | None = None  # EBNF (GBNF dialect), as vLLM's and xgrammar's grammar take it

    def __post_init__(self) -> None:
        if (self.json_schema is None) == (self.grammar is None):
            raise ValueError("an OutputShape holds exactly one of json_schema and grammar")

    @property
    def schema_text(self) -> str | None:
        return None if self.json_schema is None else json.dumps(self.json_schema, sort_keys=True)


@dataclass(frozen=True)
class GenerationRequest:
    prompt: str | tuple[int, ...]  # text, or token ids of the base model's tokenizer
    adapter: str | None = None  # the pack whose LoRA adapter answers; None = the base model
    max_tokens: int = 256
    stop: tuple[str, ...] = ()
    shape: OutputShape | None = None
    ignore_eos: bool = False  # keep going past EOS: for measurements and token-exact comparisons


@dataclass(frozen=True)
class Generation:
    text: str  # cut before the first stop string
    token_ids: tuple[int, ...]  # every token generated, as the model produced them


@dataclass(frozen=True)
class Adapter:
    """A pack's LoRA adapter: a directory of adapter_config.json + adapter_model.safetensors."""

    name: str  # the pack's name; requests choose an adapter by it
    path: Path

    @property
    def stable_id(self) -> int:
        """A positive 31-bit id that stays the same for the same pack and adapter directory
        across runs and whatever else is loaded: vLLM caches adapters by this id."""
        key = f"{self.name}\0{self.path.resolve()}".encode()
        return int.from_bytes(hashlib.sha256(key).digest()[:4], "big") % (2**31 - 1) + 1


class Generator(Protocol):
    """Greedy, deterministic completion; one call may mix requests for several adapters."""

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]: ...

    def close(self) -> None: ...


def check_adapters(adapters: Sequence[Adapter]) -> dict[str, Adapter]:
    """Adapters by name; a duplicate name, a missing directory or a clash of ids is a UserError."""
    by_name: dict[str, Adapter] = {}
    ids: dict[int, str] = {}
    for adapter in adapters:
        if adapter.name in by_name:
            raise UserError(f"two LoRA adapters are named {adapter.name!r}")
        if not (adapter.path / "adapter_config.json").is_file():
            raise UserError(f"LoRA adapter {adapter.name!r}: no adapter_config.json in {adapter.path}")
        if (other := ids.get(adapter.stable_id)) is not None:
            raise UserError(f"LoRA adapters {other!r} and {adapter.name!r} hash to the same id")
        by_name[adapter.name] = adapter
        ids[adapter.stable_id] = adapter.name
    return by_name


def unknown_adapter(request: GenerationRequest, known: Mapping[str, object]) -> UserError:
    names = ", ".join(sorted(known)) or "none"
    return UserError(f"no LoRA adapter named {request.adapter!r} is loaded (loaded: {names})")


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """The text before the earliest stop string, as vLLM returns it."""
    cut = len(text)
    for s in stop:
        if s and (at := text.find(s)) != -1:
            cut = min(cut, at)
    return text[:cut]
