"""Callee names: through instances, aliases and factories; other calls not matched."""

from __future__ import annotations

from pathlib import Path

import pytest

from remora_review.checks.policies.check import PolicyCheck

from .helpers import (
    make_ctx,
    no_context,
    plain_pack,
)

# -- callee names ------------------------------------------------------------------------

CALLEE_FORMS = {
    "module function": ("import logging\nlogging.info('x')\n", "logging.info"),
    "aliased module": ("import logging as lg\nlg.info('x')\n", "logging.info"),
    "from import": ("from logging import info\ninfo('x')\n", "logging.info"),
    "from import, aliased": ("from logging import info as say\nsay('x')\n", "logging.info"),
    "local instance": (
        "import logging\ndef f():\n    log = logging.getLogger(__name__)\n    log.info('x')\n",
        "logging.Logger.info",
    ),
    "module instance used in a function": (
        "import logging\nlogger = logging.getLogger()\ndef f():\n    logger.info('x')\n",
        "logging.Logger.info",
    ),
    "from-imported factory": (
        "from logging import getLogger\nlog = getLogger('a')\nlog.info('x')\n",
        "logging.Logger.info",
    ),
    "call result": ("import logging\nlogging.getLogger('a').info('x')\n", "logging.Logger.info"),
    "child logger": (
        "import logging\nlog = logging.getLogger('a').getChild('b')\nlog.info('x')\n",
        "logging.Logger.info",
    ),
    "alias of an instance": (
        "import logging\nlog = logging.getLogger()\nother = log\nother.info('x')\n",
        "logging.Logger.info",
    ),
    "annotated parameter": (
        "import logging\ndef f(log: logging.Logger):\n    log.info('x')\n",
        "logging.Logger.info",
    ),
    "attribute set in __init__": (
        "import logging\nclass C:\n    def __init__(self):\n"
        "        self.log = logging.getLogger()\n    def go(self):\n        self.log.info('x')\n",
        "logging.Logger.info",
    ),
    "class attribute": (
        "import logging\nclass C:\n    log = logging.getLogger()\n"
        "    def go(self):\n        self.log.info('x')\n",
        "logging.Logger.info",
    ),
}


@pytest.mark.parametrize("form", sorted(CALLEE_FORMS))
def test_callee_names_see_through_instances(form: str, tmp_path: Path) -> None:
    source, expected = CALLEE_FORMS[form]
    findings = PolicyCheck().run(make_ctx(source, (plain_pack(tmp_path, no_context()),))).findings
    assert [f.data["callee"] for f in findings] == [expected]


@pytest.mark.parametrize(
    "source",
    [
        "import logging\nlogging.warning('x')\n",
        "import logging\nlog = logging.getLogger()\nlog.warning('x')\n",
        "def f(log):\n    log.info('x')\n",  # an unknown parameter is not a Logger
        "import structlog\nlog = structlog.get_logger()\nlog.info('x')\n",
        "import logging\ndef info(x): ...\ninfo('x')\n",
    ],
)
def test_other_calls_are_not_matched(source: str, tmp_path: Path) -> None:
    assert PolicyCheck().run(make_ctx(source, (plain_pack(tmp_path, no_context()),))).findings == ()


@pytest.mark.parametrize(
    "source",
    [
        "import logging\nlog = log.getChild('a')\nlog.info('x')\n",
        "a = b.make()\nb = a.make()\na.info('x')\n",
        "class C:\n    def __init__(self):\n        self.log = self.log.child()\n"
        "    def go(self):\n        self.log.info('x')\n",
        "def f():\n" + "    x = x.f(x.g())\n" * 40 + "    x.info('x')\n",
    ],
)
def test_cyclic_bindings_end(source: str, tmp_path: Path) -> None:
    assert PolicyCheck().run(make_ctx(source, (plain_pack(tmp_path, no_context()),))).findings == ()


def test_factory_table_is_extensible(tmp_path: Path) -> None:
    source = "import structlog\nlog = structlog.get_logger()\nlog.info('x')\n"
    policy = no_context(calls=("structlog.BoundLogger.info",))
    check = PolicyCheck(factories={"structlog.get_logger": "structlog.BoundLogger"})
    findings = check.run(make_ctx(source, (plain_pack(tmp_path, policy),))).findings
    assert [f.data["callee"] for f in findings] == ["structlog.BoundLogger.info"]


def test_a_file_that_never_names_the_call_is_not_even_parsed(tmp_path: Path) -> None:
    ctx = make_ctx("import logging\nlogging.warning('x')  # information\n",
                   (plain_pack(tmp_path, no_context()),))
    assert PolicyCheck().run(ctx).findings == ()
    assert "wrapper" not in ctx.__dict__  # no libcst tree was made for it
