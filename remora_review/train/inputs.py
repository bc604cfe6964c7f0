"""Read the hand-written inputs of a pack: policies and glossary TOML files, template dirs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from remora_review.errors import UserError
from remora_review.packs.manifest import Policy, Rewrite

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TEMPLATE_SUFFIX = ".pym"


def _read_toml(path: Path, what: str) -> dict[str, Any]:
    if not path.is_file():
        raise UserError(f"{what} file not found: {path}")
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: not valid TOML: {e}") from None


def load_policies(path: Path) -> tuple[Policy, ...]:
    """`[[policy]]` tables, each a `Policy`; codes must be unique."""
    raw = _read_toml(path, "policies")
    unknown = sorted(set(raw) - {"policy"})
    if unknown:
        raise UserError(f"{path}: unknown top-level key {unknown[0]!r} (expected [[policy]] tables)")
    tables = raw.get("policy", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise UserError(f"{path}: `policy` must be an array of tables ([[policy]])")
    policies = []
    for n, table in enumerate(tables, 1):
        try:
            policies.append(Policy.model_validate(table))
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(table)"
            code = table.get("code", f"#{n}")
            raise UserError(f"{path}: policy {code}: {where}: {first['msg']}") from None
    codes = [p.code for p in policies]
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    if duplicates:
        raise UserError(f"{path}: policy code {duplicates[0]} appears more than once")
    return tuple(sorted(policies, key=lambda p: p.code))


def load_rewrites(path: Path) -> tuple[Rewrite, ...]:
    """`[[rewrite]]` tables, each a `Rewrite`: API-check findings whose fix the code model writes."""
    raw = _read_toml(path, "rewrites")
    unknown = sorted(set(raw) - {"rewrite"})
    if unknown:
        raise UserError(f"{path}: unknown top-level key {unknown[0]!r} (expected [[rewrite]] tables)")
    tables = raw.get("rewrite", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise UserError(f"{path}: `rewrite` must be an array of tables ([[rewrite]])")
    out = []
    for n, table in enumerate(tables, 1):
        try:
            out.append(Rewrite.model_validate(table))
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(table)"
            raise UserError(f"{path}: rewrite #{n}: {where}: {first['msg']}") from None
    return tuple(out)


def load_glossary(path: Path) -> dict[str, str]:
    """Terms and what they mean: `"The Gizmo" = "Microservice B"`, at the top level or under
    `[glossary]`."""
    raw = _read_toml(path, "glossary")
    table = raw.get("glossary", raw) if set(raw) == {"glossary"} else raw
    if not isinstance(table, dict):
        raise UserError(f"{path}: the glossary must be a table of term = meaning")
    bad = sorted(k for k, v in table.items() if not isinstance(v, str) or not v.strip())
    if bad:
        raise UserError(f"{path}: glossary term {bad[0]!r} must map to a non-empty string")
    return dict(sorted(table.items()))


def template_files(directory: Path) -> list[Path]:
    """The `.pym` templates of a directory (recursively), sorted; none is an error."""
    if not directory.is_dir():
        raise UserError(f"templates directory not found: {directory}")
    found = sorted(p for p in directory.rglob(f"*{TEMPLATE_SUFFIX}") if p.is_file())
    if not found:
        raise UserError(f"templates directory {directory} holds no {TEMPLATE_SUFFIX} files")
    return found
