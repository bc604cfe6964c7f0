"""The type-hint fix's import: a point edit that puts `from x import Y` where isort (and ruff's
`I` rules) would, worked out from the module's import statements read once with `ast`."""

from __future__ import annotations

import ast
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from remora_review.checks.import_style import ImportStyle, Section
from remora_review.findings import Edit

_TYPE_CHECKING = "TYPE_CHECKING"


@dataclass(frozen=True)
class _Statement:
    node: ast.Import | ast.ImportFrom
    first_line: int  # with the comment lines directly above it, which isort moves with it
    section: Section

    @property
    def last_line(self) -> int:
        return self.node.end_lineno or self.node.lineno

    @property
    def module(self) -> str:
        if isinstance(self.node, ast.ImportFrom):
            return self.node.module or ""
        return self.node.names[0].name

    @property
    def is_from(self) -> bool:
        return isinstance(self.node, ast.ImportFrom)


@dataclass(frozen=True)
class _Block:
    """A run of import statements isort sorts as one (at module level, or in an `if` body)."""

    statements: tuple[_Statement, ...]
    indent: str


def _is_docstring(stmt: ast.stmt) -> bool:
    return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str))


def _is_type_checking(stmt: ast.stmt) -> bool:
    if not isinstance(stmt, ast.If) or stmt.orelse:
        return False
    test = stmt.test
    return (isinstance(test, ast.Name) and test.id == _TYPE_CHECKING) or (
        isinstance(test, ast.Attribute) and test.attr == _TYPE_CHECKING
        and isinstance(test.value, ast.Name) and test.value.id == "typing")


def _needs_two_lines(stmt: ast.stmt) -> bool:
    return isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))


class ModuleImports:
    """One module's imports as isort groups them: built once per file, asked once per class."""

    def __init__(self, source: str, style: ImportStyle,
                 parse: Callable[[str], ast.Module] = ast.parse) -> None:
        """`parse`: where the module's `ast` comes from (a run's shared one, checks/trees.py);
        it is read, not changed."""
        self.style = style
        self.lines = source.splitlines(keepends=True)
        self.ends_open = bool(self.lines) and not self.lines[-1].endswith(("\n", "\r"))
        try:
            body = parse(source).body
        except (SyntaxError, ValueError):
            body = None
        self.parsed = body is not None
        self.body: list[ast.stmt] = body or []
        self.docstring = self.body[0] if self.body and _is_docstring(self.body[0]) else None
        self.block = self._top_block()
        self.guard = next((s for s in self.body
                           if isinstance(s, ast.If) and _is_type_checking(s)), None)

    def _top_block(self) -> _Block:
        """The first run of module-level imports before any definition."""
        run: list[ast.stmt] = []
        for stmt in self.body:
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                run.append(stmt)
            elif run or isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                break
        return self._as_block(run, "")

    def _as_block(self, nodes: Sequence[ast.stmt], indent: str) -> _Block:
        statements = []
        for node in nodes:
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            level = node.level if isinstance(node, ast.ImportFrom) else 0
            module = node.module or "" if isinstance(node, ast.ImportFrom) else node.names[0].name
            statements.append(_Statement(node, self._first_line(node.lineno),
                                         self.style.section(module, level)))
        return _Block(tuple(statements), indent)

    def _first_line(self, line: int) -> int:
        while line > 1 and self.lines[line - 2].lstrip().startswith("#"):
            line -= 1
        return line

    # -- the edits ------------------------------------------------------------------------------

    def edits(self, qualified: str, type_checking_only: bool) -> tuple[Edit, ...] | None:
        """Edits importing the class `qualified`: a plain `from x import Y` for a third-party
        library; for a first-party class (which could make an import cycle), one under
        `if TYPE_CHECKING:` with postponed evaluation of annotations. None when the module does
        not parse or shares an import's line with another statement (`import a; x = 1`)."""
        if not self.parsed or self._crowded(self.block):
            return None
        package, _, name = qualified.rpartition(".")
        if not type_checking_only:
            return self._import(self.block, package, name)
        if not self.block.statements:
            guarded = f"if {_TYPE_CHECKING}:\n    from {package} import {name}\n"
            text = f"from __future__ import annotations\n\nfrom typing import {_TYPE_CHECKING}\n\n"
            return (self._at_top(text + guarded),)
        edits = list(self._import(self.block, "__future__", "annotations"))
        if self.guard is not None:
            indent = self._indent(self.guard.body[0].lineno)
            inner = self._as_block(self.guard.body, indent)
            if self._crowded(inner):
                return None
            if inner.statements:
                edits.extend(self._import(inner, package, name))
            else:  # a block of `pass` or other statements: the import goes last
                last = self.guard.body[-1].end_lineno or self.guard.body[-1].lineno
                edits.append(self._after(last, f"{indent}from {package} import {name}\n"))
        else:
            edits.extend(self._import(self.block, "typing", _TYPE_CHECKING))
            guarded = f"\nif {_TYPE_CHECKING}:\n    from {package} import {name}\n"
            edits.append(self._after(max(s.last_line for s in self.block.statements), guarded))
        return tuple(edits)

    def _crowded(self, block: _Block) -> bool:
        lines = [(s.node.lineno, s.last_line) for s in block.statements]
        return any(b[0] <= a[1] for a, b in itertools.pairwise(lines)) or any(
            self.lines[end - 1][self._col(end, s.node.end_col_offset):].strip()[:1] == ";"
            for s, (_, end) in zip(block.statements, lines))

    def _import(self, block: _Block, package: str, name: str) -> tuple[Edit, ...]:
        """`from package import name` added to a block: joined to a statement of the same module,
        or a statement of its own at its sorted place (its section made when it has none)."""
        same = [s for s in block.statements
                if isinstance(s.node, ast.ImportFrom) and not s.node.level
                and s.node.module == package]
        for s in same:
            if any(a.name == name and a.asname is None for a in s.node.names):
                return ()  # already imported
        if not self.style.force_single_line:
            joinable = next((s for s in same if all(a.asname is None and a.name != "*"
                                                    for a in s.node.names)), None)
            if joinable is not None:
                return (self._join(joinable, name, block.indent),)
        if not block.statements:
            return (self._at_top(f"from {package} import {name}\n"),)
        line = f"{block.indent}from {package} import {name}\n"
        section = self.style.section(package)
        mine = [s for s in block.statements if s.section == section]
        if mine:
            key = (self.style.module_key(package), self.style.member_key(name))
            ordered = [s for s in mine if self._sorts_with_froms(s)]
            after = next((s for s in ordered if self._statement_key(s) > key), None)
            if after is not None:
                return (Edit(after.first_line, 0, after.first_line, 0, line),)
            return (self._after(max(s.last_line for s in mine), line),)
        earlier = [s for s in block.statements if s.section < section]
        if earlier:
            return (self._after(max(s.last_line for s in earlier), "\n" + line),)
        first = min(s.first_line for s in block.statements)
        return (Edit(first, 0, first, 0, line + "\n"),)

    def _sorts_with_froms(self, statement: _Statement) -> bool:
        """Whether a new `from` statement is ordered against this one: every statement when
        sorting ignores the import style, else only the other `from` statements (isort puts
        `import x` lines first)."""
        return statement.is_from or self.style.force_sort_within_sections

    def _statement_key(self, statement: _Statement) -> tuple[object, ...]:
        first = statement.node.names[0]
        member = (self.style.member_key(first.name, first.asname) if statement.is_from
                  else self.style.member_key(""))
        return self.style.module_key(statement.module), member

    def _join(self, statement: _Statement, name: str, indent: str) -> Edit:
        node = statement.node
        assert isinstance(node, ast.ImportFrom)
        aliases = list(node.names)
        key = self.style.member_key(name)
        i = next((k for k, a in enumerate(aliases) if self.style.member_key(a.name) > key),
                 len(aliases))
        if node.lineno == node.end_lineno:
            line = self.lines[node.lineno - 1]
            if i < len(aliases):
                at, text = self._start(aliases[i]), f"{name}, "
            else:
                at, text = self._end(aliases[-1]), f", {name}"
            longer = len(line.rstrip("\r\n")) + len(text)
            if longer > self.style.line_length and "#" not in line and "(" not in line:
                return self._wrapped(node, [*map(self._text, aliases[:i]), name,
                                            *map(self._text, aliases[i:])], indent)
            return Edit(at[0], at[1], at[0], at[1], text)
        # Parenthesised over several lines, one name a line as isort and ruff write it.
        if i < len(aliases) and self._alone(aliases[i]):
            row = aliases[i].lineno
            return Edit(row, 0, row, 0, f"{self._indent(row)}{name},\n")
        last = aliases[-1]
        end_row, end_col = self._end(last)
        tail = self.lines[end_row - 1][end_col:].strip()
        if i == len(aliases) and self._alone(last) and tail.startswith(","):
            return Edit(end_row + 1, 0, end_row + 1, 0, f"{self._indent(last.lineno)}{name},\n")
        at = self._start(aliases[i]) if i < len(aliases) else self._end(aliases[-1])
        text = f"{name}, " if i < len(aliases) else f", {name}"
        return Edit(at[0], at[1], at[0], at[1], text)

    def _wrapped(self, node: ast.ImportFrom, names: Sequence[str], indent: str) -> Edit:
        inner = "".join(f"{indent}    {n},\n" for n in names)
        text = f"from {node.module} import (\n{inner}{indent})"
        end = node.end_lineno or node.lineno
        return Edit(node.lineno, self._col(node.lineno, node.col_offset), end,
                    self._col(end, node.end_col_offset), text)

    # -- positions ------------------------------------------------------------------------------

    def _col(self, line: int, byte_col: int | None) -> int:
        """ast's columns count UTF-8 bytes; edits count code points."""
        text = self.lines[line - 1]
        return len(text.encode("utf-8")[: byte_col or 0].decode("utf-8", "replace"))

    def _start(self, alias: ast.alias) -> tuple[int, int]:
        return alias.lineno, self._col(alias.lineno, alias.col_offset)

    def _end(self, alias: ast.alias) -> tuple[int, int]:
        end = alias.end_lineno or alias.lineno
        return end, self._col(end, alias.end_col_offset)

    def _text(self, alias: ast.alias) -> str:
        return alias.name if alias.asname is None else f"{alias.name} as {alias.asname}"

    def _alone(self, alias: ast.alias) -> bool:
        line = self.lines[alias.lineno - 1]
        return not line[: self._start(alias)[1]].strip()

    def _indent(self, line: int) -> str:
        text = self.lines[line - 1]
        return text[: len(text) - len(text.lstrip())]

    def _after(self, line: int, text: str) -> Edit:
        """An insertion at the start of the line after `line` (the file's end if it is last)."""
        if line < len(self.lines) or not self.ends_open:
            return Edit(line + 1, 0, line + 1, 0, text)
        end = len(self.lines[-1])
        return Edit(line, end, line, end, "\n" + text.rstrip("\n"))

    def _at_top(self, text: str) -> Edit:
        """The first import of a module that has none: after its docstring, before its first
        statement (and the comments on it), with the blank lines isort leaves after imports."""
        following = [s for s in self.body if s is not self.docstring]
        blank = 2 if following and _needs_two_lines(following[0]) else 1 if following else 0
        if following:
            first = following[0]
            starts = [d.lineno for d in getattr(first, "decorator_list", [])]
            at = self._first_line(min([first.lineno, *starts]))
        else:
            at = len(self.lines) + 1
        if self.docstring is None:
            if at > len(self.lines):
                return self._after(len(self.lines), text) if self.lines else Edit(1, 0, 1, 0, text)
            return Edit(at, 0, at, 0, text + "\n" * blank)
        start = (self.docstring.end_lineno or self.docstring.lineno) + 1
        if start > len(self.lines):
            return self._after(start - 1, "\n" + text)
        if at > len(self.lines):  # nothing after the docstring but blank lines
            end = (len(self.lines), len(self.lines[-1])) if self.ends_open else (at, 0)
            return Edit(start, 0, *end, "\n" + text)
        return Edit(start, 0, at, 0, "\n" + text + "\n" * blank)
