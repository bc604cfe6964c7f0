"""Mine typed usages: parameters annotated with a library class, and how their functions use them."""

from __future__ import annotations

import contextlib
import importlib.util
import multiprocessing
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import libcst as cst
import libcst.metadata as meta

from remora_review.api_table import ApiTable
from remora_review.errors import UserError
from remora_review.infer.classes import OTHER_LABEL
from remora_review.infer.profile import ParameterSite, ProfileBuilder, UsageProfile, parse_profiles
from remora_review.pysource.annotations import Named, from_cst, named_class
from remora_review.pysource.imports import absolute

SourceKind = Literal["lib", "docs", "repo"]

# Directories that hold no code of the project itself.
SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", "site-packages", "build", "dist", "venv",
                          "env"})
_MAX_FILE_BYTES = 2_000_000
# Past this much source, two worker processes pay for their start-up.
_PARALLEL_BYTES = 1_500_000


@dataclass(frozen=True)
class SourceUnit:
    """One piece of Python to mine: a file, or a code block from a documentation page."""

    display: str  # where it came from, as the pack records it (relative, '/'-separated)
    module: str  # dotted module name ('' when unknown), for relative imports and local classes
    kind: SourceKind
    path: str | None = None  # a file to read, or
    text: str | None = None  # the code itself
    first_line: int = 1  # line of the unit's first line in its file
    is_package: bool = False  # an __init__.py: relative imports start from the module itself


@dataclass(frozen=True)
class MinedUsage:
    """A labelled example: the usage profile of a parameter typed with one library class."""

    profile: UsageProfile
    label: str  # the class's public name
    file: str
    line: int
    source: SourceKind


@dataclass(frozen=True)
class MiningResult:
    usages: tuple[MinedUsage, ...]
    names: Mapping[str, Mapping[str, int]]  # parameter name -> label -> count
    notes: tuple[str, ...]
    units: int


@dataclass(frozen=True)
class _Resolver:
    """The part of the API table annotation resolution needs, small enough to send to workers."""

    classes: frozenset[str]
    aliases: Mapping[str, str]

    @classmethod
    def of(cls, table: ApiTable) -> _Resolver:
        classes = frozenset(table.classes)
        return cls(classes, {a: n for a, n in table.aliases.items() if n in classes})

    def canonical(self, dotted: str) -> str | None:
        return dotted if dotted in self.classes else self.aliases.get(dotted)


@dataclass(frozen=True)
class _UnitResult:
    usages: tuple[MinedUsage, ...]
    names: tuple[tuple[str, str], ...]  # (parameter name, label) per annotated parameter
    note: str | None


# --- sources -----------------------------------------------------------------------------------


def library_units(roots: Sequence[str]) -> list[SourceUnit]:
    """The installed source files of each root package."""
    units: list[SourceUnit] = []
    for root in roots:
        spec = importlib.util.find_spec(root)
        if spec is None:
            raise UserError(f"library {root!r} is not installed")
        if spec.submodule_search_locations:
            for location in sorted(spec.submodule_search_locations):
                base = Path(location).parent
                for path in _python_files(Path(location), skip_hidden=True):
                    units.append(_file_unit(path, base, "lib"))
        elif spec.origin and spec.origin.endswith(".py"):
            origin = Path(spec.origin)
            units.append(_file_unit(origin, origin.parent, "lib"))
    return units


def repo_units(root: Path) -> list[SourceUnit]:
    """Every .py file of a repository, its tests included (they are real usage)."""
    if not root.is_dir():
        raise UserError(f"repository directory not found: {root}")
    return [_file_unit(p, root, "repo") for p in _python_files(root, skip_hidden=True)]


def docs_units(root: Path) -> list[SourceUnit]:
    """Python files and code examples in Markdown and reStructuredText pages under a docs dir."""
    if not root.is_dir():
        raise UserError(f"docs directory not found: {root}")
    units: list[SourceUnit] = []
    for path in _files(root, (".py", ".md", ".markdown", ".rst"), skip_hidden=True):
        rel = path.relative_to(root).as_posix()
        if path.suffix == ".py":
            units.append(SourceUnit(rel, "", "docs", path=str(path)))
            continue
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        blocks = markdown_blocks(text) if path.suffix != ".rst" else rst_blocks(text)
        for line, code in blocks:
            units.append(SourceUnit(f"{rel}:{line}", "", "docs", text=code, first_line=line))
    return units


def _file_unit(path: Path, base: Path, kind: SourceKind) -> SourceUnit:
    rel = path.relative_to(base).as_posix()
    is_package = path.name == "__init__.py"
    return SourceUnit(rel, module_name(path, base), kind, path=str(path), is_package=is_package)


def module_name(path: Path, base: Path) -> str:
    """The dotted module of a file: its stem under the chain of packages (dirs with __init__.py)."""
    parts = [] if path.stem == "__init__" else [path.stem]
    parent = path.parent
    while parent != base and (parent / "__init__.py").is_file():
        parts.insert(0, parent.name)
        parent = parent.parent
    if parent == base and (parent / "__init__.py").is_file():
        parts.insert(0, parent.name)
    return ".".join(parts)


def _python_files(root: Path, skip_hidden: bool) -> list[Path]:
    return _files(root, (".py",), skip_hidden)


def _files(root: Path, suffixes: tuple[str, ...], skip_hidden: bool) -> list[Path]:
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d for d in dirnames
            if d not in SKIPPED_DIRS
            and not (skip_hidden and d.startswith("."))
            and not (here / d / "pyvenv.cfg").exists()
        )
        found.extend(here / f for f in sorted(filenames) if f.endswith(suffixes))
    return sorted(found)


_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>```+|~~~+)[ \t]*(?P<lang>[\w+-]*)")
_RST_DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)\.\.[ \t]+(?:code-block|code|sourcecode)::[ \t]*(?P<lang>\w*)")


def markdown_blocks(text: str) -> list[tuple[int, str]]:
    """(first line, code) of each ```python fenced block; `>>>` sessions become plain code."""
    lines = text.splitlines()
    blocks: list[tuple[int, str]] = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, lang = match.group("fence"), match.group("lang").lower()
        start = i + 1
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            i += 1
        if lang in ("python", "py", "python3", "pycon", "py3"):
            blocks.append((start + 1, _dedent_block(lines[start:i])))
        i += 1
    return blocks


def rst_blocks(text: str) -> list[tuple[int, str]]:
    """(first line, code) of `.. code-block:: python` directives and `>>>` doctest runs."""
    lines = text.splitlines()
    blocks: list[tuple[int, str]] = []
    i = 0
    while i < len(lines):
        directive = _RST_DIRECTIVE.match(lines[i])
        if directive and directive.group("lang").lower() in ("python", "py", "python3", "pycon", ""):
            indent = len(directive.group("indent"))
            j = i + 1
            while j < len(lines) and (not lines[j].strip() or (lines[j].lstrip().startswith(":")
                                      and _indent(lines[j]) > indent)):
                j += 1  # blank lines and directive options
            start = j
            while j < len(lines) and (not lines[j].strip() or _indent(lines[j]) > indent):
                j += 1
            if start < j:
                blocks.append((start + 1, _dedent_block(lines[start:j])))
            i = j
            continue
        if lines[i].lstrip().startswith(">>>"):
            start = i
            while i < len(lines) and lines[i].strip():
                i += 1
            blocks.append((start + 1, _dedent_block(lines[start:i])))
            continue
        i += 1
    return blocks


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _dedent_block(lines: Sequence[str]) -> str:
    """Code from a block: doctest prompts stripped (their output lines dropped), common indent off."""
    if any(line.lstrip().startswith(">>>") for line in lines):
        kept = []
        for line in lines:
            stripped = line.lstrip()
            if stripped.startswith((">>> ", "... ")) or stripped in (">>>", "..."):
                kept.append(stripped[4:])
            else:
                kept.append("")  # output: keep the line count so line numbers still match
        lines = kept
    width = min((_indent(line) for line in lines if line.strip()), default=0)
    return "\n".join(line[width:] for line in lines) + "\n"


# --- mining ------------------------------------------------------------------------------------


def mine(
    table: ApiTable,
    units: Sequence[SourceUnit],
    *,
    workers: int | None = None,
    on_unit: Callable[[], None] | None = None,
) -> MiningResult:
    """Labelled usages and the parameter-name table from every unit; sorted, whatever the workers."""
    resolver = _Resolver.of(table)
    if workers is None:
        workers = 2 if _total_bytes(units) > _PARALLEL_BYTES and (os.cpu_count() or 1) > 1 else 1
    results = _run(resolver, units, workers)
    usages: list[MinedUsage] = []
    names: dict[str, Counter[str]] = {}
    notes: list[str] = []
    for result in results:
        usages.extend(result.usages)
        for name, label in result.names:
            names.setdefault(name, Counter())[label] += 1
        if result.note:
            notes.append(result.note)
        if on_unit is not None:
            on_unit()
    usages.sort(key=lambda u: (u.source, u.file, u.line, u.profile.function, u.profile.name))
    return MiningResult(
        usages=tuple(usages),
        names={n: dict(sorted(c.items())) for n, c in sorted(names.items())},
        notes=tuple(notes),
        units=len(units),
    )


def _total_bytes(units: Iterable[SourceUnit]) -> int:
    total = 0
    for unit in units:
        if unit.text is not None:
            total += len(unit.text)
        elif unit.path is not None:
            with contextlib.suppress(OSError):
                total += os.path.getsize(unit.path)
    return total


def _run(resolver: _Resolver, units: Sequence[SourceUnit], workers: int) -> Iterator[_UnitResult]:
    if workers <= 1 or len(units) < 4:
        for unit in units:
            yield mine_unit(resolver, unit)
        return
    # spawn, not fork: the parent may already run torch threads, which do not survive a fork.
    context = multiprocessing.get_context("spawn")
    tasks = [(resolver, unit) for unit in units]
    with context.Pool(workers) as pool:
        yield from pool.imap(_mine_task, tasks, chunksize=4)  # ordered: results stay deterministic


def _mine_task(task: tuple[_Resolver, SourceUnit]) -> _UnitResult:
    return mine_unit(*task)


def mine_unit(resolver: _Resolver, unit: SourceUnit) -> _UnitResult:
    """One unit's labelled usages and annotated names; a unit that cannot be read or parsed
    gives a note instead."""
    try:
        source = unit.text if unit.text is not None else _read(unit.path)
    except (OSError, UnicodeDecodeError, ValueError) as e:
        return _UnitResult((), (), f"{unit.display}: skipped, cannot read it ({e})")
    try:
        builder, sites = parse_profiles(source)
    except cst.ParserSyntaxError as e:
        if unit.kind == "docs":
            return _UnitResult((), (), None)  # an example that is not Python (output, pseudo-code)
        return _UnitResult((), (), f"{unit.display}: skipped, does not parse ({e.message})")
    except (RecursionError, MemoryError, ValueError, TypeError) as e:
        return _UnitResult((), (), f"{unit.display}: skipped, {type(e).__name__} while parsing")
    labelled: list[tuple[ParameterSite, str]] = []
    names: list[tuple[str, str]] = []
    for site in sites:
        if site.annotation is None:
            continue
        label = annotation_class(builder, site, unit, resolver)
        if label is None:
            # The name table also counts annotations of other types (`url: str`), so a name that
            # usually means something else does not vote for a library class at inference time.
            other = _other_annotation(builder, site)
            names.append((site.profile.name, other))
            continue
        names.append((site.profile.name, label))
        if site.profile.has_evidence:
            labelled.append((site, label))
    if not labelled:
        return _UnitResult((), tuple(names), None)
    positions = builder.wrapper.resolve(meta.PositionProvider)
    usages = tuple(
        MinedUsage(
            profile=site.profile,
            label=label,
            file=unit.display.split(":")[0],
            line=unit.first_line - 1 + positions[site.param].start.line,
            source=unit.kind,
        )
        for site, label in labelled
    )
    return _UnitResult(usages, tuple(names), None)


def _other_annotation(builder: ProfileBuilder, site: ParameterSite) -> str:
    """A non-library annotation as the name table records it: builtins by name, the rest as one bucket."""
    from remora_review.infer.profile import annotation_class as plain_class

    assert site.annotation is not None
    name = plain_class(builder, site.annotation)
    return name if name is not None and name.startswith("builtins.") else OTHER_LABEL


def _read(path: str | None) -> str:
    if path is None:
        raise ValueError("no path")
    if os.path.getsize(path) > _MAX_FILE_BYTES:
        raise ValueError(f"larger than {_MAX_FILE_BYTES} bytes")
    with open(path, encoding="utf-8") as f:
        return f.read()


# --- annotations -------------------------------------------------------------------------------


def annotation_class(
    builder: ProfileBuilder, site: ParameterSite, unit: SourceUnit, resolver: _Resolver
) -> str | None:
    """The public class a parameter's annotation names (pysource.annotations), or None."""
    assert site.annotation is not None
    scope = builder.scopes.get(site.function)

    def qualify(name: Named) -> str | None:
        found = None if name.quoted else builder.qualified(name.node)
        if found is None and scope is not None:
            found = _qualify_text(scope, name.written)
        return found

    found = named_class(from_cst(site.annotation.annotation), qualify)
    return _canonical(found, unit, resolver) if found is not None else None


def _canonical(name: str, unit: SourceUnit, resolver: _Resolver) -> str | None:
    module = unit.module
    if name.startswith("."):
        name = absolute(name, module, unit.is_package)
    found = resolver.canonical(name)
    if found is None and module and "." not in name:
        found = resolver.canonical(f"{module}.{name}")  # a class defined in the same module
    return found


def _qualify_text(scope: meta.Scope, dotted: str) -> str | None:
    head, _, rest = dotted.partition(".")
    names = sorted(q.name for q in scope.get_qualified_names_for(head) if "<locals>" not in q.name)
    if not names:
        return None
    return f"{names[0]}.{rest}" if rest else names[0]
