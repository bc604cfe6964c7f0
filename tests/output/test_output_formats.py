"""Each output format on a handful of findings."""

from __future__ import annotations

import json
from typing import Any

import pytest

from remora_review.findings import Edit, Finding, Fix, Severity
from remora_review.output import FORMATTERS, Report

FIX = Fix("annotate `s: Session`", (Edit(1, 0, 1, 0, "from sqlalchemy.orm import Session\n"),
                                     Edit(4, 6, 4, 7, "s: Session")))
FINDINGS = (
    Finding("pkg/b.py", 4, 6, 4, 7, "RR101", "parameter `s` looks like a Session", Severity.ERROR,
            0.93, "sqlalchemy", FIX, {"parameter": "s"}),
    Finding("pkg/a b.py", 9, 0, 9, 12, "RR201", "use AuditLogger, not logger.info: billing, 100%",
            Severity.WARNING, pack="acme"),
    Finding("pkg/b.py", 2, 4, 3, 1, "RR001", "line one\r\nline two", Severity.INFO),
)
REPORT = Report(FINDINGS, ("fp-b4", "fp-ab9", "fp-b2"), notes=("x.py: skipped, binary file",),
                files_checked=3)
EMPTY = Report((), ())


def test_formatters_are_keyed_by_name() -> None:
    assert set(FORMATTERS) == {"text", "json", "sarif", "github"}
    with pytest.raises(ValueError):
        Report(FINDINGS, ("only one",))


def test_text() -> None:
    assert FORMATTERS["text"](REPORT) == (
        "pkg/a b.py:9:1: RR201 use AuditLogger, not logger.info: billing, 100%\n"
        "pkg/b.py:2:5: RR001 line one line two\n"
        "pkg/b.py:4:7: RR101 [*] parameter `s` looks like a Session\n"
        "Found 3 findings (1 fixable with --fix).\n"
    )
    assert "binary" not in FORMATTERS["text"](REPORT)  # notes go to stderr, not here
    assert FORMATTERS["text"](EMPTY) == "All checks passed.\n"
    assert FORMATTERS["text"](Report((), (), fixed=2)) == "Fixed 2 findings.\nAll checks passed.\n"
    one = Report(FINDINGS[1:2], ("f",))
    assert FORMATTERS["text"](one).endswith("\nFound 1 finding.\n")


# The shape documented in remora_review/output/json_format.py.
POSITION = {"line": int, "column": int}
SHAPE: dict[str, Any] = {
    "path": str, "line": int, "column": int, "end_line": int, "end_column": int, "code": str,
    "message": str, "severity": ("error", "warning", "info"), "confidence": float,
    "pack": (str, type(None)), "fix": (dict, type(None)), "data": dict, "fingerprint": str,
}


def _check_shape(item: dict[str, Any]) -> None:
    assert set(item) == set(SHAPE)
    for key, kind in SHAPE.items():
        if isinstance(kind, tuple) and isinstance(kind[0], str):
            assert item[key] in kind, key
        else:
            assert isinstance(item[key], kind), key
    if item["fix"] is not None:
        assert set(item["fix"]) == {"message", "edits"}
        for edit in item["fix"]["edits"]:
            assert set(edit) == {"start", "end", "content"}
            for end in ("start", "end"):
                assert {k: type(v) for k, v in edit[end].items()} == POSITION


def test_json() -> None:
    items = json.loads(FORMATTERS["json"](REPORT))
    for item in items:
        _check_shape(item)
    assert [(i["path"], i["line"], i["code"]) for i in items] == [
        ("pkg/a b.py", 9, "RR201"), ("pkg/b.py", 2, "RR001"), ("pkg/b.py", 4, "RR101")]
    first_fixable = items[2]
    assert first_fixable["column"] == 7 and first_fixable["fingerprint"] == "fp-b4"
    assert first_fixable["fix"]["edits"][1] == {
        "start": {"line": 4, "column": 7}, "end": {"line": 4, "column": 8}, "content": "s: Session"}
    assert first_fixable["data"] == {"parameter": "s"}
    assert json.loads(FORMATTERS["json"](EMPTY)) == []


def test_sarif() -> None:
    log = json.loads(FORMATTERS["sarif"](REPORT))
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-2.1.0.json")
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "remora-review"
    assert [r["id"] for r in driver["rules"]] == ["RR001", "RR101", "RR201"]
    results = run["results"]
    assert [r["level"] for r in results] == ["warning", "note", "error"]
    for r in results:
        assert driver["rules"][r["ruleIndex"]]["id"] == r["ruleId"]
        assert set(r["partialFingerprints"]) == {"remoraFingerprint/v1"}
    spaced = results[0]["locations"][0]["physicalLocation"]
    assert spaced["artifactLocation"]["uri"] == "pkg/a%20b.py"
    assert spaced["region"] == {"startLine": 9, "startColumn": 1, "endLine": 9, "endColumn": 13}
    fixed = results[2]
    assert fixed["partialFingerprints"]["remoraFingerprint/v1"] == "fp-b4"
    (change,) = fixed["fixes"][0]["artifactChanges"]
    assert change["artifactLocation"]["uri"] == "pkg/b.py"
    assert change["replacements"][1] == {
        "deletedRegion": {"startLine": 4, "startColumn": 7, "endLine": 4, "endColumn": 8},
        "insertedContent": {"text": "s: Session"},
    }
    assert "fixes" not in results[0]
    assert json.loads(FORMATTERS["sarif"](EMPTY))["runs"][0]["results"] == []


def test_github() -> None:
    lines = FORMATTERS["github"](REPORT).splitlines()
    assert lines == [
        "::warning file=pkg/a b.py,line=9,col=1,endLine=9,endColumn=13,title=RR201::"
        "use AuditLogger, not logger.info: billing, 100%25",
        "::notice file=pkg/b.py,line=2,col=5,endLine=3,endColumn=2,title=RR001::"
        "line one%0D%0Aline two",
        "::error file=pkg/b.py,line=4,col=7,endLine=4,endColumn=8,title=RR101::"
        "parameter `s` looks like a Session",
    ]
    odd = Finding("we,ird:name%.py", 1, 0, 1, 1, "RR1", "m")
    assert FORMATTERS["github"](Report((odd,), ("f",))).startswith(
        "::warning file=we%2Cird%3Aname%25.py,line=1,")
    assert FORMATTERS["github"](EMPTY) == ""
