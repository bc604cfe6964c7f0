"""The prompt a generated fix is asked with, and how its answer is read.

A completion format, not a chat: base code models (and a pack's LoRA adapter, which
`remora-train lora` trains on the same format) continue `### Before` / `### After` blocks. The
answer is the rewritten code, optionally led by the imports it needs, up to `### End`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst

BEFORE = "### Before\n"
AFTER = "### After\n"
END = "### End"
STOP = (END, "\n### Before")
CONTEXT_CHARS = 300  # of each retrieved document


@dataclass(frozen=True)
class Example:
    before: str
    after: str


@dataclass(frozen=True)
class Answer:
    code: str  # the region's new code, dedented, ending in a newline
    imports: tuple[tuple[str, str | None], ...]  # (module, name) to add at the top; name None: `import module`


def pair_text(before: str, after: str) -> str:
    """One before/after block, as examples show it and as an adapter is trained on it."""
    return f"{BEFORE}{_ends(before)}{AFTER}{_ends(after)}{END}\n"


def build_prompt(library: str, hints: Sequence[str], problems: Sequence[str],
                 examples: Sequence[Example], context: Sequence[str], code: str) -> str:
    """The header (library, what to change, what the checks found, reference text), the examples,
    then the code, open after `### After`."""
    head = [f"# Rewrite Python code that uses {library}."]
    head += [f"# {line}" for hint in dict.fromkeys(hints) for line in hint.splitlines()]
    for text in context:
        head.append("# Reference: " + " ".join(text.split())[:CONTEXT_CHARS])
    head += [f"# Problem: {p}" for p in problems]
    shown = "".join(pair_text(e.before, e.after) + "\n" for e in examples)
    return "\n".join(head) + "\n\n" + shown + BEFORE + _ends(code) + AFTER


def read_answer(text: str) -> Answer | str:
    """The rewritten code and the imports it leads with; a string says why there is none."""
    cut = text.split(END, 1)[0].split("\n### ", 1)[0]
    if not cut.strip():
        return "the model returned no code"
    try:
        module = cst.parse_module(_ends(cut.strip("\n")))
    except cst.ParserSyntaxError as e:
        return f"it does not parse ({str(e).splitlines()[0]})"
    imports: list[tuple[str, str | None]] = []
    body = list(module.body)
    while body and (found := _plain_import(body[0])) is not None:
        imports.extend(found)
        body.pop(0)
    if not body:
        return "the model returned only imports"
    rest = module.with_changes(body=body, header=())
    code = rest.code.lstrip("\n")
    return Answer(_ends(code), tuple(imports))


def _plain_import(statement: cst.CSTNode) -> list[tuple[str, str | None]] | None:
    """`from a import b, c` / `import a`: what it imports; None for anything else (an alias too,
    which stays in the code where the model put it)."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    node = statement.body[0]
    empty = cst.Module([])
    if isinstance(node, cst.ImportFrom) and node.module is not None and not node.relative \
            and not isinstance(node.names, cst.ImportStar):
        if any(a.asname is not None for a in node.names):
            return None
        module = empty.code_for_node(node.module)
        return [(module, empty.code_for_node(a.name)) for a in node.names]
    if isinstance(node, cst.Import) and all(a.asname is None for a in node.names):
        return [(empty.code_for_node(a.name), None) for a in node.names]
    return None


def _ends(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"
