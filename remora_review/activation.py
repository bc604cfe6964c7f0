"""Which packs a file activates, from a fast scan of its imports (no libcst: this is the hot path)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# `import a.b as c, d` and `from a.b import (...)` at any indentation; relative imports name no library.
_IMPORT = re.compile(
    r"^[ \t]*(?:from[ \t]+([A-Za-z_][\w.]*)[ \t]+import\b|import[ \t]+([^#\n;]+))", re.MULTILINE
)


def imported_modules(source: str) -> frozenset[str]:
    """Dotted names of the modules a file imports (a docstring that looks like an import counts too;
    that only costs a needless activation, never a wrong finding)."""
    found: set[str] = set()
    for match in _IMPORT.finditer(source):
        if match.group(1):
            found.add(match.group(1))
            continue
        for part in match.group(2).replace("\\", " ").split(","):
            name = part.strip().split()[0] if part.strip() else ""
            if re.fullmatch(r"[A-Za-z_][\w.]*", name):
                found.add(name)
    return frozenset(found)


@dataclass(frozen=True)
class PackTrigger:
    """The part of a pack that activation needs: its name, kind and the modules that activate it."""

    name: str
    kind: str  # library | company
    activate_on: tuple[str, ...]


def _imports_any(modules: Iterable[str], roots: Sequence[str]) -> bool:
    return any(m == r or m.startswith(r + ".") for m in modules for r in roots)


def active_packs(
    source: str, triggers: Sequence[PackTrigger], company_packs: Sequence[str]
) -> tuple[str, ...]:
    """Names of the packs active for one file: library packs by import, listed company packs always."""
    modules = imported_modules(source)
    names = []
    for trigger in triggers:
        listed = trigger.name in company_packs
        if listed or (trigger.kind == "library" and _imports_any(modules, trigger.activate_on)):
            names.append(trigger.name)
    return tuple(names)
