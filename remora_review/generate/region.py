"""The code a generated fix rewrites: the function around a finding (decorators included), and the
module-level binding of a decorator's receiver (`app = FastAPI()` for `@app.on_event(...)`), so a
rewrite can move a handler into `FastAPI(lifespan=...)`. Regions that overlap are rewritten as one."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import libcst as cst
import libcst.metadata as meta

from remora_review.pysource.wrapper import wrap

Positions = Mapping[cst.CSTNode, meta.CodeRange]


@dataclass(frozen=True)
class Region:
    start_line: int  # 1-based, inclusive
    end_line: int
    indent: str  # the first line's indentation; the model sees the code without it
    keeps: frozenset[str]  # names the region defines that a rewrite must still define

    def lines(self) -> range:
        return range(self.start_line, self.end_line + 1)

    def text(self, source_lines: Sequence[str]) -> str:
        """The region's code, dedented, each line ending in a newline."""
        code = "".join(source_lines[self.start_line - 1:self.end_line])
        return textwrap.dedent(code if code.endswith("\n") else code + "\n")


def regions_for(module: cst.Module, lines: Sequence[int]) -> list[Region | None]:
    """The region of each line (None: a line in no statement), with overlapping regions merged."""
    wrapper = wrap(module)
    positions = wrapper.resolve(meta.PositionProvider)
    found = [_region(module, positions, line) for line in lines]
    merged = _merge([r for r in found if r is not None])
    return [None if r is None else next(m for m in merged if r.start_line >= m.start_line
                                        and r.end_line <= m.end_line) for r in found]


def _region(module: cst.Module, positions: Positions,
            line: int) -> Region | None:
    path: list[cst.CSTNode] = []
    body: Sequence[cst.CSTNode] = module.body
    while True:  # down through the statements that hold the line
        inner = next((s for s in body if _span(positions, s)[0] <= line <= _span(positions, s)[1]),
                     None)
        if inner is None:
            break
        path.append(inner)
        block = getattr(inner, "body", None)
        children = getattr(block, "body", None)
        if not isinstance(children, Sequence) or isinstance(children, str):
            break
        body = children
    functions = [n for n in path if isinstance(n, cst.FunctionDef)]
    if functions:
        node: cst.CSTNode = functions[-1]
    elif path:
        node = path[0]
    else:
        return None
    start, end = _span(positions, node)
    keeps = {node.name.value} if isinstance(node, (cst.FunctionDef, cst.ClassDef)) else set()
    if isinstance(node, cst.FunctionDef) and node in module.body:
        binding = _receiver_binding(module, node, line, positions)
        if binding is not None:  # the handler may go (its decorator was its only use): the app stays
            name, statement = binding
            start = _span(positions, statement)[0]
            keeps = {name}
    first = module.code.splitlines(keepends=True)[start - 1]
    return Region(start, end, first[: len(first) - len(first.lstrip())], frozenset(keeps))


def _span(positions: Positions,
          node: cst.CSTNode) -> tuple[int, int]:
    where = positions[node]
    end = where.end.line - (1 if where.end.column == 0 and where.end.line > where.start.line else 0)
    decorators = getattr(node, "decorators", ())
    start = positions[decorators[0]].start.line if decorators else where.start.line
    return start, end


def _receiver_binding(module: cst.Module, function: cst.FunctionDef, line: int,
                      positions: Positions,
                      ) -> tuple[str, cst.CSTNode] | None:
    """`@app.on_event(...)` on the line: the module-level `app = ...` before the function."""
    for decorator in function.decorators:
        start, end = _span(positions, decorator)
        if not start <= line <= end:
            continue
        func = decorator.decorator.func if isinstance(decorator.decorator, cst.Call) else None
        if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name)):
            return None
        name = func.value.value
        index = list(module.body).index(function)
        for statement in reversed(module.body[:index]):
            if _binds(statement, name):
                return name, statement
    return None


def _binds(statement: cst.CSTNode, name: str) -> bool:
    if not isinstance(statement, cst.SimpleStatementLine):
        return False
    for small in statement.body:
        if isinstance(small, cst.Assign) and any(
            isinstance(t.target, cst.Name) and t.target.value == name for t in small.targets
        ):
            return True
        if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name) \
                and small.target.value == name:
            return True
    return False


def _merge(regions: Sequence[Region]) -> list[Region]:
    out: list[Region] = []
    for region in sorted(regions, key=lambda r: (r.start_line, -r.end_line)):
        if out and region.start_line <= out[-1].end_line:
            last = out[-1]
            out[-1] = Region(last.start_line, max(last.end_line, region.end_line), last.indent,
                             last.keeps | region.keeps)
        else:
            out.append(region)
    return out
