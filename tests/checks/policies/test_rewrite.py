"""The fix: keywords set and renamed in the call's layout, callee and import, or no fix and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from remora_review.checks.policies.check import PolicyCheck
from remora_review.checks.policies.rewrite import split_target

from .helpers import (
    fix_all,
    make_ctx,
    no_context,
    plain_pack,
)

FIX_LAYOUTS = {
    "one line": ("logging.info('x')\n", "AuditLogger.log_transaction('x', compliance=True)\n"),
    "no arguments": ("logging.info()\n", "AuditLogger.log_transaction(compliance=True)\n"),
    "parenthesised": (
        "x = (logging.info('x'))\n",
        "x = (AuditLogger.log_transaction('x', compliance=True))\n",
    ),
    "star-star last": (
        "logging.info('x', compliance=False, **kw)\n",
        "AuditLogger.log_transaction('x', compliance=True, **kw)\n",
    ),
    "no newline at the end": (
        "logging.info('x')",
        "AuditLogger.log_transaction('x', compliance=True)",
    ),
    "one argument a line, comments kept": (
        "if x:\n    y = [\n        logging.info(\n            'x',  # why\n"
        "            '''a\nb''',  # last\n        )\n    ]\n",
        "if x:\n    y = [\n        AuditLogger.log_transaction(\n            'x',  # why\n"
        "            '''a\nb''',  # last\n            compliance=True,\n        )\n    ]\n",
    ),
    "closing parenthesis on its own line, no trailing comma": (
        "logging.info(\n    'x'  # why\n)\n",
        "AuditLogger.log_transaction(\n    'x',  # why\n    compliance=True\n)\n",
    ),
}


@pytest.mark.parametrize("layout", sorted(FIX_LAYOUTS))
def test_fix_keeps_the_call_layout(layout: str, tmp_path: Path) -> None:
    before, after = FIX_LAYOUTS[layout]
    source = "import logging\n" + before
    fixed = fix_all(PolicyCheck(), make_ctx(source, (plain_pack(tmp_path, no_context()),)))
    assert fixed == "import logging\nfrom acme.audit import AuditLogger\n\n" + after


def test_rename_and_replace_keywords(tmp_path: Path) -> None:
    policy = no_context(
        replace_with=None, set_keywords={"timeout": "10"}, rename_keywords={"secs": "seconds"}
    )
    source = "import logging\nlogging.info('x', secs=1, timeout=None)\n"
    check = PolicyCheck()
    fixed = fix_all(check, make_ctx(source, (plain_pack(tmp_path, policy),)))
    assert fixed == "import logging\nlogging.info('x', seconds=1, timeout=10)\n"
    # A keyword-only policy holds where the call already says so: nothing to report.
    assert check.run(make_ctx(fixed, (plain_pack(tmp_path, policy),))).findings == ()


def test_existing_alias_is_reused(tmp_path: Path) -> None:
    source = "import logging\nimport acme.audit as audit\nlogging.info('x')\n"
    fixed = fix_all(PolicyCheck(), make_ctx(source, (plain_pack(tmp_path, no_context()),)))
    assert fixed == (
        "import logging\nimport acme.audit as audit\n"
        "audit.AuditLogger.log_transaction('x', compliance=True)\n"
    )


def test_no_fix_when_every_name_is_taken(tmp_path: Path) -> None:
    source = "import logging\ndef f(AuditLogger, acme):\n    logging.info('x')\n"
    result = PolicyCheck().run(make_ctx(source, (plain_pack(tmp_path, no_context()),)))
    (finding,) = result.findings
    assert finding.fix is None
    assert any("bound to something else" in n for n in result.notes)


def test_bad_keyword_expression_gives_no_fix_and_a_note(tmp_path: Path) -> None:
    policy = no_context(set_keywords={"compliance": "True ("})
    result = PolicyCheck().run(make_ctx("import logging\nlogging.info('x')\n",
                                        (plain_pack(tmp_path, policy),)))
    (finding,) = result.findings
    assert finding.fix is None
    assert result.notes == (
        "policies: ACME001: set_keywords compliance='True (' is not a Python expression; "
        "no fix offered",
    )


def test_repeated_keyword_after_a_rename_gives_no_fix(tmp_path: Path) -> None:
    policy = no_context(replace_with=None, set_keywords={}, rename_keywords={"a": "b"})
    source = "import logging\nlogging.info('x', a=1, b=2)\n"
    (finding,) = PolicyCheck().run(make_ctx(source, (plain_pack(tmp_path, policy),))).findings
    assert finding.fix is None  # `b=1, b=2` parses for libcst, not for Python


def test_split_target() -> None:
    assert split_target("acme.audit.AuditLogger.log_transaction") == (
        "acme.audit",
        "AuditLogger.log_transaction",
    )
    assert split_target("acme.audit.log_transaction") == ("acme.audit", "log_transaction")
    assert split_target("acme.Audit:audit_logger.log") == ("acme.Audit", "audit_logger.log")
