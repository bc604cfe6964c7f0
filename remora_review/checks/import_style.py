"""How a project sorts its imports: isort's sections as ruff reads them from the project's layout
and its ruff (or isort) settings, and the sort keys ruff's `I` rules compare."""

from __future__ import annotations

import enum
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class Section(enum.IntEnum):
    """isort's default sections, in their default order."""

    FUTURE = 0
    STANDARD_LIBRARY = 1
    THIRD_PARTY = 2
    FIRST_PARTY = 3
    LOCAL_FOLDER = 4


_DIGITS = re.compile(r"(\d+)")


def natural(text: str) -> tuple[tuple[int, int, str], ...]:
    """A natural sort key (`a2` before `a10`), as ruff's `natord` compares names."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in _DIGITS.split(text) if part)


@dataclass(frozen=True)
class ImportStyle:
    """The settings that decide where an import goes. Defaults are ruff's."""

    first_party: frozenset[str] = frozenset()  # top-level modules (known-first-party + layout)
    third_party: frozenset[str] = frozenset()  # known-third-party
    local_folder: frozenset[str] = frozenset()  # known-local-folder
    roots: tuple[Path, ...] = ()  # `src` directories: a top-level module found in one is ours
    line_length: int = 88
    order_by_type: bool = True
    case_sensitive: bool = False
    force_single_line: bool = False
    force_sort_within_sections: bool = False

    def section(self, module: str, level: int = 0) -> Section:
        if level:
            return Section.LOCAL_FOLDER
        top = module.split(".")[0]
        if top == "__future__":
            return Section.FUTURE
        for known, section in ((self.local_folder, Section.LOCAL_FOLDER),
                               (self.first_party, Section.FIRST_PARTY),
                               (self.third_party, Section.THIRD_PARTY)):
            if module in known or top in known:
                return section
        if top in sys.stdlib_module_names:
            return Section.STANDARD_LIBRARY
        if any((base / top).is_dir() or (base / f"{top}.py").is_file() for base in self.roots):
            return Section.FIRST_PARTY
        return Section.THIRD_PARTY

    def module_key(self, module: str) -> tuple[Any, ...]:
        """The order of `import m` statements, and of `from m import ...` ones by their module."""
        lowered = module if self.case_sensitive else module.lower()
        return natural(lowered), natural(module)

    def member_key(self, name: str, asname: str | None = None) -> tuple[Any, ...]:
        """The order of the names in `from m import a, B, C` (constants, classes, then the rest)."""
        kind = 0
        if self.order_by_type:
            if len(name) > 1 and name.isupper():
                kind = 0
            elif name[:1].isupper():
                kind = 1
            else:
                kind = 2
        lowered = name if self.case_sensitive else name.lower()
        return kind, natural(lowered), natural(name), asname or ""


_CONFIG_FILES = (".ruff.toml", "ruff.toml", "pyproject.toml")


def _table(raw: Mapping[str, Any], *path: str) -> Mapping[str, Any]:
    for key in path:
        value = raw.get(key)
        if not isinstance(value, Mapping):
            return {}
        raw = value
    return raw


def _names(table: Mapping[str, Any], *keys: str) -> frozenset[str]:
    out: set[str] = set()
    for key in keys:
        value = table.get(key)
        if isinstance(value, list):
            out.update(str(v) for v in value)
    return frozenset(out)


def read_import_style(root: Path | None) -> ImportStyle:
    """The project's import settings: ruff's (`ruff.toml`, `.ruff.toml` or `[tool.ruff]`), else
    isort's (`[tool.isort]`), over ruff's defaults. A file that does not parse counts as absent:
    the fix still places the import, by the defaults."""
    if root is None:
        return ImportStyle()
    for name in _CONFIG_FILES:
        path = root / name
        if not path.is_file():
            continue
        try:
            raw = tomllib.loads(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue
        ruff = raw if name != "pyproject.toml" else _table(raw, "tool", "ruff")
        if ruff:
            return _ruff_style(root, ruff)
        isort = _table(raw, "tool", "isort")
        if isort:
            return _isort_style(root, isort)
    return ImportStyle(roots=(root, root / "src"))


def _ruff_style(root: Path, ruff: Mapping[str, Any]) -> ImportStyle:
    isort = _table(ruff, "lint", "isort") or _table(ruff, "isort")
    src = ruff.get("src")
    roots = tuple(root / str(s) for s in src) if isinstance(src, list) else (root, root / "src")
    length = ruff.get("line-length")
    return ImportStyle(
        first_party=_names(isort, "known-first-party"),
        third_party=_names(isort, "known-third-party"),
        local_folder=_names(isort, "known-local-folder"),
        roots=roots,
        line_length=length if isinstance(length, int) else 88,
        order_by_type=isort.get("order-by-type", True) is not False,
        case_sensitive=isort.get("case-sensitive", False) is True,
        force_single_line=isort.get("force-single-line", False) is True,
        force_sort_within_sections=isort.get("force-sort-within-sections", False) is True,
    )


def _isort_style(root: Path, isort: Mapping[str, Any]) -> ImportStyle:
    src = isort.get("src_paths")
    roots = tuple(root / str(s) for s in src) if isinstance(src, list) else (root, root / "src")
    length = isort.get("line_length")
    default_length = 88 if isort.get("profile") == "black" else 79
    return ImportStyle(
        first_party=_names(isort, "known_first_party"),
        third_party=_names(isort, "known_third_party"),
        local_folder=_names(isort, "known_local_folder"),
        roots=roots,
        line_length=length if isinstance(length, int) else default_length,
        order_by_type=isort.get("order_by_type", True) is not False,
        case_sensitive=isort.get("case_sensitive", False) is True,
        force_single_line=isort.get("force_single_line", False) is True,
        force_sort_within_sections=isort.get("force_sort_within_sections", False) is True,
    )
