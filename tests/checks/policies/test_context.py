"""The context text, and the threshold that separates billing code from other code."""

from __future__ import annotations

from collections.abc import Mapping

import libcst as cst
import pytest

from remora_review.checks.policies.check import PolicyCheck
from remora_review.checks.policies.context import render_context
from remora_review.packs.loader import LoadedPack
from remora_review.retrieval.base import Embedder

from .helpers import (
    BILLING_EXAMPLES,
    BILLING_FUNCTIONS,
    BILLING_THRESHOLD,
    GLOSSARY,
    OTHER_FUNCTIONS,
    PackRetrieval,
    make_ctx,
)


def test_render_context_splits_identifiers_and_expands_the_glossary() -> None:
    module = cst.parse_module(
        "def renewSubscription(account_id, *, psp_client):\n"
        '    """Start dunning when declined."""\n'
        "    # retry tomorrow\n"
        "    psp_client.capture(account_id, reason=f'renewal {account_id}')\n"
    )
    function = module.body[0]
    assert isinstance(function, cst.FunctionDef)
    text = render_context(function, GLOSSARY)
    assert text == (
        "function renew Subscription Start dunning "
        "(retrying failed subscription payments and reminding customers) when declined. "
        "parameters: account id, psp (payment service provider) client "
        "retry tomorrow psp client capture account id reason renewal"
    )
    assert len(render_context(function, {}, max_words=5).split()) == 5


def similarities(source: str, pack: LoadedPack, minilm: Embedder) -> Mapping[str, float]:
    module = cst.parse_module(source)
    functions = [s for s in module.body if isinstance(s, cst.FunctionDef)]
    texts = [render_context(f, pack.manifest.glossary) for f in functions]
    examples = minilm.embed(BILLING_EXAMPLES, "document")
    scores = (minilm.embed(texts, "query") @ examples.T).max(axis=1)
    return {f.name.value: float(s) for f, s in zip(functions, scores)}


@pytest.mark.slow
def test_threshold_separates_billing_code(acme_pack: LoadedPack, minilm: Embedder) -> None:
    billing = similarities(BILLING_FUNCTIONS, acme_pack, minilm)
    other = similarities(OTHER_FUNCTIONS, acme_pack, minilm)
    print("billing", {k: round(v, 3) for k, v in billing.items()})
    print("other", {k: round(v, 3) for k, v in other.items()})
    assert len(billing) == 5 and len(other) == 7
    assert min(billing.values()) >= BILLING_THRESHOLD + 0.08
    assert max(other.values()) <= BILLING_THRESHOLD - 0.08
    # The check agrees: every billing call is reported, no other call is.
    check = PolicyCheck()
    retrieval = PackRetrieval(minilm)
    reported = check.run(make_ctx(BILLING_FUNCTIONS, (acme_pack,), retrieval)).findings
    assert len(reported) == 5
    assert check.run(make_ctx(OTHER_FUNCTIONS, (acme_pack,), retrieval)).findings == ()
