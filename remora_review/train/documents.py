"""The documents a pack indexes: API entries, mined usages, policy contexts, glossary entries."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from remora_review.api_table import PROTOCOL_DUNDERS, ApiTable, ClassInfo, Member
from remora_review.packs.manifest import Policy
from remora_review.retrieval.base import Document
from remora_review.train.mining import MinedUsage

_MAX_BASES = 4


def api_text(info: ClassInfo, table: ApiTable) -> str:
    """`class sqlalchemy.orm.Session(...): <first doc line>; methods: add(instance), ...`."""
    bases = [b for b in info.bases if b in table.classes][:_MAX_BASES]
    head = f"class {info.name}({', '.join(bases)})" if bases else f"class {info.name}"
    parts = [f"{head}: {info.doc}" if info.doc else head]
    public = [m for name, m in sorted(info.members.items()) if not name.startswith("_")]
    methods = [_method_text(m) for m in public if m.kind in ("method", "classmethod", "staticmethod")]
    attributes = [m.name for m in public if m.kind in ("attribute", "property")]
    protocols = [p for p in PROTOCOL_DUNDERS if info.has_protocol(p)]
    if methods:
        parts.append("methods: " + ", ".join(methods))
    if attributes:
        parts.append("attributes: " + ", ".join(attributes))
    if protocols:
        parts.append("supports: " + ", ".join(protocols))
    return "; ".join(parts)


def _method_text(member: Member) -> str:
    required = [
        p.name for p in member.params
        if not p.has_default
        and not p.name.startswith("_")
        and p.kind in ("positional_only", "positional_or_keyword", "keyword_only")
    ]
    prefix = "async " if member.is_async else ""
    return f"{prefix}{member.name}({', '.join(required)})"


def api_documents(table: ApiTable) -> list[Document]:
    return [
        Document(
            id=f"api:{name}",
            kind="api",
            text=api_text(info, table),
            label=name,
            meta={"defined_in": info.defined_in},
        )
        for name, info in sorted(table.classes.items())
    ]


def usage_documents(usages: Iterable[MinedUsage]) -> list[Document]:
    """One document per distinct (text, label); `count` says how often it was seen."""
    groups: dict[tuple[str, str], list[MinedUsage]] = {}
    for usage in usages:
        groups.setdefault((usage.label, usage.profile.text()), []).append(usage)
    documents: list[Document] = []
    numbers: dict[str, int] = {}
    for (label, text), group in sorted(groups.items()):
        first = min(group, key=lambda u: (u.source, u.file, u.line, u.profile.name))
        n = numbers[label] = numbers.get(label, 0) + 1
        meta: dict[str, Any] = {
            "profile": first.profile.to_json(),
            "source": first.source,
            "file": first.file,
            "line": first.line,
            "count": len(group),
        }
        documents.append(Document(id=f"usage:{label}:{n}", kind="usage", text=text, label=label,
                                  meta=meta))
    return documents


def policy_documents(policies: Sequence[Policy]) -> list[Document]:
    return [
        Document(
            id=f"policy:{policy.code}:{i}",
            kind="policy_context",
            text=example,
            label=policy.code,
            meta={"policy": policy.code},
        )
        for policy in sorted(policies, key=lambda p: p.code)
        for i, example in enumerate(policy.context_examples, 1)
    ]


def glossary_documents(glossary: Mapping[str, str]) -> list[Document]:
    return [
        Document(
            id=f"glossary:{term}",
            kind="glossary",
            text=f"{term}: {meaning}",
            label=term,
            meta={"term": term, "meaning": meaning},
        )
        for term, meaning in sorted(glossary.items())
    ]


def pack_documents(
    table: ApiTable,
    usages: Iterable[MinedUsage],
    policies: Sequence[Policy] = (),
    glossary: Mapping[str, str] | None = None,
) -> list[Document]:
    """Every document of a pack, in a stable order with stable ids."""
    return [
        *api_documents(table),
        *usage_documents(usages),
        *policy_documents(policies),
        *glossary_documents(glossary or {}),
    ]
