"""Build a library's API table by importing it and introspecting its public classes and functions."""

from __future__ import annotations

import ast
import dataclasses
import functools
import importlib
import importlib.metadata
import inspect
import logging
import pkgutil
import re
import sys
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from remora_review.api_table import (
    PROTOCOL_DUNDERS,
    ApiTable,
    ClassInfo,
    FunctionInfo,
    Member,
    Param,
)
from remora_review.errors import UserError

logger = logging.getLogger(__name__)

Note = Callable[[str], None]

# Module path parts that hold a library's own tests or entry scripts, not its API.
SKIPPED_PARTS = frozenset({"test", "tests", "testing", "conftest", "__main__"})

# Dunders a usage can reach without naming them: context managers, iteration, calls, operators;
# the constructor, whose signature declares what `DropTable(table)` is passed; and the hooks
# that answer attribute reads the class does not list (a check must not call those missing).
DUNDERS = frozenset(
    {d for ds in PROTOCOL_DUNDERS.values() for d in ds}
    | {
        "__init__", "__getattr__", "__getattribute__",
        "__exit__", "__aexit__", "__next__", "__anext__", "__delitem__", "__bool__",
        "__add__", "__sub__", "__mul__", "__truediv__", "__floordiv__", "__mod__", "__pow__",
        "__matmul__", "__and__", "__or__", "__xor__", "__lshift__", "__rshift__", "__neg__",
        "__invert__", "__radd__", "__rsub__", "__rmul__", "__rtruediv__", "__ror__", "__rand__",
        "__lt__", "__le__", "__gt__", "__ge__",
    }
)

_ATTRIBUTE_HOOKS = frozenset({"__getattr__", "__getattribute__"})
_BUILTIN_ROUTINES = (
    types.BuiltinFunctionType,
    types.WrapperDescriptorType,
    types.MethodDescriptorType,
    types.MethodWrapperType,
    types.ClassMethodDescriptorType,
)
_PARAM_KINDS = {
    inspect.Parameter.POSITIONAL_ONLY: "positional_only",
    inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional_or_keyword",
    inspect.Parameter.VAR_POSITIONAL: "var_positional",
    inspect.Parameter.KEYWORD_ONLY: "keyword_only",
    inspect.Parameter.VAR_KEYWORD: "var_keyword",
}
# What a member whose signature cannot be read is taken to accept: anything.
_ANY_ARGS = (Param("args", "var_positional"), Param("kwargs", "var_keyword"))
SELF = "<Self>"  # a resolved `Self`, bound to the class a member is read on
_OPTIONAL_FORMS = frozenset({"Optional", "Union", "Annotated", "Final", "ClassVar", "Required",
                             "NotRequired", "ReadOnly"})
# `.. deprecated:: 2.0` at the top level of a docstring (under a `:param:` it is the parameter's).
_DOC_DEPRECATED = re.compile(r"\.\. deprecated::[ \t]*(\S*)[ \t]*(.*)")
# `:meth:`_query.Query.get`` reads `Query.get` (sqlalchemy names its modules by private aliases).
_RST_ROLE = re.compile(r":[a-z]+(?::[a-z]+)?:`~?\.?(?:_[a-z]+\.)?([^`<]+?)(?:\s*<[^>]*>)?`")
_MAX_NOTICE = 300


def _log_note(message: str) -> None:
    logger.info("%s", message)


def is_public_module(name: str) -> bool:
    parts = name.split(".")
    return not any(p.startswith("_") or p in SKIPPED_PARTS for p in parts)


def library_version(library: str) -> str:
    """The installed release of the distribution that provides `library` ('0' when unknown)."""
    top = library.split(".")[0]
    names = importlib.metadata.packages_distributions().get(top, [])
    for name in sorted(names) or [top]:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    module = sys.modules.get(top)
    return str(getattr(module, "__version__", "0"))


def import_library(name: str) -> types.ModuleType:
    """Import a library's top module, or raise a one-line UserError."""
    try:
        return importlib.import_module(name)
    except ImportError as e:
        raise UserError(f"library {name!r} is not installed or fails to import: {e}") from None
    except Exception as e:  # whatever a broken library raises, say it in one line
        raise UserError(f"library {name!r} fails to import: {type(e).__name__}: {e}") from None


def walk_modules(roots: Sequence[str], note: Note) -> list[str]:
    """Import every public module under the roots (never tests); the public modules loaded."""
    failed: dict[str, str] = {}
    for root in roots:
        module = import_library(root)
        path = getattr(module, "__path__", None)
        if path is not None:
            _walk(list(path), root + ".", failed)
    for name, why in sorted(failed.items()):
        note(f"{name}: skipped, {why}")
    tops = frozenset(r.split(".")[0] for r in roots)
    return [n for n in loaded_modules(tops) if is_public_module(n)]


def _walk(path: list[str], prefix: str, failed: dict[str, str]) -> None:
    # pkgutil.walk_packages would import every package to descend into it, tests included.
    for info in sorted(pkgutil.iter_modules(path, prefix), key=lambda i: i.name):
        if not is_public_module(info.name):
            continue
        if info.name not in sys.modules and not _try_import(info.name, failed):
            continue
        sub = getattr(sys.modules.get(info.name), "__path__", None)
        if info.ispkg and sub is not None:
            _walk(list(sub), info.name + ".", failed)


def _try_import(name: str, failed: dict[str, str]) -> bool:
    error: Exception | None = None
    # Twice: a package whose __init__ fails after its submodules loaded (sqlalchemy.ext.asyncio
    # without greenlet) imports on the second try, and its classes are real.
    for _ in range(2):
        try:
            importlib.import_module(name)
            return True
        except Exception as e:  # an optional module may fail any way: a note, never a crash
            error = e
    first = (str(error).splitlines() or [""])[0][:160]
    failed[name] = f"import failed ({type(error).__name__}: {first})"
    return False


@dataclass
class _Paths:
    """Every dotted path an object is reachable by, split into public exports and the rest."""

    exported: set[str] = field(default_factory=set)  # public module, listed in __all__ (or no __all__)
    public: set[str] = field(default_factory=set)  # public module, not in its __all__
    other: set[str] = field(default_factory=set)


def _in_scope(obj: Any, tops: frozenset[str]) -> bool:
    module = getattr(obj, "__module__", None)
    return isinstance(module, str) and module.split(".")[0] in tops


def loaded_modules(tops: frozenset[str]) -> list[str]:
    """Modules under the roots that imported fully: a failed package leaves its submodules
    behind in sys.modules, and those are not reachable by their dotted names."""
    names = {
        n for n in list(sys.modules)
        if n.split(".")[0] in tops and not SKIPPED_PARTS.intersection(n.split("."))
    }
    return sorted(
        n for n in names
        if all(".".join(n.split(".")[:i]) in names for i in range(1, n.count(".") + 1))
    )


def _collect_paths(tops: frozenset[str]) -> dict[int, tuple[Any, _Paths]]:
    found: dict[int, tuple[Any, _Paths]] = {}
    for mod_name in loaded_modules(tops):
        module = sys.modules.get(mod_name)
        if module is None:
            continue
        public_module = is_public_module(mod_name)
        exports = getattr(module, "__all__", None)
        try:
            items = sorted(vars(module).items())
        except TypeError:
            continue
        for name, obj in items:
            if name.startswith("__") or not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            if not _in_scope(obj, tops):
                continue
            entry = found.setdefault(id(obj), (obj, _Paths()))[1]
            path = f"{mod_name}.{name}"
            if public_module and not name.startswith("_"):
                listed = exports is None or name in exports
                (entry.exported if listed else entry.public).add(path)
            else:
                entry.other.add(path)
    return found


def _public_name(paths: _Paths, defining_module: str, tops_order: Sequence[str]) -> str | None:
    """The shortest exported path; ties go to the defining module, then to the first root."""
    candidates = paths.exported or paths.public
    if not candidates:
        return None

    def rank(path: str) -> tuple[int, bool, int, str]:
        module, top = path.rpartition(".")[0], path.split(".")[0]
        order = tops_order.index(top) if top in tops_order else len(tops_order)
        return path.count("."), module != defining_module, order, path

    return min(candidates, key=rank)


@dataclass
class _Context:
    """What one extraction knows: the public name of every in-scope class, and parsed sources."""

    tops: frozenset[str]
    class_names: dict[int, str]  # id(class) -> public name
    short_names: dict[str, str]  # class __name__ -> public name, when unique
    files: dict[str, str]  # source file -> module name
    sources: dict[str, ast.Module | None] = field(default_factory=dict)
    member_cache: dict[tuple[int, str], Member] = field(default_factory=dict)
    assignment_cache: dict[int, list[tuple[str, str | None]]] = field(default_factory=dict)
    string_cache: dict[tuple[int, str], str | None] = field(default_factory=dict)
    defs: dict[str, dict[int, ast.FunctionDef | ast.AsyncFunctionDef]] = field(default_factory=dict)

    def public(self, obj: Any) -> str | None:
        return self.class_names.get(id(obj)) if inspect.isclass(obj) else None


def extract_api_table(
    library: str, modules: Sequence[str] | None = None, *, note: Note | None = None
) -> ApiTable:
    """The API table of an installed library (plus `modules` it re-exports, e.g. starlette)."""
    note = note or _log_note
    roots = list(dict.fromkeys([library, *(modules or ())]))
    tops_order = list(dict.fromkeys(r.split(".")[0] for r in roots))
    tops = frozenset(tops_order)
    walk_modules(roots, note)
    found = _collect_paths(tops)
    files = _module_files(tops)

    public: dict[int, str] = {}
    for key, (obj, paths) in found.items():
        name = _public_name(paths, _defining_module(obj, files), tops_order)
        if name is not None and not obj.__name__.startswith("_"):
            public[key] = name
    class_names = {k: v for k, v in public.items() if inspect.isclass(found[k][0])}
    by_short: dict[str, list[str]] = {}
    for k, name in class_names.items():
        by_short.setdefault(found[k][0].__name__, []).append(name)
    ctx = _Context(
        tops=tops,
        class_names=class_names,
        short_names={s: names[0] for s, names in by_short.items() if len(names) == 1},
        files=files,
    )

    classes: dict[str, ClassInfo] = {}
    functions: dict[str, FunctionInfo] = {}
    aliases: dict[str, str] = {}
    for key, name in sorted(public.items(), key=lambda kv: kv[1]):
        obj, paths = found[key]
        defined = f"{_defining_module(obj, ctx.files)}.{obj.__qualname__}"
        for alias in sorted(paths.exported | paths.public | paths.other | {defined}):
            if alias != name:
                aliases.setdefault(alias, name)
        if inspect.isclass(obj):
            classes[name] = _class_info(obj, name, defined, ctx)
        else:
            functions[name] = _function_info(obj, name, ctx)
    # A path that is also a public name stays that name's own.
    aliases = {a: n for a, n in aliases.items() if a not in classes and a not in functions}
    return ApiTable(
        library=library,
        version=library_version(library),
        classes=MappingProxyType(dict(sorted(classes.items()))),
        functions=MappingProxyType(dict(sorted(functions.items()))),
        aliases=MappingProxyType(dict(sorted(aliases.items()))),
    )


# --- classes ---------------------------------------------------------------------------------


def _module_files(tops: frozenset[str]) -> dict[str, str]:
    """Source file -> module name, for the modules under the roots."""
    out: dict[str, str] = {}
    for name in loaded_modules(tops):
        filename = getattr(sys.modules.get(name), "__file__", None)
        if filename:
            out.setdefault(filename, name)
    return out


def _defining_module(obj: Any, files: Mapping[str, str]) -> str:
    """The module whose source holds obj, even where a library rewrites `__module__` (httpx)."""
    candidates = [obj] if not inspect.isclass(obj) else list(vars(obj).values())
    for value in candidates:
        func = getattr(value, "__func__", None) or getattr(value, "fget", None) or value
        code = getattr(func, "__code__", None)
        if code is not None and code.co_filename in files:
            return files[code.co_filename]
    return str(obj.__module__)


def _class_info(cls: type, name: str, defined: str, ctx: _Context) -> ClassInfo:
    bases = tuple(
        ctx.public(b) or f"{b.__module__}.{b.__qualname__}"
        for b in cls.__mro__[1:]
        if b is not object
    )
    members: dict[str, Member] = {}
    for member_name in _member_names(cls):
        member = _member(cls, member_name, ctx)
        if member is not None:
            members[member_name] = member
    for attr, returns in _instance_attributes(cls, ctx).items():
        if attr not in members:
            members[attr] = _bind_self(Member(attr, "attribute", returns=returns), name)
    raw_doc = vars(cls).get("__doc__")
    init = members.get("__init__")
    if init is not None and init.deprecated is None:
        # A class under PEP 702's `@deprecated`: constructing it is the use.
        marker = vars(cls).get("__deprecated__")
        if isinstance(marker, str):
            members["__init__"] = dataclasses.replace(init, deprecated=_plain(marker) or "deprecated")
    doc = inspect.cleandoc(raw_doc) if isinstance(raw_doc, str) else ""
    first = next((line.strip() for line in doc.splitlines() if line.strip()), "")
    return ClassInfo(
        name=name,
        defined_in=defined,
        bases=bases,
        members=MappingProxyType(dict(sorted(members.items()))),
        doc=first,
    )


def _member_names(cls: type) -> list[str]:
    try:
        names = set(dir(cls))
    except Exception:  # a metaclass __dir__ may fail any way
        names = {n for klass in cls.__mro__ for n in vars(klass)}
    public = {n for n in names if not n.startswith("_")}
    dunders = {d for d in DUNDERS if _defines(cls, d)}
    return sorted(public | dunders)


def _defines(cls: type, dunder: str) -> bool:
    owner = _static_lookup(cls, dunder)[1]
    if owner is None or owner is object:
        return False
    # int and BaseException define the ordinary attribute lookup again: nothing dynamic in it.
    return dunder not in _ATTRIBUTE_HOOKS or owner.__module__ != "builtins"


def _static_lookup(cls: type, name: str) -> tuple[Any, type | None]:
    for klass in cls.__mro__:
        try:
            namespace = vars(klass)
        except TypeError:
            continue
        if name in namespace:
            return namespace[name], klass
    return None, None


def _member(cls: type, name: str, ctx: _Context) -> Member | None:
    raw, owner = _static_lookup(cls, name)
    if owner is None:
        return Member(name, "attribute")
    cache_key = (id(owner), name)
    member = ctx.member_cache.get(cache_key)
    if member is None:
        member, cacheable = _classify(cls, name, raw, ctx)
        if cacheable:
            ctx.member_cache[cache_key] = member
    return _bind_self(member, ctx.class_names.get(id(cls)))


def _bind_self(member: Member, public: str | None) -> Member:
    """`-> Self` names the class the member is read on, which an inherited member cannot know."""
    if SELF not in (member.returns, *(p.annotation for p in member.params)):
        return member
    params = tuple(
        dataclasses.replace(p, annotation=public) if p.annotation == SELF else p
        for p in member.params
    )
    returns = public if member.returns == SELF else member.returns
    return dataclasses.replace(member, params=params, returns=returns)


def _classify(cls: type, name: str, raw: Any, ctx: _Context) -> tuple[Member, bool]:
    """The member for a raw class-dict value; whether it depends only on the defining class."""
    if isinstance(raw, staticmethod):
        return _routine(name, "staticmethod", raw.__func__, False, ctx), True
    if isinstance(raw, classmethod):
        return _routine(name, "classmethod", raw.__func__, True, ctx), True
    if isinstance(raw, types.FunctionType):
        return _routine(name, "method", raw, True, ctx), True
    if isinstance(raw, _BUILTIN_ROUTINES):
        return _routine(name, "method", raw, True, ctx), True
    if isinstance(raw, property):
        return Member(name, "property", returns=_returns(raw.fget, ctx),
                      deprecated=_deprecation(raw.fget, ctx)), True
    if isinstance(raw, functools.cached_property):
        return Member(name, "property", returns=_returns(raw.func, ctx),
                      deprecated=_deprecation(raw.func, ctx)), True
    if inspect.isclass(raw) or not hasattr(type(raw), "__get__"):
        return Member(name, "attribute"), True
    # Another descriptor (memoized properties, hybrid methods): judge by what it gives the class.
    try:
        value = getattr(cls, name)
    except Exception:  # a descriptor may refuse access on the class
        value = None
    if inspect.ismethod(value) and value.__self__ is cls:
        return _routine(name, "classmethod", value, False, ctx), False
    if inspect.isfunction(value) or isinstance(value, _BUILTIN_ROUTINES):
        return _routine(name, "method", value, True, ctx), False
    getter = getattr(raw, "fget", None) or getattr(raw, "func", None)
    return Member(name, "property", returns=_returns(getter, ctx)), False


def _routine(name: str, kind: str, func: Any, drop_first: bool, ctx: _Context) -> Member:
    params, returns = _signature(func, drop_first, ctx)
    return Member(name, kind, params=params, is_async=_is_async(func), returns=returns,
                  deprecated=_deprecation(func, ctx))


def _is_async(func: Any) -> bool:
    if inspect.iscoroutinefunction(func):
        return True
    try:
        return inspect.iscoroutinefunction(inspect.unwrap(func))
    except ValueError:
        return False


def _signature(func: Any, drop_first: bool, ctx: _Context) -> tuple[tuple[Param, ...], str | None]:
    try:
        sig = inspect.signature(func)
    except (ValueError, TypeError, NameError, AttributeError):
        return _ANY_ARGS, None
    namespace = _globals_of(func)
    params = list(sig.parameters.values())
    returns = None
    if drop_first and params and params[0].kind in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    ):
        # `def __enter__(self: _S) -> _S` returns the instance, whatever class it is read on.
        bound = _type_var(params[0].annotation, namespace)
        if bound is not None and bound is _type_var(sig.return_annotation, namespace):
            returns = SELF
        params = params[1:]
    out = tuple(
        Param(
            name=p.name,
            kind=_PARAM_KINDS[p.kind],
            annotation=resolve_annotation(p.annotation, namespace, ctx),
            has_default=p.default is not inspect.Parameter.empty,
        )
        for p in params
    )
    return out, returns or resolve_annotation(sig.return_annotation, namespace, ctx)


def _type_var(annotation: Any, namespace: Mapping[str, Any]) -> typing.TypeVar | None:
    if isinstance(annotation, str):
        annotation = namespace.get(annotation.strip())
    return annotation if isinstance(annotation, typing.TypeVar) else None


def _returns(func: Any, ctx: _Context) -> str | None:
    if func is None:
        return None
    try:
        annotation = inspect.signature(func).return_annotation
    except (ValueError, TypeError, NameError, AttributeError):
        return None
    return resolve_annotation(annotation, _globals_of(func), ctx)


def _globals_of(func: Any) -> Mapping[str, Any]:
    try:
        target = inspect.unwrap(func)
    except ValueError:
        target = func
    namespace = getattr(target, "__globals__", None)
    if isinstance(namespace, dict):
        return namespace
    module = sys.modules.get(getattr(target, "__module__", None) or "")
    return vars(module) if module is not None else {}


# --- annotations -------------------------------------------------------------------------------


def resolve_annotation(annotation: Any, namespace: Mapping[str, Any], ctx: _Context) -> str | None:
    """The public class an annotation names, looking through Optional / Union with None /
    Annotated / strings; None when it is not (exactly) one class of the table."""
    return _resolve_object(annotation, namespace, ctx, depth=0)


def _resolve_object(value: Any, namespace: Mapping[str, Any], ctx: _Context, depth: int) -> str | None:
    if depth > 6 or value is inspect.Parameter.empty or value is None:
        return None
    if isinstance(value, str):
        key = (id(namespace), value)
        if key not in ctx.string_cache:
            try:
                tree = ast.parse(value.strip(), mode="eval")
            except SyntaxError:
                ctx.string_cache[key] = None
            else:
                ctx.string_cache[key] = _resolve_expr(tree.body, namespace, ctx, depth + 1)
        return ctx.string_cache[key]
    if isinstance(value, typing.ForwardRef):
        return _resolve_object(value.__forward_arg__, namespace, ctx, depth + 1)
    if value is getattr(typing, "Self", None) or repr(value) == "typing_extensions.Self":
        return SELF
    if inspect.isclass(value) and not isinstance(value, types.GenericAlias):
        return ctx.public(value)
    origin = typing.get_origin(value)
    args = typing.get_args(value)
    if origin is typing.Annotated or origin in (typing.ClassVar, typing.Final):
        return _resolve_object(args[0], namespace, ctx, depth + 1) if args else None
    if origin is typing.Union or origin is types.UnionType:
        rest = [a for a in args if a is not type(None)]
        return _resolve_object(rest[0], namespace, ctx, depth + 1) if len(rest) == 1 else None
    if origin is not None and inspect.isclass(origin):
        return ctx.public(origin)  # a generic of a library class: Result[Any] -> Result
    return None


def _resolve_expr(node: ast.expr, namespace: Mapping[str, Any], ctx: _Context, depth: int) -> str | None:
    if isinstance(node, ast.Constant):
        return _resolve_object(node.value, namespace, ctx, depth) if isinstance(node.value, str) else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        operands = [o for o in _union_operands(node) if not _is_none(o)]
        return _resolve_expr(operands[0], namespace, ctx, depth + 1) if len(operands) == 1 else None
    if isinstance(node, ast.Subscript):
        form = _dotted_expr(node.value)
        if form is not None and form.split(".")[-1] in _OPTIONAL_FORMS:
            inner = node.slice
            items = list(inner.elts) if isinstance(inner, ast.Tuple) else [inner]
            if form.endswith("Union"):
                items = [i for i in items if not _is_none(i)]
                return _resolve_expr(items[0], namespace, ctx, depth + 1) if len(items) == 1 else None
            return _resolve_expr(items[0], namespace, ctx, depth + 1) if items else None
        return _resolve_expr(node.value, namespace, ctx, depth + 1)  # Result[Any] -> Result
    dotted = _dotted_expr(node)
    if dotted is None:
        return None
    head, *rest = dotted.split(".")
    if head in namespace:
        obj: Any = namespace[head]
        for part in rest:
            obj = getattr(obj, part, None)
            if obj is None:
                return None
        return _resolve_object(obj, namespace, ctx, depth + 1)
    if (rest[-1] if rest else head) == "Self":
        return SELF
    # Names imported only under TYPE_CHECKING: a class name unique in the library.
    return ctx.short_names.get(rest[-1] if rest else head)


def _union_operands(node: ast.expr) -> Iterator[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        yield from _union_operands(node.left)
        yield from _union_operands(node.right)
    else:
        yield node


def _is_none(node: ast.expr) -> bool:
    return (isinstance(node, ast.Constant) and node.value is None) or (
        isinstance(node, ast.Name) and node.id == "None"
    )


def _dotted_expr(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted_expr(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


# --- instance attributes -----------------------------------------------------------------------


def _instance_attributes(cls: type, ctx: _Context) -> dict[str, str | None]:
    """Public attributes declared by class annotations or `self.x = ...` over the MRO."""
    out: dict[str, str | None] = {}
    for klass in cls.__mro__:
        if klass is object or not _in_scope(klass, ctx.tops):
            continue
        module = sys.modules.get(_defining_module(klass, ctx.files))
        namespace = vars(module) if module is not None else {}
        try:
            annotations = inspect.get_annotations(klass)
        except Exception:  # broken annotations must not stop the table
            annotations = {}
        for name, annotation in sorted(annotations.items()):
            if not name.startswith("_") and name not in out:
                out[name] = resolve_annotation(annotation, namespace, ctx)
        for name, annotation_text in _self_assignments(klass, module, ctx):
            if name.startswith("_") or out.get(name) is not None:
                continue
            out[name] = resolve_annotation(annotation_text, namespace, ctx) if annotation_text else None
    return out


def _self_assignments(
    klass: type, module: types.ModuleType | None, ctx: _Context
) -> list[tuple[str, str | None]]:
    if id(klass) not in ctx.assignment_cache:
        ctx.assignment_cache[id(klass)] = _find_self_assignments(klass, module, ctx)
    return ctx.assignment_cache[id(klass)]


def _find_self_assignments(
    klass: type, module: types.ModuleType | None, ctx: _Context
) -> list[tuple[str, str | None]]:
    filename = getattr(module, "__file__", None)
    if not filename or not filename.endswith(".py"):
        return []
    tree = _parsed(filename, ctx)
    node = _find_class(tree.body, klass.__qualname__.split(".")) if tree is not None else None
    if node is None:
        return []
    found: dict[str, str | None] = {}
    for item in node.body:
        if not isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        # `self` may be positional-only (`def __init__(self, name=None, /, *args)`: Column's)
        first = [*item.args.posonlyargs, *item.args.args]
        if not first:
            continue
        this = first[0].arg
        for sub in ast.walk(item):
            for target, annotation in _assigned_targets(sub):
                if (
                    isinstance(target, ast.Attribute)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == this
                ):
                    text = ast.unparse(annotation) if annotation is not None else None
                    if found.get(target.attr) is None:
                        found[target.attr] = text
    return sorted(found.items())


def _assigned_targets(node: ast.AST) -> Iterator[tuple[ast.expr, ast.expr | None]]:
    if isinstance(node, ast.Assign):
        # `self.headers = Headers(...)`: the class called stands in for an annotation.
        called = node.value.func if isinstance(node.value, ast.Call) else None
        for target in node.targets:
            for t in _flatten_targets(target):
                yield t, called if t is target else None
    elif isinstance(node, ast.AnnAssign):
        yield node.target, node.annotation
    elif isinstance(node, ast.AugAssign):
        yield node.target, None


def _flatten_targets(node: ast.expr) -> Iterator[ast.expr]:
    if isinstance(node, (ast.Tuple, ast.List)):
        for element in node.elts:
            yield from _flatten_targets(element)
    else:
        yield node


def _find_class(body: list[ast.stmt], path: list[str]) -> ast.ClassDef | None:
    for stmt in body:
        if isinstance(stmt, ast.ClassDef) and stmt.name == path[0]:
            return stmt if len(path) == 1 else _find_class(stmt.body, path[1:])
        if isinstance(stmt, ast.If | ast.Try):
            blocks = [stmt.body, stmt.orelse]
            if isinstance(stmt, ast.Try):
                blocks += [stmt.finalbody, *[h.body for h in stmt.handlers]]
            for block in blocks:
                found = _find_class(block, path)
                if found is not None:
                    return found
    return None


# --- functions ---------------------------------------------------------------------------------


def _function_info(func: Any, name: str, ctx: _Context) -> FunctionInfo:
    params, returns = _signature(func, False, ctx)
    unbound = _bind_self(Member(name, "method", params=params, returns=returns), None)
    return FunctionInfo(name, unbound.params, is_async=_is_async(func), returns=unbound.returns,
                        deprecated=_deprecation(func, ctx))


# --- deprecation -------------------------------------------------------------------------------


def _deprecation(func: Any, ctx: _Context) -> str | None:
    """The library's own notice that a routine is deprecated: PEP 702's `@deprecated`, a
    DeprecationWarning its body raises on every call, or a `.. deprecated::` directive in the
    docstring of a wrapper (sqlalchemy's `@util.deprecated` writes it and warns). A hand-written
    directive may be about one way of calling (`and_()` with no arguments) and a warning under a
    condition about one argument: neither marks the routine."""
    if func is None:
        return None
    marker = getattr(func, "__deprecated__", None)
    if isinstance(marker, str):
        return _plain(marker) or "deprecated"
    if getattr(func, "__wrapped__", None) is not None:
        notice = _directive(getattr(func, "__doc__", None))
        if notice is not None:
            return notice
    return _warned(func, ctx)


def _directive(doc: object) -> str | None:
    if not isinstance(doc, str) or ".. deprecated::" not in doc:
        return None
    lines = inspect.cleandoc(doc).splitlines()
    for i, line in enumerate(lines):
        found = _DOC_DEPRECATED.match(line)
        if found is None:
            continue
        version, text = found.groups()
        body = [text]
        for following in lines[i + 1:]:
            if following.strip() and not following[:1].isspace():
                break
            body.append(following)
        words = _plain(" ".join(body))
        since = f"deprecated since {version}" if version else "deprecated"
        return f"{since}: {words}" if words else since
    return None


def _plain(text: str) -> str:
    """One line of prose from reStructuredText: roles and literals as their names, cut at a
    sentence end once it is long."""
    text = _RST_ROLE.sub(r"\1", text).replace("``", "`")
    text = " ".join(text.split())
    if len(text) <= _MAX_NOTICE:
        return text
    cut = text.rfind(". ", 0, _MAX_NOTICE)
    return text[: cut + 1] if cut > 0 else text[:_MAX_NOTICE].rstrip() + "..."


def _warned(func: Any, ctx: _Context) -> str | None:
    node = _definition(func, ctx)
    if node is None:
        return None
    for stmt in node.body:
        call = stmt.value if isinstance(stmt, ast.Expr) else None
        if not isinstance(call, ast.Call):
            continue
        callee = _dotted_expr(call.func) or ""
        category = call.args[1] if len(call.args) > 1 else next(
            (k.value for k in call.keywords if k.arg == "category"), None)
        named = _dotted_expr(category) if category is not None else None
        if "deprecat" in callee.rsplit(".", 1)[-1].lower() or (
            callee.rsplit(".", 1)[-1] == "warn" and (named or "").endswith("DeprecationWarning")
        ):
            return _plain(_message(call.args[0] if call.args else None)) or "deprecated"
    return None


def _message(node: ast.expr | None) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(str(v.value) if isinstance(v, ast.Constant) else "..." for v in node.values)
    return ""


def _definition(func: Any, ctx: _Context) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    try:
        code = getattr(inspect.unwrap(func), "__code__", None)
    except ValueError:
        return None
    if code is None or code.co_filename not in ctx.files:
        return None
    filename = code.co_filename
    if filename not in ctx.defs:
        tree = _parsed(filename, ctx)
        ctx.defs[filename] = {
            line: n
            for n in (ast.walk(tree) if tree is not None else ())
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
            for line in (n.lineno, *(d.lineno for d in n.decorator_list[:1]))
        }
    return ctx.defs[filename].get(code.co_firstlineno)


def _parsed(filename: str, ctx: _Context) -> ast.Module | None:
    if filename not in ctx.sources:
        try:
            with open(filename, encoding="utf-8") as f:
                ctx.sources[filename] = ast.parse(f.read())
        except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
            ctx.sources[filename] = None
    return ctx.sources[filename]
