"""Fetch the pinned training corpus (packs/sources/training-repos.toml) from PyPI and count its typed parameters.

Run from the repository root: python scripts/fetch_training_repos.py [--cache DIR] [--only NAME ...]
Each release is downloaded the way the dev set is (bench/devset/fetch.py: `pip download --no-deps`,
a wheel, else the sdist) and unpacked into <cache>/repos/<name>-<version>/; nothing is installed.
Only modules that import sqlalchemy, httpx, fastapi or starlette (and __init__.py files) are kept:
the miner learns nothing from the rest. One line per project: its kept .py files, lines, and parameters annotated with a class of each library,
found by a quick `ast` scan whose annotation names are resolved through the file's imports.
build_packs.py passes the directories of `fetch_all(cache)[library]` to remora-train as --repo.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import os
import re
import shutil
import sys
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRAINING_FILE = ROOT / "packs" / "sources" / "training-repos.toml"
DEFAULT_CACHE = ROOT / ".train-cache"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.devset.fetch import (  # noqa: E402
    PROJECTS_FILE,
    FetchError,
    Project,
    _archive,
    _pip_download,
    _unpack,
    load_projects,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# Pack name -> the top-level modules whose classes it types.
PACK_MODULES: Mapping[str, tuple[str, ...]] = {
    "sqlalchemy": ("sqlalchemy",),
    "httpx": ("httpx",),
    "fastapi": ("fastapi", "starlette"),
}
_MODULE_PACK = {module: pack for pack, modules in PACK_MODULES.items() for module in modules}
# An exact release: 1.2, 2.0.1787969905, 3.0rc1, 1.0.post2 (no ranges, wildcards or local parts).
_EXACT_VERSION = re.compile(r"^[0-9]+(\.[0-9]+)*((a|b|rc)[0-9]+)?(\.post[0-9]+)?(\.dev[0-9]+)?$")
_SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", "site-packages"})
_WATCHED_IMPORT = re.compile(
    r"^[ \t]*(?:from|import)[ \t]+(?:" + "|".join(_MODULE_PACK) + r")\b", re.MULTILINE)
_VENDOR = re.compile(r"vendor|third_party|thirdparty|externals?$")
_TYPING_FORMS = frozenset({"Optional", "Union", "Annotated", "Final", "ClassVar", "Required",
                           "NotRequired", "ReadOnly"})


class TrainingListError(ValueError):
    """training-repos.toml is malformed, or overlaps the dev set."""


@dataclass(frozen=True)
class TrainingRepo:
    name: str  # PyPI distribution name
    version: str
    libraries: tuple[str, ...]  # pack names (keys of PACK_MODULES) whose training it feeds
    why: str

    @property
    def project(self) -> Project:
        return Project(self.name, self.version, self.why)

    @property
    def dirname(self) -> str:
        return f"{self.name}-{self.version}"


@dataclass(frozen=True)
class RepoCounts:
    """What the quick scan found in one unpacked release."""

    files: int
    lines: int
    # "<pack>:<top module>.<class qualname>" -> parameters annotated with it
    classes: Mapping[str, int] = field(default_factory=dict)
    # pack -> parameters annotated with at least one of its classes
    params: Mapping[str, int] = field(default_factory=dict)


def normalize(name: str) -> str:
    """A distribution name as PyPI compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def load_training_repos(path: Path = TRAINING_FILE,
                        devset: Path = PROJECTS_FILE) -> list[TrainingRepo]:
    """The pinned training releases, checked: exact versions, known packs, none in the dev set."""
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    repos = [
        TrainingRepo(p["name"], p["version"], tuple(p.get("libraries", ())), p.get("why", ""))
        for p in raw.get("project", [])
    ]
    excluded = {normalize(p.name) for p in load_projects(devset)}
    seen: set[str] = set()
    for repo in repos:
        key = normalize(repo.name)
        if key in excluded:
            raise TrainingListError(f"{repo.name} is in the dev set ({devset.name}): it cannot train")
        if key in seen:
            raise TrainingListError(f"{repo.name} is listed twice in {path.name}")
        seen.add(key)
        if not _EXACT_VERSION.match(repo.version):
            raise TrainingListError(f"{repo.name}: version {repo.version!r} is not an exact release")
        unknown = sorted(set(repo.libraries) - set(PACK_MODULES))
        if not repo.libraries or unknown:
            raise TrainingListError(f"{repo.name}: libraries must be among {sorted(PACK_MODULES)}, "
                                    f"got {list(repo.libraries)}")
    return repos


def _devset_packages(devset: Path) -> frozenset[str]:
    return frozenset(normalize(p.name).replace("-", "_") for p in load_projects(devset))


def vendored_devset(root: Path, devset: Path = PROJECTS_FILE) -> list[str]:
    """Packages of the dev set copied into an unpacked release (that code would leak into training):
    a package of that name at the top of a source root, or anywhere under a vendor directory.
    An integration subpackage such as `mylib/alembic/` is the release's own code and stays."""
    names = _devset_packages(devset)
    found = []
    for init in root.rglob("__init__.py"):
        package = init.parent
        if package.name.lower() not in names:
            continue
        parents = package.relative_to(root).parts[:-1]
        top_level = not (package.parent / "__init__.py").is_file()
        vendored = any(_VENDOR.search(part.lower()) for part in parents)
        if top_level or vendored:
            found.append(package.relative_to(root).as_posix())
    return sorted(found)


def uses_watched(text: str) -> bool:
    """Whether a module imports sqlalchemy, httpx, fastapi or starlette (anywhere in it)."""
    return _WATCHED_IMPORT.search(text) is not None


def prune(root: Path) -> None:
    """Keep what the miner can learn from: the project's own modules that import a watched library,
    and the __init__.py files that make module names. Release metadata, assets, other modules and
    vendored copies of other projects go."""
    for path in sorted(root.rglob("*"), reverse=True):
        if path.is_symlink() or path.is_file():
            vendored = any(_VENDOR.search(p.lower()) for p in path.relative_to(root).parts[:-1])
            keep = path.suffix == ".py" and not path.is_symlink() and not vendored and (
                path.name == "__init__.py" or _imports_watched(path))
            if not keep:
                path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def _imports_watched(path: Path) -> bool:
    try:
        return uses_watched(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError):
        return False


def fetch(repo: TrainingRepo, cache: Path) -> Path:
    """The unpacked, pruned release, <cache>/repos/<name>-<version>, downloaded on first use."""
    dest = cache / "repos" / repo.dirname
    if dest.is_dir():
        return dest
    wheels = cache / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    archive = _archive(repo.project, wheels)
    if archive is None:
        try:
            _pip_download(repo.project.pin, wheels, binary=True)
        except FetchError:
            _pip_download(repo.project.pin, wheels, binary=False)
        archive = _archive(repo.project, wheels)
    if archive is None:
        raise FetchError(f"pip download {repo.project.pin} left no archive in {wheels}")
    # Unpacked and pruned beside its final place, so an interrupted run leaves no half release.
    staging = dest.with_name(f".{repo.dirname}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        _unpack(archive, staging)
        copies = vendored_devset(staging)
        if copies:
            raise FetchError(f"{repo.dirname} carries dev-set code ({', '.join(copies)}): drop "
                             f"it from {TRAINING_FILE.name}")
        prune(staging)
        os.replace(staging, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest


def fetch_all(cache: Path = DEFAULT_CACHE) -> dict[str, list[Path]]:
    """Pack name -> the unpacked training releases that use that library, in list order."""
    out: dict[str, list[Path]] = {pack: [] for pack in PACK_MODULES}
    for repo in load_training_repos():
        root = fetch(repo, cache)
        for pack in repo.libraries:
            out[pack].append(root)
    return out


# --- the quick scan ----------------------------------------------------------------------------


def python_files(root: Path) -> list[Path]:
    return sorted(
        p for p in root.rglob("*.py")
        if not any(part in _SKIPPED_DIRS or part.startswith(".")
                   for part in p.relative_to(root).parts[:-1])
    )


class ClassResolver:
    """Dotted names of the watched libraries -> their class, by importing the installed releases."""

    def __init__(self) -> None:
        self._known: dict[str, str | None] = {}

    def label(self, dotted: str) -> str | None:
        """'<pack>:<top>.<qualname>' when `dotted` names a class of a watched library, else None."""
        if dotted not in self._known:
            self._known[dotted] = self._resolve(dotted)
        return self._known[dotted]

    @staticmethod
    def _resolve(dotted: str) -> str | None:
        parts = dotted.split(".")
        if parts[0] not in _MODULE_PACK:
            return None
        obj: object = None
        for cut in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            try:
                for attr in parts[cut:]:
                    obj = getattr(obj, attr)
            except AttributeError:
                obj = None
            break
        if obj is None:
            # Not in the installed release (renamed or removed): trust the CapWords convention.
            return f"{_MODULE_PACK[parts[0]]}:{parts[0]}.{parts[-1]}" if parts[-1][:1].isupper() else None
        if not isinstance(obj, type):
            return None
        top = obj.__module__.split(".")[0]
        if top not in _MODULE_PACK:
            return None
        return f"{_MODULE_PACK[top]}:{top}.{obj.__qualname__}"


def _imports(tree: ast.Module) -> dict[str, str]:
    """Local name -> dotted target, from every absolute import in the file."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    names[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                if alias.name != "*":
                    names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _dotted(node: ast.expr, imports: Mapping[str, str]) -> str | None:
    if isinstance(node, ast.Name):
        return imports.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value, imports)
        return f"{base}.{node.attr}" if base else None
    return None


def annotation_class(node: ast.expr, imports: Mapping[str, str], depth: int = 0) -> str | None:
    """The dotted name of the one class an annotation stands for, as remora-train's miner reads it:
    through Optional, `X | None`, Annotated and strings; `A | B` and list[X] name no library class."""
    if depth > 5:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            parsed = ast.parse(node.value.strip(), mode="eval").body
        except SyntaxError:
            return None
        return annotation_class(parsed, imports, depth + 1)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        operands = [o for o in _union_operands(node) if not _is_none(o)]
        return annotation_class(operands[0], imports, depth + 1) if len(operands) == 1 else None
    if isinstance(node, ast.Subscript):
        head = _dotted(node.value, imports) or ""
        if head.rsplit(".", 1)[-1] not in _TYPING_FORMS:
            return annotation_class(node.value, imports, depth + 1)  # Mapped[int] is a Mapped
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if head.endswith("Union"):
            items = [i for i in items if not _is_none(i)]
            if len(items) != 1:
                return None
        return annotation_class(items[0], imports, depth + 1) if items else None
    if isinstance(node, ast.Name | ast.Attribute):
        return _dotted(node, imports)
    return None


def _union_operands(node: ast.expr) -> Iterator[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        yield from _union_operands(node.left)
        yield from _union_operands(node.right)
    else:
        yield node


def _is_none(node: ast.expr) -> bool:
    return (isinstance(node, ast.Constant) and node.value is None) or (
        isinstance(node, ast.Name) and node.id == "None")


def _parameters(tree: ast.Module) -> Iterator[ast.arg]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            a = node.args
            yield from (*a.posonlyargs, *a.args, *a.kwonlyargs)
            yield from (x for x in (a.vararg, a.kwarg) if x is not None)


def scan_source(text: str, resolver: ClassResolver) -> list[str]:
    """The class label of each parameter typed with one class of a watched library, in one module."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return []
    imports = _imports(tree)
    found: list[str] = []
    for param in _parameters(tree):
        dotted = annotation_class(param.annotation, imports) if param.annotation else None
        label = resolver.label(dotted) if dotted else None
        if label:
            found.append(label)
    return found


def scan_repo(root: Path, resolver: ClassResolver) -> RepoCounts:
    files = python_files(root)
    classes: Counter[str] = Counter()
    lines = 0
    for path in files:
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        lines += text.count("\n")
        classes.update(scan_source(text, resolver))
    params: Counter[str] = Counter()
    for label, n in classes.items():
        params[label.split(":", 1)[0]] += n
    return RepoCounts(len(files), lines, dict(classes), dict(params))


# --- the command -------------------------------------------------------------------------------


def _summary(counts: RepoCounts) -> str:
    packs = " ".join(f"{pack}={counts.params.get(pack, 0)}" for pack in PACK_MODULES)
    return f"{counts.files} .py files, {counts.lines:,} lines; annotated params: {packs}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--projects", type=Path, default=TRAINING_FILE)
    parser.add_argument("--only", nargs="+", metavar="NAME", help="fetch and count only these")
    parser.add_argument("--top", type=int, default=12, help="classes listed per library")
    args = parser.parse_args(argv)
    try:
        repos = load_training_repos(args.projects)
    except (OSError, tomllib.TOMLDecodeError, KeyError, TrainingListError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.only:
        repos = [r for r in repos if normalize(r.name) in {normalize(n) for n in args.only}]
    resolver = ClassResolver()
    totals: dict[str, Counter[str]] = {pack: Counter() for pack in PACK_MODULES}
    sizes: dict[str, Counter[str]] = {pack: Counter() for pack in PACK_MODULES}
    failed = 0
    for repo in repos:
        try:
            root = fetch(repo, args.cache)
        except FetchError as exc:
            print(f"{repo.dirname}: FAILED {exc}", flush=True)
            failed += 1
            continue
        counts = scan_repo(root, resolver)
        print(f"{repo.dirname} [{','.join(repo.libraries)}]: {_summary(counts)}", flush=True)
        for pack in repo.libraries:
            sizes[pack].update(projects=1, files=counts.files, lines=counts.lines,
                               params=counts.params.get(pack, 0))
            totals[pack].update({label.split(":", 1)[1]: n for label, n in counts.classes.items()
                                 if label.startswith(f"{pack}:")})
    for pack in PACK_MODULES:
        size = sizes[pack]
        top = ", ".join(f"{name} {n}" for name, n in totals[pack].most_common(args.top))
        print(f"total {pack}: {size['projects']} projects, {size['files']} files, "
              f"{size['lines']:,} lines, {size['params']} annotated params; {top}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
