"""Reading `[tool.remora-review]` with the standard library, and the settings a run needs before it
knows whether any pack is active.

pydantic costs more to import than the whole no-pack hook may take, so the table is validated
(config.Settings) only when it has keys to validate or a pack is active; a repository without the
table runs on CoreSettings' defaults, which a test holds equal to Settings' own. A table validated
once is remembered (CheckedSettings: pydantic's dump, in the user's cache, under the table's and
the release's hash), so later runs read it with json; any change to the table is a new key.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from remora_review.errors import UserError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

if TYPE_CHECKING:
    from remora_review.config import Settings


class PreSettings(Protocol):
    """What a run reads before packs are loaded: Settings and CoreSettings both have it."""

    @property
    def packs(self) -> tuple[str, ...]: ...
    @property
    def pack_paths(self) -> tuple[str, ...]: ...
    @property
    def filter_mode(self) -> str: ...
    @property
    def max_file_size(self) -> int: ...
    @property
    def follow_imports(self) -> bool: ...
    @property
    def exclude(self) -> tuple[str, ...]: ...

    def code_enabled(self, code: str) -> bool: ...


@dataclass(frozen=True)
class ConfigFile:
    """The raw `[tool.remora-review]` table and where it came from ({} when there is none)."""

    source: str
    table: Mapping[str, Any]


def read_config(path: Path | None, root: Path) -> ConfigFile:
    """Read an explicit config file, else `root/pyproject.toml`; no file means an empty table."""
    candidate = path if path is not None else root / "pyproject.toml"
    if not candidate.is_file():
        if path is not None:
            raise UserError(f"config file not found: {path}")
        return ConfigFile(str(candidate), {})
    try:
        text = candidate.read_text("utf-8")
    except UnicodeDecodeError as e:
        raise UserError(f"{candidate}: not valid TOML: {e}") from None
    return config_from_text(text, candidate.name, str(candidate))


def config_from_text(text: str, name: str, source: str) -> ConfigFile:
    """The table of a config file's text: `[tool.remora-review]` of a pyproject.toml, the top
    level of a dedicated file (remora-review.toml) that has no such table."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{source}: not valid TOML: {e}") from None
    table = raw.get("tool", {}).get("remora-review", {})
    if Path(name).name != "pyproject.toml" and not table:
        table = raw  # a dedicated remora-review.toml holds the table at its top level
    return ConfigFile(source, table)


@dataclass(frozen=True)
class CoreSettings:
    """Settings' defaults, with the command line's overrides, for a repository that configures
    nothing; `validated()` gives the full Settings when a pack turns out to be active."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    filter_mode: str = "added"
    packs: tuple[str, ...] = ()
    pack_paths: tuple[str, ...] = ()
    max_file_size: int = 1_000_000
    follow_imports: bool = True
    exclude: tuple[str, ...] = ()

    def code_enabled(self, code: str) -> bool:
        selected = not self.select or any(code.startswith(s) for s in self.select)
        return selected and not any(code.startswith(i) for i in self.ignore)

    def validated(self) -> Settings:
        from remora_review.config import Settings

        return Settings().model_copy(update={f.name: getattr(self, f.name) for f in fields(self)})


@dataclass(frozen=True)
class CheckedSettings:
    """Settings pydantic validated on an earlier run, read back from its JSON dump (with the
    command line's overrides applied): what the hook needs without importing pydantic."""

    dump: Mapping[str, Any]  # Settings.model_dump(mode="json")

    @property
    def packs(self) -> tuple[str, ...]:
        return tuple(self.dump["packs"])

    @property
    def pack_paths(self) -> tuple[str, ...]:
        return tuple(self.dump["pack_paths"])

    @property
    def select(self) -> tuple[str, ...]:
        return tuple(self.dump["select"])

    @property
    def ignore(self) -> tuple[str, ...]:
        return tuple(self.dump["ignore"])

    @property
    def filter_mode(self) -> str:
        return str(self.dump["filter_mode"])

    @property
    def max_file_size(self) -> int:
        return int(self.dump["max_file_size"])

    @property
    def follow_imports(self) -> bool:
        return bool(self.dump["follow_imports"])

    @property
    def exclude(self) -> tuple[str, ...]:
        return tuple(self.dump["exclude"])

    def code_enabled(self, code: str) -> bool:
        selected = not self.select or any(code.startswith(s) for s in self.select)
        return selected and not any(code.startswith(i) for i in self.ignore)

    def validated(self) -> Settings:
        from remora_review.config import Settings

        return Settings.model_validate(self.dump)


def _with_overrides(dump: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    return {**dump, **{k: list(v) if isinstance(v, tuple) else v for k, v in overrides.items()}}


def _remembered(config: ConfigFile, cache_dir: Path | None) -> tuple[Path | None, Any]:
    """Where this table's validation is remembered, and its dump when it is."""
    if cache_dir is None:
        return None, None
    from remora_review import __version__

    # The schema's own file too: a checkout edited without a new release must validate afresh.
    schema = Path(__file__).with_name("config.py").stat()
    raw = json.dumps([__version__, schema.st_size, schema.st_mtime_ns, config.table],
                     sort_keys=True, default=repr)
    path = cache_dir / f"settings-{hashlib.sha256(raw.encode()).hexdigest()[:32]}.json"
    with contextlib.suppress(OSError, ValueError):
        dump = json.loads(path.read_text("utf-8"))
        if isinstance(dump, dict):
            return path, dump
    return path, None


def settings_for(config: ConfigFile, overrides: Mapping[str, Any],
                 cache_dir: Path | None = None) -> PreSettings:
    """CoreSettings when the table is empty (nothing to validate), else the validated Settings
    (CheckedSettings when `cache_dir` remembers this table validated); `overrides` (select,
    ignore, filter_mode from the command line) apply to either."""
    if not config.table:
        return CoreSettings(**overrides)
    path, dump = _remembered(config, cache_dir)
    if dump is not None:
        return CheckedSettings(_with_overrides(dump, overrides))
    from remora_review.config import parse_settings

    settings = parse_settings(dict(config.table), config.source)  # a bad table raises here
    if path is not None:
        from remora_review.atomic import write_atomic

        with contextlib.suppress(OSError):  # not remembered: the next run validates again
            write_atomic(path, settings.model_dump_json().encode("utf-8"), make_parents=True)
    return settings.model_copy(update=dict(overrides)) if overrides else settings


def validated(settings: PreSettings) -> Settings:
    """The full Settings (pydantic), for the part of a run that loads packs."""
    if isinstance(settings, (CoreSettings, CheckedSettings)):
        return settings.validated()
    return cast("Settings", settings)  # the only other kind is Settings itself
