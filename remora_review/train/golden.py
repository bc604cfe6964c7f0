"""Golden snippets: documented public functions of a library and its corpus, with how they are called.

A LoRA adapter learns a library's idiom from these. "Well-tested" is approximated by use: a function
is kept only when code in another file calls it (the corpus includes the projects' tests), and the
most-called come first. Each snippet carries up to two of those call lines as its context.
Read with the stdlib `ast`: a read-only walk over every function of a library, where libcst's
concrete tree would cost several times as much and give nothing more.
"""

from __future__ import annotations

import ast
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from remora_review.train.mining import SourceUnit

MIN_LINES = 4
MAX_LINES = 60
CONTEXTS_PER_SNIPPET = 2


@dataclass(frozen=True)
class Snippet:
    name: str  # qualified within its file, e.g. Session.scalars
    file: str  # as the unit records it (relative, '/'-separated)
    line: int
    callers: int  # distinct other files that call a function of this name
    text: str  # what the model trains on: a header, the call contexts, the function itself
    code: str  # the function itself (decorators, signature, docstring, body), dedented


@dataclass(frozen=True)
class _Function:
    name: str
    qualname: str
    file: str
    line: int
    source: str


def golden_snippets(units: Sequence[SourceUnit], max_snippets: int = 2000) -> list[Snippet]:
    """The best-used documented functions of `units`, most-called first, at most `max_snippets`."""
    functions: list[_Function] = []
    calls: dict[str, dict[str, str]] = defaultdict(dict)  # name -> file -> one call line
    for unit in units:
        text = _read(unit)
        if text is None:
            continue
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        lines = text.splitlines()
        functions.extend(_documented(tree, text, unit.display))
        for name, line in _calls(tree):
            calls[name].setdefault(unit.display, lines[line - 1].strip())
    snippets = []
    for fn in functions:
        elsewhere = {f: line for f, line in calls.get(fn.name, {}).items() if f != fn.file}
        if not elsewhere:
            continue
        contexts = [elsewhere[f] for f in sorted(elsewhere)[:CONTEXTS_PER_SNIPPET]]
        header = [f"# {fn.file}: {fn.qualname}"] + [f"# called as: {c}" for c in contexts]
        snippets.append(
            Snippet(fn.qualname, fn.file, fn.line, len(elsewhere), "\n".join([*header, fn.source]),
                    fn.source)
        )
    snippets.sort(key=lambda s: (-s.callers, s.file, s.line))
    return snippets[:max_snippets]


def split_held_out(snippets: Sequence[Snippet], every: int = 10) -> tuple[list[Snippet], list[Snippet]]:
    """(train, held out): one file in `every` (at least one) is held out whole, so no held-out
    function has its neighbours in training; a stable hash of the path picks them, not the order.
    A held-out function whose code is also in training (a copy in another file) is left out of
    both: it would measure memory, not the library's idiom."""
    files = sorted({s.file for s in snippets}, key=lambda f: hashlib.sha256(f.encode()).digest())
    if len(files) < 2:  # one file: nothing to hold out whole, so every `every`-th snippet
        train = [s for i, s in enumerate(snippets) if i % every]
        held = list(snippets[::every])
    else:
        held_files = set(files[: max(1, len(files) // every)])
        train = [s for s in snippets if s.file not in held_files]
        held = [s for s in snippets if s.file in held_files]
    trained = {s.code for s in train}
    return train, [s for s in held if s.code not in trained]


def _read(unit: SourceUnit) -> str | None:
    if unit.text is not None:
        return unit.text
    if unit.path is None:
        return None
    try:
        return Path(unit.path).read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _documented(tree: ast.Module, text: str, file: str) -> Iterator[_Function]:
    for node, owner in _defs(tree.body):
        if node.name.startswith("_") or (owner and owner.startswith("_")):
            continue
        if ast.get_docstring(node) is None or node.end_lineno is None:
            continue
        length = node.end_lineno - node.lineno + 1
        if not MIN_LINES <= length <= MAX_LINES:
            continue
        source = ast.get_source_segment(text, node, padded=True)
        if source is None:
            continue
        first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
        decorators = text.splitlines()[first - 1 : node.lineno - 1]
        qualname = f"{owner}.{node.name}" if owner else node.name
        body = "\n".join([*decorators, *source.splitlines()])
        yield _Function(node.name, qualname, file, node.lineno, _dedent(body))


def _defs(body: Iterable[ast.stmt]) -> Iterator[tuple[ast.FunctionDef | ast.AsyncFunctionDef, str]]:
    """Module-level functions and the methods of module-level classes."""
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node, ""
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    yield item, node.name


def _calls(tree: ast.Module) -> Iterator[tuple[str, int]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute):
                yield func.attr, node.lineno
            elif isinstance(func, ast.Name):
                yield func.id, node.lineno


def _dedent(text: str) -> str:
    lines = text.splitlines()
    indents = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    cut = min(indents, default=0)
    return "\n".join(line[cut:] for line in lines) + "\n"
