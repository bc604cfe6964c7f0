"""`--output-format sarif`: a SARIF 2.1.0 log for GitHub code scanning and other SARIF viewers."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from remora_review import __version__
from remora_review.findings import Edit, Finding, Severity

if TYPE_CHECKING:
    from remora_review.output import Report

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "remoraFingerprint/v1"
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _uri(path: str) -> str:
    return quote(path, safe="/")  # a relative URI reference: spaces and non-ASCII percent-encoded


def _region(start_line: int, start_col: int, end_line: int, end_col: int) -> dict[str, int]:
    return {"startLine": start_line, "startColumn": start_col + 1,
            "endLine": end_line, "endColumn": end_col + 1}


def _replacement(edit: Edit) -> dict[str, Any]:
    return {
        "deletedRegion": _region(edit.start_line, edit.start_col, edit.end_line, edit.end_col),
        "insertedContent": {"text": edit.content},
    }


def _result(f: Finding, fingerprint: str, rule_index: int) -> dict[str, Any]:
    location = {"artifactLocation": {"uri": _uri(f.path), "uriBaseId": "%SRCROOT%"},
                "region": _region(f.line, f.col, f.end_line, f.end_col)}
    result: dict[str, Any] = {
        "ruleId": f.code,
        "ruleIndex": rule_index,
        "level": _LEVEL[f.severity],
        "message": {"text": f.message},
        "locations": [{"physicalLocation": location}],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint},
        "properties": {"confidence": round(f.confidence, 4), "pack": f.pack},
    }
    if f.fix is not None and f.fix.edits:
        result["fixes"] = [{
            "description": {"text": f.fix.message},
            "artifactChanges": [{
                "artifactLocation": {"uri": _uri(f.path), "uriBaseId": "%SRCROOT%"},
                "replacements": [_replacement(e) for e in f.fix.edits],
            }],
        }]
    return result


def sarif_log(report: Report) -> dict[str, Any]:
    """The SARIF log as a dict: one run, a rule per code seen, a result per finding."""
    pairs = report.sorted_pairs()
    rule_ids = sorted({f.code for f, _ in pairs})
    index = {code: i for i, code in enumerate(rule_ids)}
    first: dict[str, Finding] = {}
    for f, _ in pairs:
        first.setdefault(f.code, f)
    rules = [{
        "id": code,
        "shortDescription": {"text": report.rule_help.get(code, first[code].message)},
        "defaultConfiguration": {"level": _LEVEL[first[code].severity]},
    } for code in rule_ids]
    driver = {"name": "remora-review", "version": __version__, "semanticVersion": __version__,
              "rules": rules}
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": driver},
            "columnKind": "unicodeCodePoints",
            "results": [_result(f, fp, index[f.code]) for f, fp in pairs],
        }],
    }


def format_sarif(report: Report) -> str:
    return json.dumps(sarif_log(report), indent=2, ensure_ascii=False) + "\n"
