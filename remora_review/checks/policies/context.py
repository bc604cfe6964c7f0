"""The text embedded for a call's surroundings, which a policy's context examples are compared with."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import libcst as cst

from remora_review.checks.policies.calls import Owner
from remora_review.pysource.walk import ReadOnlyWalk

CONTEXT_MAX_WORDS = 200


def render_context(
    owner: Owner, glossary: Mapping[str, str], max_words: int = CONTEXT_MAX_WORDS
) -> str:
    """The text embedded for a call's surroundings: name, docstring, parameters, body words.

    Identifiers are split into words (`charge_card` -> `charge card`); the first time a glossary
    term appears, its meaning follows it in parentheses.
    """
    parts: list[str] = []
    if isinstance(owner, cst.FunctionDef):
        params = [p.name.value for p in _all_params(owner.params)]
        parts += [f"function {_words(owner.name.value)}", owner.get_docstring() or ""]
        parts.append("parameters: " + ", ".join(_words(p) for p in params if p not in _NOISE))
    elif isinstance(owner, cst.ClassDef):
        parts += [f"class {_words(owner.name.value)}", owner.get_docstring() or ""]
    else:
        parts.append(owner.get_docstring() or "")
    tokens = _BodyTokens()
    for statement in _body_without_docstring(owner):
        statement.visit(tokens)
    parts.append(" ".join(tokens.words))
    words = " ".join(p for p in parts if p).split()
    return _expand_glossary(" ".join(words[:max_words]), glossary)


_NOISE = frozenset({"self", "cls", "None", "True", "False"})


def _body_without_docstring(owner: Owner) -> Sequence[cst.CSTNode]:
    body = owner.body if isinstance(owner, cst.Module) else owner.body.body
    if owner.get_docstring() is not None and body:
        return body[1:]
    return body


def _all_params(params: cst.Parameters) -> list[cst.Param]:
    out = [*params.posonly_params, *params.params, *params.kwonly_params]
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            out.append(star)
    return out


def _words(identifier: str) -> str:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", identifier)
    return " ".join(spaced.replace("_", " ").split())


class _BodyTokens(ReadOnlyWalk):
    """Identifiers (as words), string contents and comments, in order, each once."""

    def __init__(self) -> None:
        self.words: list[str] = []
        self._seen: set[str] = set()

    def _add(self, text: str) -> None:
        text = " ".join(text.split()[:30])
        if text and text.lower() not in self._seen:
            self._seen.add(text.lower())
            self.words.append(text)

    def visit_Name(self, node: cst.Name) -> None:
        if node.value not in _NOISE:
            self._add(_words(node.value))

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        value = node.evaluated_value
        if isinstance(value, str):
            self._add(value)

    def visit_FormattedStringText(self, node: cst.FormattedStringText) -> None:
        self._add(node.value)

    def visit_Comment(self, node: cst.Comment) -> None:
        self._add(node.value.lstrip("#"))


def _expand_glossary(text: str, glossary: Mapping[str, str]) -> str:
    for term in sorted(glossary, key=len, reverse=True):
        pattern = re.compile(r"(?<!\w)" + re.escape(term) + r"(?!\w)", re.IGNORECASE)
        found = pattern.search(text)
        if found:
            text = f"{text[: found.end()]} ({glossary[term]}){text[found.end() :]}"
    return text
