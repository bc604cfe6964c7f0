"""`[tool.remora-review]` in pyproject.toml, parsed once into a frozen, validated Settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

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
