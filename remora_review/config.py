"""`[tool.remora-review]` in pyproject.toml, parsed once into a frozen, validated Settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from remora_review.errors import UserError

FilterMode = Literal["added", "diff_context", "file"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class TypeHints(_Section):
    threshold: float = Field(0.9, ge=0.0, le=1.0)  # chosen on the dev set: see README
    report_below: bool = Field(False, alias="report-below")  # info findings under the threshold
    top_k: int = Field(20, alias="top-k", ge=1, le=200)


class Index(_Section):
    backend: Literal["embedded", "pgvector"] = "embedded"
    dsn: str | None = None  # else REMORA_DATABASE_URL
    fallback: Literal["embedded", "none"] = "embedded"  # when the database is down


class Embedding(_Section):
    server: bool = True  # share one warm model process between runs
    idle_timeout: int = Field(900, alias="idle-timeout", ge=10)
    device: str = "cpu"


class Generator(_Section):
    """The code model that writes generated fixes; absent means no generated fix is tried."""

    backend: Literal["transformers", "vllm", "openai"]
    # Hub id or local directory; for `openai`, the name the server serves the base model under.
    model: str
    gguf_file: str | None = Field(None, alias="gguf-file")  # a .gguf inside `model` (transformers)
    server_url: str | None = Field(None, alias="server-url")  # openai: e.g. http://127.0.0.1:8000/v1
    # openai: load pack adapters through /v1/load_lora_adapter (the server must allow it).
    load_adapters: bool = Field(True, alias="load-adapters")
    max_tokens: int = Field(256, alias="max-tokens", ge=1, le=8192)
    # Documents of the pack's index a generated fix's prompt quotes (0: none, a shorter prompt).
    context_documents: int = Field(3, alias="context-documents", ge=0, le=20)
    max_loras: int = Field(4, alias="max-loras", ge=1)  # adapters in one batch (vllm)
    max_cpu_loras: int | None = Field(None, alias="max-cpu-loras", ge=1)  # adapters kept warm
    max_lora_rank: int = Field(16, alias="max-lora-rank", ge=1, le=512)
    max_model_len: int | None = Field(None, alias="max-model-len", ge=16)
    gpu_memory_utilization: float = Field(0.9, alias="gpu-memory-utilization", gt=0.0, le=1.0)
    device: str = "cpu"  # transformers
    # Weights' precision; "auto" is float32 on CPU for transformers, the model's own for vLLM
    # (vLLM on CPU turns float32 into bfloat16 unless told "float32").
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    timeout: float = Field(120.0, gt=0.0)  # seconds per server request (openai)

    @model_validator(mode="after")
    def _backend_needs(self) -> Generator:
        if self.backend == "openai" and not self.server_url:
            raise ValueError("backend 'openai' needs server-url")
        if self.max_cpu_loras is not None and self.max_cpu_loras < self.max_loras:
            raise ValueError("max-cpu-loras must be at least max-loras")
        return self


class Settings(_Section):
    packs: tuple[str, ...] = ()  # company packs, active on every file of this repository
    pack_paths: tuple[str, ...] = Field((), alias="pack-paths")  # extra places to find packs
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    filter_mode: FilterMode = Field("added", alias="filter-mode")
    max_file_size: int = Field(1_000_000, alias="max-file-size", ge=1)
    exclude: tuple[str, ...] = ()
    # A library pack also activates for a file that imports a project module importing the library.
    follow_imports: bool = Field(True, alias="follow-imports")
    typehints: TypeHints = TypeHints()
    index: Index = Index()
    embedding: Embedding = Embedding()
    generator: Generator | None = None

    def code_enabled(self, code: str) -> bool:
        selected = not self.select or any(code.startswith(s) for s in self.select)
        return selected and not any(code.startswith(i) for i in self.ignore)


def _describe(error: ValidationError, source: str) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    if first["type"] == "extra_forbidden":
        return f"{source}: unknown key [tool.remora-review] {where}"
    return f"{source}: [tool.remora-review] {where}: {first['msg']}"


def parse_settings(table: dict[str, Any], source: str = "pyproject.toml") -> Settings:
    try:
        return Settings.model_validate(table)
    except ValidationError as e:
        raise UserError(_describe(e, source)) from None


def load_settings(path: Path | None, root: Path) -> Settings:
    """Read an explicit config file, else `root/pyproject.toml`; no file means defaults."""
    from remora_review.config_file import read_config

    config = read_config(path, root)
    return parse_settings(dict(config.table), config.source) if config.table else Settings()
