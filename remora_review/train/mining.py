"""Mine typed usages: parameters annotated with a library class, and how their functions use them."""

from __future__ import annotations

import ast
import contextlib
import dataclasses
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
from remora_review.infer.profile import ParameterSite, ProfileBuilder, UsageProfile
from remora_review.pysource.annotations import Named, from_cst, named_class
from remora_review.pysource.imports import absolute
from remora_review.pysource.wrapper import wrap
from remora_review.train import returns
from remora_review.train.inferred import Typing, UsageMiner

# lib: the installed source; docs: documentation pages and docstring examples; tests: a source
# tree's tests and examples (`--source`); repo: a corpus repository.
SourceKind = Literal["lib", "docs", "tests", "repo"]
# Where a library's source tree keeps what is not the library itself.
TEST_DIRS = frozenset({"tests", "test", "testing"})
EXAMPLE_DIRS = frozenset({"examples", "example", "docs_src"})
DOC_DIRS = frozenset({"docs", "doc"})
# Usages whose class is shown, not annotated, are mined from these kinds only: a corpus repository
# is annotated code already, and the library's own internals say little about how users hold it.
INFERRED_KINDS = frozenset({"docs", "tests"})

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
    """The part of the API table mining needs, small enough to send to workers."""

    classes: frozenset[str]
    aliases: Mapping[str, str]
    returns: Mapping[str, str] = dataclasses.field(default_factory=dict)  # returns.call_returns

    @classmethod
    def of(cls, table: ApiTable, documented: Mapping[str, str] | None = None) -> _Resolver:
        classes = frozenset(table.classes)
        return cls(classes, {a: n for a, n in table.aliases.items() if n in classes},
                   returns.call_returns(table, documented or {}))

    def canonical(self, dotted: str) -> str | None:
        return dotted if dotted in self.classes else self.aliases.get(dotted)

    def call_result(self, dotted: str) -> str | None:
        """The class a call of this path gives: a constructor, a function or a classmethod."""
        found = self.canonical(dotted) or self.returns.get(dotted)
        if found is None and "." in dotted:
            owner, _, member = dotted.rpartition(".")
            cls = self.canonical(owner)
            found = self.member_result(cls, member) if cls is not None else None
        return found

    def member_result(self, cls: str, member: str) -> str | None:
        return self.returns.get(f"{cls}.{member}")

    def typing(self) -> Typing:
        return Typing(self.call_result, self.member_result, self.canonical)


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


def source_units(root: Path) -> list[SourceUnit]:
    """What a library's source tree (an unpacked sdist, a checkout) holds beside the library:
    its tests and examples, and its documentation pages."""
    if not root.is_dir():
        raise UserError(f"source directory not found: {root}")
    units: list[SourceUnit] = []
    for directory in _top_dirs(root, TEST_DIRS | EXAMPLE_DIRS):
        units.extend(_file_unit(p, directory.parent, "tests")
                     for p in _python_files(directory, skip_hidden=True))
    for directory in _top_dirs(root, DOC_DIRS):
        units.extend(_prefixed(docs_units(directory), directory.relative_to(root).as_posix()))
    return units


def _top_dirs(root: Path, names: frozenset[str]) -> list[Path]:
    """The outermost directories of these names under root (an sdist nests one level)."""
    found: list[Path] = []
    for dirpath, dirnames, _ in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS and not d.startswith("."))
        chosen = [d for d in dirnames if d in names]
        found.extend(here / d for d in chosen)
        dirnames[:] = [d for d in dirnames if d not in chosen]
    return sorted(found)


def _prefixed(units: Iterable[SourceUnit], prefix: str) -> list[SourceUnit]:
    return [dataclasses.replace(u, display=f"{prefix}/{u.display}") for u in units]


def docstring_units(units: Iterable[SourceUnit]) -> list[SourceUnit]:
    """The `>>>` examples in the docstrings of source files, one unit each; their names resolve
    in the file's module, where an example uses them unimported (`>>> s = Session()`)."""
    out: list[SourceUnit] = []
    for unit in units:
        try:
            tree = ast.parse(_read(unit.path) if unit.text is None else unit.text)
        except (OSError, UnicodeDecodeError, ValueError, SyntaxError, RecursionError):
            continue
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                     ast.AsyncFunctionDef)) or not node.body:
                continue
            first = node.body[0]
            if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str) and ">>>" in first.value.value):
                continue
            for line, code in rst_blocks(first.value.value):
                start = first.lineno + line - 1
                out.append(SourceUnit(f"{unit.display}:{start}", unit.module, "docs", text=code,
                                      first_line=start))
    return out


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
    documented: Mapping[str, str] | None = None,
) -> MiningResult:
    """Labelled usages and the parameter-name table from every unit; sorted, whatever the workers.
    `documented`: what calls return by their docstrings (returns.documented_returns)."""
    resolver = _Resolver.of(table, documented)
    if workers is None:
        workers = 2 if _total_bytes(units) > _PARALLEL_BYTES and (os.cpu_count() or 1) > 1 else 1
    results = _run(resolver, units, workers, conftest_fixtures(resolver, units))
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


Fixtures = Mapping[str, Mapping[str, str]]  # directory of a conftest.py -> fixture name -> class


def conftest_fixtures(resolver: _Resolver, units: Sequence[SourceUnit]) -> dict[str, dict[str, str]]:
    """The fixtures each tests unit's conftest.py files give a known class, by directory."""
    out: dict[str, dict[str, str]] = {}
    for unit in units:
        if unit.kind != "tests" or not unit.display.endswith("conftest.py"):
            continue
        try:
            miner = _miner(resolver, unit, _read(unit.path) if unit.text is None else unit.text)
        except (OSError, UnicodeDecodeError, ValueError, TypeError, RecursionError,
                cst.ParserSyntaxError):
            continue
        found = module_fixtures(miner, {})
        if found:
            out[unit.display.rpartition("/")[0]] = found
    return out


UNTYPED = ""  # a fixture whose class the code does not show: it still shadows a farther one


def _unit_fixtures(unit: SourceUnit, fixtures: Fixtures) -> dict[str, str]:
    """The conftest fixtures a unit sees: its directory's and every parent's, the nearest winning
    (an untyped one too)."""
    parts = unit.display.split("/")[:-1]
    seen: dict[str, str] = {}
    for cut in range(len(parts) + 1):
        seen.update(fixtures.get("/".join(parts[:cut]), {}))
    return seen


def _run(resolver: _Resolver, units: Sequence[SourceUnit], workers: int,
         fixtures: Fixtures) -> Iterator[_UnitResult]:
    if workers <= 1 or len(units) < 4:
        for unit in units:
            yield mine_unit(resolver, unit, _unit_fixtures(unit, fixtures))
        return
    # spawn, not fork: the parent may already run torch threads, which do not survive a fork.
    # The resolver goes to each worker once, not with every unit.
    context = multiprocessing.get_context("spawn")
    tasks = [(unit, _unit_fixtures(unit, fixtures)) for unit in units]
    with context.Pool(workers, initializer=_init_worker, initargs=(resolver,)) as pool:
        yield from pool.imap(_mine_task, tasks, chunksize=4)  # ordered: results stay deterministic


_WORKER: list[_Resolver] = []  # the worker process's resolver, set once by its initializer


def _init_worker(resolver: _Resolver) -> None:
    _WORKER[:] = [resolver]


def _mine_task(task: tuple[SourceUnit, Mapping[str, str]]) -> _UnitResult:
    return mine_unit(_WORKER[0], *task)


def _miner(resolver: _Resolver, unit: SourceUnit, source: str) -> UsageMiner:
    wrapper = wrap(cst.parse_module(source), source)
    # A docstring example uses its module's names unimported; other code imports what it uses.
    return UsageMiner(wrapper, resolver.typing(), unit.module if unit.kind == "docs" else "",
                      factories=unit.kind == "tests")


def module_fixtures(miner: UsageMiner, outer: Mapping[str, str]) -> dict[str, str]:
    """The pytest fixtures of a module, each with the class of its value (UNTYPED when the code
    does not show it), given `outer` ones (a fixture may take another: `def pipe(r): return
    r.pipeline()`)."""
    fixtures = [f for f in miner.functions() if miner.is_fixture(f)]
    found: dict[str, str] = {f.name.value: UNTYPED for f in fixtures}
    for _ in range(2):
        for function in fixtures:
            env = _environment(miner, function, {**outer, **found})
            cls = miner.returned_class(function, env)
            if cls is not None:
                found[function.name.value] = cls
    return found


def _environment(miner: UsageMiner, function: cst.FunctionDef, fixtures: Mapping[str, str],
                 seeds: Mapping[str, str] | None = None) -> dict[str, str]:
    """A function's names of a known class: its parameters that fixtures fill (in tests), the
    `seeds` (its annotated ones), then its variables."""
    scope = miner.scopes.get(function.body)
    if scope is None:
        return {}
    params = function.params
    named = [p.name.value for p in [*params.posonly_params, *params.params, *params.kwonly_params]
             if p.annotation is None]
    given = {n: fixtures[n] for n in named if fixtures.get(n, UNTYPED) != UNTYPED}
    return miner.environment(scope, {**given, **(seeds or {})}, miner.module_environment())


def _inferred(miner: UsageMiner, unit: SourceUnit, sites: Sequence[ParameterSite],
              labels: Mapping[cst.Param, str], fixtures: Mapping[str, str]
              ) -> tuple[list[tuple[ParameterSite, str]], list[tuple[UsageProfile, str, cst.CSTNode]]]:
    """Parameters a fixture fills, and variables, whose class the unit's code shows."""
    fixtures = {**fixtures, **module_fixtures(miner, fixtures)} if unit.kind == "tests" else {}
    params: list[tuple[ParameterSite, str]] = []
    variables: list[tuple[UsageProfile, str, cst.CSTNode]] = []
    by_function: dict[cst.FunctionDef, list[ParameterSite]] = {}
    for site in sites:
        by_function.setdefault(site.function, []).append(site)
    for binding in miner.bindings(None, miner.module_environment()):
        variables.append((binding.profile, binding.label, binding.node))
    for function in miner.functions():
        own = by_function.get(function, [])
        injected = function.name.value.startswith("test") or miner.is_fixture(function)
        filled = fixtures if injected else {}
        seeds = {s.profile.name: labels[s.param] for s in own if s.param in labels}
        env = _environment(miner, function, filled, seeds)
        for site in own:
            label = filled.get(site.profile.name)
            if site.annotation is None and label and site.profile.has_evidence:
                params.append((site, label))
        taken = frozenset(p.name.value for p in [*function.params.posonly_params,
                                                 *function.params.params,
                                                 *function.params.kwonly_params])
        for binding in miner.bindings(function, env, taken):
            variables.append((binding.profile, binding.label, binding.node))
    return params, variables


def mine_unit(resolver: _Resolver, unit: SourceUnit,
              fixtures: Mapping[str, str] | None = None) -> _UnitResult:
    """One unit's labelled usages and annotated names; a unit that cannot be read or parsed
    gives a note instead. Docs and tests units also give the usages whose class their code
    shows (inferred.py); `fixtures`: the conftest fixtures the unit sees."""
    try:
        source = unit.text if unit.text is not None else _read(unit.path)
    except (OSError, UnicodeDecodeError, ValueError) as e:
        return _UnitResult((), (), f"{unit.display}: skipped, cannot read it ({e})")
    try:
        builder = _miner(resolver, unit, source)
        sites = [s for f in builder.functions() for s in builder.sites(f)]
    except cst.ParserSyntaxError as e:
        if unit.kind == "docs":
            return _UnitResult((), (), None)  # an example that is not Python (output, pseudo-code)
        return _UnitResult((), (), f"{unit.display}: skipped, does not parse ({e.message})")
    except (RecursionError, MemoryError, ValueError, TypeError) as e:
        return _UnitResult((), (), f"{unit.display}: skipped, {type(e).__name__} while parsing")
    labelled: list[tuple[ParameterSite, str]] = []
    names: list[tuple[str, str]] = []
    labels: dict[cst.Param, str] = {}
    for site in sites:
        if site.annotation is None:
            continue
        label = annotation_class(builder, site, unit, resolver)
        if label is not None:
            labels[site.param] = label
        if label is None:
            # The name table also counts annotations of other types (`url: str`), so a name that
            # usually means something else does not vote for a library class at inference time.
            other = _other_annotation(builder, site)
            names.append((site.profile.name, other))
            continue
        names.append((site.profile.name, label))
        if site.profile.has_evidence:
            labelled.append((site, label))
    found: list[tuple[UsageProfile, str, cst.CSTNode]] = [
        (site.profile, label, site.param) for site, label in labelled]
    if unit.kind in INFERRED_KINDS:
        params, variables = _inferred(builder, unit, sites, labels, fixtures or {})
        found += [(site.profile, label, site.param) for site, label in params]
        found += variables
        names += [(profile.name, label) for profile, label, _ in [*found[len(labelled):]]]
    if not found:
        return _UnitResult((), tuple(names), None)
    positions = builder.wrapper.resolve(meta.PositionProvider)
    usages = tuple(
        MinedUsage(
            profile=profile,
            label=label,
            file=unit.display.split(":")[0],
            line=unit.first_line - 1 + positions[node].start.line,
            source=unit.kind,
        )
        for profile, label, node in found
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
