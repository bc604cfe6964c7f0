"""Which policies apply to a file: path globs, required imports, changed lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from remora_review.checks.policies.check import PolicyCheck
from remora_review.checks.policies.conditions import path_matches

from .helpers import (
    make_ctx,
    no_context,
    plain_pack,
)

# -- file conditions and changed lines ---------------------------------------------------


@pytest.mark.parametrize(
    ("path", "globs", "expected"),
    [
        ("billing/charge.py", (), True),
        ("billing/charge.py", ("billing/*.py",), True),
        ("billing/cards/charge.py", ("billing/*.py",), False),
        ("billing/cards/charge.py", ("billing/**",), True),
        ("src/acme/billing/charge.py", ("**/billing/**",), True),
        ("billing/charge.py", ("**/billing/*.py",), True),
        ("shop/views.py", ("**/billing/**", "payments/*"), False),
        ("deep/dir/test_charge.py", ("test_*.py",), True),
        ("billing/charge.py", ("billing/[cd]harge.py",), True),
    ],
)
def test_path_globs(path: str, globs: tuple[str, ...], expected: bool) -> None:
    assert path_matches(path, globs) is expected


def test_policy_skipped_outside_its_paths_and_imports(tmp_path: Path) -> None:
    source = "import logging\nlogging.info('x')\n"
    outside = plain_pack(tmp_path, no_context(paths=("billing/**",)))
    assert PolicyCheck().run(make_ctx(source, (outside,), path="shop/views.py")).findings == ()
    assert len(PolicyCheck().run(make_ctx(source, (outside,), path="billing/a/b.py")).findings) == 1
    needs_stripe = plain_pack(tmp_path, no_context(requires_imports=("stripe",)))
    assert PolicyCheck().run(make_ctx(source, (needs_stripe,))).findings == ()
    with_stripe = "import stripe.error\n" + source
    assert len(PolicyCheck().run(make_ctx(with_stripe, (needs_stripe,))).findings) == 1


def test_only_calls_on_changed_lines_are_reported(tmp_path: Path) -> None:
    source = "import logging\nlogging.info('old')\nlogging.info(\n    'new',\n)\n"
    pack = plain_pack(tmp_path, no_context())
    findings = PolicyCheck().run(make_ctx(source, (pack,), changed_lines=frozenset({4}))).findings
    assert [(f.line, f.end_line) for f in findings] == [(3, 5)]
    assert PolicyCheck().run(make_ctx(source, (pack,), changed_lines=frozenset({1}))).findings == ()
