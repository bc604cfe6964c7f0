"""`--output-format json`: a JSON array of finding objects, sorted by path, line, column, code.

Schema (version 1; fields are only ever added). Lines and columns are 1-based; columns count
Unicode code points; `end_*` point just past the finding's last character.

    [
      {
        "path": "pkg/app.py",          // relative to the repository root, '/' separators
        "line": 12, "column": 5,
        "end_line": 12, "end_column": 6,
        "code": "RR101",
        "message": "parameter `s` looks like a sqlalchemy Session",
        "severity": "error" | "warning" | "info",
        "confidence": 0.93,            // 0..1, rounded to 4 places
        "pack": "sqlalchemy" | null,   // the language pack behind the finding
        "fix": null | {
          "message": "annotate `s: Session`",
          "edits": [                   // against the file as checked; applied together
            {"start": {"line": 12, "column": 5}, "end": {"line": 12, "column": 6},
             "content": "s: Session"}
          ]
        },
        "data": {...},                 // check-specific facts (e.g. "parameter", "callee")
        "fingerprint": "3f2a9c0e1b7d4a65"  // 16 hex digits, stable across unrelated edits
      }
    ]
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from remora_review.output import Report


def format_json(report: Report) -> str:
    items = [finding.to_json(fp) for finding, fp in report.sorted_pairs()]
    return json.dumps(items, indent=2, ensure_ascii=False) + "\n"
