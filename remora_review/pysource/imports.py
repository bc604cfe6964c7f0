"""What a Python file imports: one set of rules, read from the text (a regex scan: no parse, and a
broken file still reads; pack activation's hot path) or from a parsed module's import statements.

Standard library only and cheap to import: activation decides with it before libcst is loaded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads any such name)

if TYPE_CHECKING:  # `ast` is imported where a parsed module is read: not on activation's path
    import ast

# `import a.b as c, d` and `from a.b import (...)` at any indentation; relative imports name no library.
_IMPORT = re.compile(
    r"^[ \t]*(?:from[ \t]+([A-Za-z_][\w.]*)[ \t]+import\b|import[ \t]+([^#\n;]+))", re.MULTILINE
)
# `from .db import (a, b)` and `from pkg import mod`: the names a `from` import takes.
_FROM = re.compile(
    r"^[ \t]*from[ \t]+(\.+[\w.]*|[A-Za-z_][\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^#\n;]*)",
    re.MULTILINE,
)
_DOTTED = re.compile(r"[A-Za-z_][\w.]*")


def imported_modules(source: str) -> frozenset[str]:
    """Dotted names of the modules a file imports: `import a.b` gives `a.b`, `from a import b`
    gives `a` (b may be a module too: `from_imports` says which names it takes); relative imports
    are left out. A docstring that looks like an import counts too: for activation that only costs
    a needless activation, never a wrong finding."""
    found: set[str] = set()
    for match in _IMPORT.finditer(source):
        if match.group(1):
            found.add(match.group(1))
            continue
        for part in match.group(2).replace("\\", " ").split(","):
            name = part.strip().split()[0] if part.strip() else ""
            if _DOTTED.fullmatch(name):
                found.add(name)
    return frozenset(found)


def from_imports(source: str) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Every `from m import x, y as z` of a file as (`m` as written, leading dots kept; the names
    taken, `x` and `y`), from the text like `imported_modules`. `*` is no name."""
    for match in _FROM.finditer(source):
        names = []
        for part in match.group(2).strip("()").replace("\\", " ").split(","):
            name = part.strip().split()[0] if part.strip() else ""
            if name.isidentifier():
                names.append(name)
        yield match.group(1), tuple(names)


def absolute(name: str, module: str, is_package: bool) -> str:
    """A relative dotted name (`..util.f` from `from ..util import f`) made absolute, seen from
    `module` (an `__init__` when `is_package`: one dot is the package itself). A name that is not
    relative is returned as it is; dots past the top name the top."""
    level = len(name) - len(name.lstrip("."))
    if not level:
        return name
    parts = module.split(".") if module else []
    up = level - 1 if is_package else level
    base = parts[: max(len(parts) - up, 0)]
    rest = name[level:]
    return ".".join([*base, rest]) if rest else ".".join(base)


def bindings(statement: ast.Import | ast.ImportFrom, module: str | None,
             is_package: bool = False) -> Iterator[tuple[str, str]]:
    """(local name, dotted path it is bound to) for each name an import statement binds:
    `import a.b` binds `a` to `a`, `import a.b as c` binds `c` to `a.b`, `from m import x as y`
    binds `y` to `m.x`. Relative imports are resolved against `module`, and left out where it is
    unknown (None); `*` binds nothing that can be named."""
    import ast

    if isinstance(statement, ast.Import):
        for alias in statement.names:
            if alias.asname:
                yield alias.asname, alias.name
            else:
                head = alias.name.split(".")[0]
                yield head, head
        return
    if statement.level and module is None:
        return
    written = "." * statement.level + (statement.module or "")
    base = absolute(written, module or "", is_package)
    for alias in statement.names:
        if alias.name != "*":
            yield alias.asname or alias.name, f"{base}.{alias.name}".lstrip(".")


def reached_by_imports(tree: ast.Module) -> tuple[tuple[str, ...], bool]:
    """The names a module's absolute imports bind or reach, anywhere in it (`import a.b` binds
    `a`, `import a.b as c` reaches `a.b`, `from a import b` reaches `a.b`), and whether it has a
    star import. Relative imports are left out: libcst qualifies their names with a leading dot."""
    import ast

    names: list[str] = []
    star = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name if a.asname else a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            star = star or any(a.name == "*" for a in node.names)
            names += [f"{node.module}.{a.name}" for a in node.names if a.name != "*"]
    return tuple(names), star


def module_name(path: str) -> str | None:
    """The dotted module a repository path holds (`src/` layouts included), or None if not Python."""
    if not path.endswith((".py", ".pyi")):
        return None
    parts = path.rsplit(".", 1)[0].split("/")
    if parts[0] == "src" and len(parts) > 1:
        parts = parts[1:]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    if not parts or not all(p.isidentifier() for p in parts):
        return None
    return ".".join(parts)


def is_package_file(path: str) -> bool:
    return path.rsplit("/", 1)[-1] in ("__init__.py", "__init__.pyi")
