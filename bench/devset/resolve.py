"""Annotations to library classes: the one resolution that gold labels, predictions and the name peer share."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import libcst as cst

LIBRARIES: tuple[str, ...] = ("sqlalchemy", "httpx", "fastapi", "starlette")

_OPTIONAL = frozenset({"typing.Optional", "typing_extensions.Optional"})
_UNION = frozenset({"typing.Union", "typing_extensions.Union"})
_ANNOTATED = frozenset({"typing.Annotated", "typing_extensions.Annotated"})
_LITERAL = frozenset({"typing.Literal", "typing_extensions.Literal"})
_NONE = frozenset({"None", "builtins.None", "types.NoneType", "NoneType"})


@dataclass(frozen=True)
class Verdict:
    """What one annotation is for the dev set: a gold class key, a reason to skip it, or neither."""

    key: str | None = None  # `cls.__module__ + "." + cls.__qualname__` of a library class
    skip: str | None = None  # why an annotation that mentions a library is left out

    @property
    def mentions_library(self) -> bool:
        return self.key is not None or self.skip is not None


NOT_LIBRARY = Verdict()


def class_key(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def is_library_module(dotted: str, libraries: tuple[str, ...] = LIBRARIES) -> bool:
    return dotted.split(".", 1)[0] in libraries


def dotted_name(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted_name(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None


def _absolute(module: str, level: int, package: str | None) -> str | None:
    """The absolute module a `from ... import` names, or None when it is relative and unanchored."""
    if level == 0:
        return module
    if package is None:
        return None
    parts = package.split(".")
    if level - 1 > len(parts) - 1:
        return None
    base = ".".join(parts[: len(parts) - (level - 1)])
    return f"{base}.{module}" if module else base


class _ImportCollector(cst.CSTVisitor):
    def __init__(self, package: str | None) -> None:
        self.package = package
        self.names: dict[str, str] = {}

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            full = dotted_name(alias.name)
            if full is None:
                continue
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self.names[alias.asname.name.value] = full
            else:
                head = full.split(".", 1)[0]
                self.names.setdefault(head, head)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar):
            return
        module = dotted_name(node.module) if node.module is not None else ""
        base = _absolute(module or "", len(node.relative), self.package)
        if base is None:
            return
        for alias in node.names:
            name = dotted_name(alias.name)
            if name is None:
                continue
            local = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            self.names[local] = f"{base}.{name}"


def module_names(
    module: cst.Module, module_name: str | None = None, package: str | None = None
) -> dict[str, str]:
    """Local name -> dotted target, from every import in the module and its own top-level classes.

    `module_name` / `package` are known for a library's own files (so relative imports and local classes
    resolve); for a project's files they are None and only absolute imports count.
    """
    collector = _ImportCollector(package)
    module.visit(collector)
    names = collector.names
    if module_name is not None:
        for stmt in module.body:
            if isinstance(stmt, cst.ClassDef):
                names.setdefault(stmt.name.value, f"{module_name}.{stmt.name.value}")
    return names


def imported_libraries(module: cst.Module, libraries: tuple[str, ...] = LIBRARIES) -> tuple[str, ...]:
    """Which of the libraries (default: the four) a module imports anywhere (absolute imports only)."""
    collector = _ImportCollector(None)
    module.visit(collector)
    tops = {target.split(".", 1)[0] for target in collector.names.values()}
    return tuple(lib for lib in libraries if lib in tops)


class Resolver:
    """Dotted names to objects of the four libraries, imported for real and cached per instance."""

    def __init__(self, libraries: tuple[str, ...] = LIBRARIES) -> None:
        self.libraries = libraries
        self._objects: dict[str, object] = {}
        self._missing: set[str] = set()

    def obj(self, dotted: str) -> object | None:
        """The object a dotted path names, importing only modules of the four libraries."""
        if dotted.split(".", 1)[0] not in self.libraries:
            return None
        if dotted in self._objects:
            return self._objects[dotted]
        if dotted in self._missing:
            return None
        found = self._walk(dotted)
        if found is None:
            self._missing.add(dotted)
        else:
            self._objects[dotted] = found
        return found

    def _walk(self, dotted: str) -> object | None:
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                current: object = importlib.import_module(".".join(parts[:cut]))
            except Exception:  # a name that is no module is tried as an attribute
                continue
            for attr in parts[cut:]:
                try:
                    current = getattr(current, attr)
                except Exception:  # a missing attribute means "not resolvable"
                    return None
            return current
        return None

    def key(self, dotted: str) -> str | None:
        """The class key of a dotted name when it names a class of the libraries."""
        found = self.obj(dotted)
        return class_key(found) if isinstance(found, type) else None

    def canonical(self, dotted: str) -> str:
        """A prediction's dotted name as a class key, or the name itself when it names no class."""
        return self.key(dotted) or dotted


def _string_expression(node: cst.BaseExpression) -> cst.BaseExpression | None:
    if isinstance(node, cst.SimpleString):
        try:
            value = node.evaluated_value
            text = value.decode() if isinstance(value, bytes) else value
            return cst.parse_expression(text.strip())
        except Exception:  # a string that is no expression names nothing
            return None
    return None


def _union_members(node: cst.BaseExpression) -> Iterator[cst.BaseExpression]:
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
        yield from _union_members(node.left)
        yield from _union_members(node.right)
    else:
        yield node


def _subscript_values(node: cst.Subscript) -> list[cst.BaseExpression]:
    out: list[cst.BaseExpression] = []
    for element in node.slice:
        if isinstance(element.slice, cst.Index):
            out.append(element.slice.value)
    return out


class AnnotationJudge:
    """Turns an annotation expression into a Verdict, given the file's names and a Resolver."""

    def __init__(self, names: Mapping[str, str], resolver: Resolver) -> None:
        self.names = names
        self.resolver = resolver

    def target(self, node: cst.BaseExpression) -> str | None:
        """The dotted target of a Name / Attribute through the file's imports."""
        dotted = dotted_name(node)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        base = self.names.get(head)
        if base is None:
            return dotted if head in ("None", "NoneType") else None
        return f"{base}.{rest}" if rest else base

    def judge(self, node: cst.BaseExpression) -> Verdict:
        parsed = _string_expression(node)
        if parsed is not None:
            return self.judge(parsed)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
            return self._union(list(_union_members(node)))
        if isinstance(node, cst.Subscript):
            return self._subscript(node)
        target = self.target(node)
        if target is None or not is_library_module(target, self.resolver.libraries):
            return NOT_LIBRARY
        found = self.resolver.obj(target)
        if found is None:
            return Verdict(skip="unresolvable")
        if not isinstance(found, type):
            return Verdict(skip="not a class (alias, TypeVar or function)")
        return Verdict(key=class_key(found))

    def _union(self, members: list[cst.BaseExpression]) -> Verdict:
        kept = [m for m in members if self.target(m) not in _NONE and not _is_none(m)]
        if len(kept) == 1:
            return self.judge(kept[0])
        if any(self.mentions(m) for m in kept):
            return Verdict(skip="union of several types")
        return NOT_LIBRARY

    def _subscript(self, node: cst.Subscript) -> Verdict:
        outer = self.target(node.value)
        values = _subscript_values(node)
        if outer in _OPTIONAL and len(values) == 1:
            return self.judge(values[0])
        if outer in _UNION:
            return self._union(values)
        if outer in _ANNOTATED and values:
            return self.judge(values[0])
        if outer in _LITERAL:
            return NOT_LIBRARY
        if outer is not None and is_library_module(outer, self.resolver.libraries):
            # A library generic such as Select[tuple[int]] or Mapped[str]: the class is the answer.
            found = self.resolver.obj(outer)
            if isinstance(found, type):
                return Verdict(key=class_key(found))
            return Verdict(skip="not a class (alias, TypeVar or function)") if found else Verdict(
                skip="unresolvable"
            )
        if any(self.mentions(v) for v in values):
            return Verdict(skip="library type inside a container")
        return NOT_LIBRARY

    def mentions(self, node: cst.BaseExpression) -> bool:
        """Whether any name inside the expression (strings included) points into the libraries."""
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
            parsed = _string_expression(node)
            return parsed is not None and self.mentions(parsed)
        finder = _NameFinder()
        node.visit(finder)
        if any(
            (t := self.target(n)) is not None and is_library_module(t, self.resolver.libraries)
            for n in finder.found
        ):
            return True
        return any(self.mentions(s) for s in finder.strings)


def _is_none(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


class _NameFinder(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found: list[cst.BaseExpression] = []
        self.strings: list[cst.SimpleString] = []

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        self.found.append(node)
        return False

    def visit_Name(self, node: cst.Name) -> None:
        self.found.append(node)

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        self.strings.append(node)
