"""Which packs a file activates, from a fast scan of its imports (no libcst: this is the hot path)."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterable, Mapping, Sequence

from remora_review.pysource.imports import absolute, from_imports, imported_modules

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads any such name)
if TYPE_CHECKING:
    from typing import NamedTuple


def project_imports(source: str, module: str, is_package: bool) -> frozenset[str]:
    """Absolute dotted names of the modules this file may import from its own project: relative
    imports resolved against `module`, and `from m import x` also as `m.x` (x may be a module)."""
    found = set(imported_modules(source))
    for written, names in from_imports(source):
        base = absolute(written, module, is_package)
        if base:
            found.add(base)
        found.update(f"{base}.{name}" if base else name for name in names)
    return frozenset(found)


def module_paths(dotted: str) -> tuple[str, ...]:
    """Where a module may live in a repository: flat and `src/` layouts, module or package."""
    stem = dotted.replace(".", "/")
    return tuple(f"{prefix}{stem}{suffix}" for prefix in ("", "src/")
                 for suffix in (".py", "/__init__.py"))


def neighbour_paths(source: str, path: str) -> tuple[str, ...]:
    """Repository paths where the project modules a file imports may be; most will not exist."""
    from remora_review.pysource.imports import is_package_file, module_name

    module = module_name(path)
    if module is None:
        return ()
    own = set(module_paths(module))
    found = (p for m in sorted(project_imports(source, module, is_package_file(path)))
             for p in module_paths(m))
    return tuple(dict.fromkeys(p for p in found if p not in own))


# What activation needs of a pack: its name, kind (library | company) and the modules that activate
# it. A named tuple made by `collections`, not a dataclass or typing.NamedTuple: the no-pack hook
# builds these and must not pay for importing dataclasses or typing (mypy reads the class below).
if TYPE_CHECKING:
    class PackTrigger(NamedTuple):
        name: str
        kind: str
        activate_on: tuple[str, ...]
else:
    PackTrigger = namedtuple("PackTrigger", "name kind activate_on")


def _imports_any(modules: Iterable[str], roots: Sequence[str]) -> bool:
    return any(m == r or m.startswith(r + ".") for m in modules for r in roots)


def active_packs(
    source: str, triggers: Sequence[PackTrigger], company_packs: Sequence[str],
    neighbours: Iterable[str] = (), scan: Callable[[str], frozenset[str]] = imported_modules,
) -> tuple[str, ...]:
    """Names of the packs active for one file: library packs by import, listed company packs always.

    `neighbours` are the texts of the project modules the file imports: a library they import
    activates too, so `def save(s): s.add(row)` beside the project's models is reviewed even when
    the file itself names no sqlalchemy class.
    """
    modules = set(scan(source))
    for text in neighbours:
        modules |= scan(text)
    names = []
    for trigger in triggers:
        listed = trigger.name in company_packs
        if listed or (trigger.kind == "library" and _imports_any(modules, trigger.activate_on)):
            names.append(trigger.name)
    return tuple(names)


# How far follow-imports reads: the modules a file imports, and the modules those import (a module
# that imports only its package, whose `__init__` imports the module that uses the library).
_FOLLOW_HOPS = 2


def activations(
    files: Sequence[tuple[str, str]],
    triggers: Sequence[PackTrigger],
    company_packs: Sequence[str],
    read: Callable[[set[str]], Mapping[str, str]] | None = None,
    scanned: dict[str, frozenset[str]] | None = None,
) -> list[tuple[str, ...]]:
    """The packs each (path, text) file activates: by its own imports and, when `read` is given
    (follow-imports), by those of the project modules it imports, and of the modules they import.
    `read` gets every candidate path of every file at once, one call a hop, and returns the texts
    of those that exist. `scanned` (text -> its imports) may be shared between calls."""
    scanned = {} if scanned is None else scanned  # each hop rescans every neighbour found so far

    def scan(text: str) -> frozenset[str]:
        if text not in scanned:
            scanned[text] = imported_modules(text)
        return scanned[text]

    active = [active_packs(text, triggers, company_packs, scan=scan) for _, text in files]
    libraries = {t.name for t in triggers if t.kind == "library"}
    wanting = [i for i, names in enumerate(active) if not libraries <= set(names)]
    if read is None or not wanting:
        return active
    frontier = {i: [files[i]] for i in wanting}  # the texts whose imports are followed next
    found: dict[int, dict[str, str]] = {i: {files[i][0]: files[i][1]} for i in wanting}
    # Files of one package import the same modules: each module's neighbours are read once.
    neighbours_of: dict[tuple[str, str], tuple[str, ...]] = {}

    def paths_of(path: str, text: str) -> tuple[str, ...]:
        if (path, text) not in neighbours_of:
            neighbours_of[path, text] = neighbour_paths(text, path)
        return neighbours_of[path, text]

    for _ in range(_FOLLOW_HOPS):
        candidates = {i: [p for path, text in frontier[i] for p in paths_of(path, text)
                          if p not in found[i]] for i in frontier}
        wanted = {p for c in candidates.values() for p in c}
        if not wanted:
            break
        texts = read(wanted)
        frontier = {}
        for i, paths in candidates.items():
            new = {p: texts[p] for p in paths if p in texts}
            if not new:
                continue
            found[i].update(new)
            neighbours = [t for p, t in found[i].items() if p != files[i][0]]
            active[i] = active_packs(files[i][1], triggers, company_packs, neighbours, scan)
            if not libraries <= set(active[i]):
                frontier[i] = list(new.items())
    return active
