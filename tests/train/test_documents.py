"""Pack documents: API entries, deduplicated usages, policy contexts, glossary entries."""

from __future__ import annotations

from pathlib import Path

from remora_review.api_table import ApiTable
from remora_review.infer.profile import MethodCall, UsageProfile
from remora_review.packs.manifest import Policy
from remora_review.train.documents import pack_documents
from remora_review.train.inputs import load_glossary, load_policies
from remora_review.train.mining import MinedUsage

SOURCES = Path(__file__).resolve().parents[2] / "packs" / "sources"


def usage(label: str, file: str, line: int, *calls: str) -> MinedUsage:
    profile = UsageProfile(name="s", function="f", calls=tuple(MethodCall(c, 0) for c in calls))
    return MinedUsage(profile, label, file, line, "repo")


def test_api_text_names_the_class_its_doc_and_members(httpx_table: ApiTable) -> None:
    docs = pack_documents(httpx_table, [])
    by_id = {d.id: d for d in docs}
    client = by_id["api:httpx.AsyncClient"]
    assert client.kind == "api" and client.label == "httpx.AsyncClient"
    assert client.text.startswith("class httpx.AsyncClient: An asynchronous HTTP client")
    assert "async get(url)" in client.text and "supports: async_with" in client.text
    response = by_id["api:httpx.Response"].text
    assert "attributes: " in response and "status_code" in response
    assert [d.kind for d in docs] == ["api"] * len(httpx_table.classes)


def test_usages_are_deduplicated_with_counts(httpx_table: ApiTable) -> None:
    usages = [
        usage("httpx.Client", "b.py", 3, "get"),
        usage("httpx.Client", "a.py", 9, "get"),
        usage("httpx.Client", "a.py", 1, "close"),
        usage("httpx.Response", "a.py", 5, "get"),  # same text, another label: its own document
    ]
    docs = [d for d in pack_documents(httpx_table, usages) if d.kind == "usage"]
    assert [(d.id, d.text, d.meta["count"]) for d in docs] == [
        ("usage:httpx.Client:1", "parameter s of def f; calls close(0)", 1),
        ("usage:httpx.Client:2", "parameter s of def f; calls get(0)", 2),
        ("usage:httpx.Response:1", "parameter s of def f; calls get(0)", 1),
    ]
    first = docs[1].meta
    assert (first["file"], first["line"], first["source"]) == ("a.py", 9, "repo")
    assert UsageProfile.from_json(first["profile"]).text() == docs[1].text
    assert pack_documents(httpx_table, reversed(usages)) == pack_documents(httpx_table, usages)


def test_company_documents(httpx_table: ApiTable) -> None:
    policies = load_policies(SOURCES / "acme" / "policies.toml")
    glossary = load_glossary(SOURCES / "acme" / "glossary.toml")
    docs = pack_documents(httpx_table, [], policies, glossary)
    contexts = [d for d in docs if d.kind == "policy_context"]
    assert len(contexts) == len(policies[0].context_examples)
    assert {d.label for d in contexts} == {"ACME001"}
    assert contexts[0].id == "policy:ACME001:1"
    terms = {d.label: d.text for d in docs if d.kind == "glossary"}
    assert terms["The Gizmo"].startswith("The Gizmo: Microservice B")


def test_policy_without_examples_gives_no_context_documents(httpx_table: ApiTable) -> None:
    plain = Policy(code="X001", message="m", calls=("print",))
    assert not [d for d in pack_documents(httpx_table, [], [plain]) if d.kind != "api"]
