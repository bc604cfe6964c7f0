"""The policy check end to end: findings with standalone fixes, notes, golden cases, the engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import libcst as cst
import pytest

from remora_review.checks.base import CheckResult
from remora_review.checks.policies.check import PolicyCheck
from remora_review.config import Settings
from remora_review.fixes import apply_edits
from remora_review.packs.loader import LoadedPack
from remora_review.retrieval.base import Embedder

from .helpers import (
    ACME001,
    BILLING_EXAMPLES,
    BILLING_THRESHOLD,
    GOLDEN,
    PackRetrieval,
    fix_all,
    make_ctx,
    no_context,
    plain_pack,
)

# -- findings and fixes without context --------------------------------------------------


def test_finding_carries_policy_and_a_standalone_fix(tmp_path: Path) -> None:
    source = "import logging\n\n\ndef a():\n    logging.info('a')\n\n\ndef b():\n    logging.info('b')\n"
    findings = PolicyCheck().run(make_ctx(source, (plain_pack(tmp_path, no_context()),))).findings
    assert [(f.code, f.line, f.col, f.severity.value, f.pack) for f in findings] == [
        ("ACME001", 5, 4, "error", "acme"),
        ("ACME001", 9, 4, "error", "acme"),
    ]
    first = findings[0]
    assert first.confidence == 1.0
    assert dict(first.data) == {
        "callee": "logging.info",
        "policy": "ACME001",
        "context_similarity": 1.0,
    }
    for finding in findings:  # each fix applies on its own and yields valid Python
        assert finding.fix is not None
        fixed = apply_edits(source, finding.fix.edits)
        cst.parse_module(fixed)
        assert fixed.count("from acme.audit import AuditLogger") == 1
        assert fixed.count("AuditLogger.log_transaction(") == 1
    assert first.fix is not None and "compliance=True" in first.fix.message


def test_too_deeply_nested_file_is_skipped_with_a_note(tmp_path: Path) -> None:
    source = "import logging\nlogging.info('x')\ns = (" + " ".join(["'a'"] * 3000) + ")\n"
    result = PolicyCheck().run(make_ctx(source, (plain_pack(tmp_path, no_context()),)))
    assert result.findings == ()
    assert result.notes == ("policies: shop/billing.py: skipped, nested too deeply to analyse",)


def test_context_policy_without_embeddings_is_skipped_with_one_note(tmp_path: Path) -> None:
    from remora_review.engine import FileJob, Runtime, check_source

    pack = plain_pack(tmp_path, ACME001)
    note = ("policies: ACME001 needs the embedding model to decide its context; skipped "
            "(install remora-review[embed] to enable it)")
    check = PolicyCheck()
    source = "import logging\ndef charge():\n    logging.info('x')\n"
    assert check.run(make_ctx(source, (pack,))) == CheckResult((), (note,))
    # Through the engine, one note per file; review() prints each note once.
    runtime = Runtime(Settings(), {"acme": pack}, (check,), None, strict=True)
    outcomes = [check_source(FileJob(p, source, None, ("acme",)), runtime) for p in ("a.py", "b.py")]
    assert [o.notes for o in outcomes] == [(note,), (note,)]
    # A file with no matching call says nothing.
    assert PolicyCheck().run(make_ctx("import logging\n", (pack,))) == CheckResult()


# -- the company pack, with the real embedding model -------------------------------------


def golden_cases() -> Iterator[str]:
    return iter(sorted(p.name for p in GOLDEN.iterdir() if (p / "input.py").is_file()))


@pytest.mark.slow
@pytest.mark.parametrize("case", list(golden_cases()))
def test_golden(case: str, acme_pack: LoadedPack, retrieval: PackRetrieval) -> None:
    source = (GOLDEN / case / "input.py").read_text("utf-8")
    expected = (GOLDEN / case / "expected.py").read_text("utf-8")
    check = PolicyCheck()
    ctx = make_ctx(source, (acme_pack,), retrieval)
    first = check.run(ctx)
    assert first.notes == ()
    for finding in first.findings:  # every fix stands alone
        assert finding.fix is not None
        cst.parse_module(apply_edits(source, finding.fix.edits))
    assert fix_all(check, ctx) == expected
    assert check.run(make_ctx(expected, (acme_pack,), retrieval)) == CheckResult()


@pytest.mark.slow
def test_context_decides_and_is_embedded_once_per_file(
    acme_pack: LoadedPack, retrieval: PackRetrieval
) -> None:
    source = (GOLDEN / "billing_and_unrelated" / "input.py").read_text("utf-8")
    source += "\n\ndef refund(p):\n    logger.info('refund %s', psp.refund(p).id)\n"
    check = PolicyCheck()
    findings = check.run(make_ctx(source, (acme_pack,), retrieval)).findings
    assert [(f.line, f.data["callee"]) for f in findings] == [
        (11, "logging.Logger.info"),
        (23, "logging.Logger.info"),
    ]
    for finding in findings:
        assert finding.confidence == finding.data["context_similarity"] >= BILLING_THRESHOLD
    # Three enclosing functions in one query batch; the examples once for the run.
    assert sorted(retrieval.embed_calls) == [(3, "query"), (len(BILLING_EXAMPLES), "document")]
    check.run(make_ctx(source, (acme_pack,), retrieval))
    assert sorted(retrieval.embed_calls)[-1] == (len(BILLING_EXAMPLES), "document")
    assert len(retrieval.embed_calls) == 3


@pytest.mark.slow
def test_findings_pass_through_the_engine(acme_pack: LoadedPack, minilm: Embedder) -> None:
    from remora_review.engine import FileJob, Runtime, fix_source

    source = (GOLDEN / "billing_and_unrelated" / "input.py").read_text("utf-8")
    runtime = Runtime(
        settings=Settings(),
        packs={"acme": acme_pack},
        checks=(PolicyCheck(),),
        retrieval=PackRetrieval(minilm),  # type: ignore[arg-type]
        strict=True,
    )
    outcome = fix_source(FileJob("shop/billing.py", source, None, ("acme",)), runtime)
    expected = (GOLDEN / "billing_and_unrelated" / "expected.py").read_text("utf-8")
    assert (outcome.fixed_source, outcome.fixes_applied, outcome.findings) == (expected, 1, ())
