"""A review's request and answer as JSON, for the warm server: the ChangeSet and settings that go
in, the Review that comes back, each rebuilt exactly (tuples stay tuples, floats keep every bit).

Standard library only on the hook's side: the hook decodes a Review without importing pydantic,
libcst or numpy. Anything the encoder does not know is a TypeError, so a value that could not
make the trip exactly fails the request (the hook then reviews in its own process) instead of
coming back changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from remora_review.changes import ChangedFile, ChangeSet
from remora_review.config_file import CheckedSettings, CoreSettings, PreSettings
from remora_review.findings import Edit, Finding, Fix, Severity
from remora_review.sources import Skipped, SourceFile

if TYPE_CHECKING:
    from remora_review.review import Review


def encode_changes(changes: ChangeSet) -> dict[str, Any]:
    return {
        "root": str(changes.root),
        "files": [{
            "path": f.path, "status": f.status, "old_path": f.old_path,
            "added_lines": sorted(f.added_lines), "hunk_lines": sorted(f.hunk_lines),
            "whole_file": f.whole_file, "object_id": f.object_id, "mode": f.mode,
        } for f in changes.files],
        "base": changes.base, "head": changes.head, "description": changes.description,
        "source_rev": changes.source_rev, "explicit": sorted(changes.explicit),
    }


def decode_changes(raw: Mapping[str, Any]) -> ChangeSet:
    files = tuple(ChangedFile(
        f["path"], f["status"], f["old_path"], frozenset(f["added_lines"]),
        frozenset(f["hunk_lines"]), f["whole_file"], f["object_id"], f["mode"],
    ) for f in raw["files"])
    return ChangeSet(Path(raw["root"]), files, raw["base"], raw["head"], raw["description"],
                     raw["source_rev"], frozenset(raw["explicit"]))


def encode_settings(settings: PreSettings) -> dict[str, Any]:
    """CoreSettings field by field; a validated Settings as pydantic dumps it (validated again
    on the other side, which gives the same value)."""
    if isinstance(settings, CoreSettings):
        return {"core": {f.name: getattr(settings, f.name) for f in fields(settings)}}
    if isinstance(settings, CheckedSettings):
        return {"settings": dict(settings.dump)}
    from remora_review.config_file import validated

    return {"settings": validated(settings).model_dump(mode="json")}


def decode_settings(raw: Mapping[str, Any]) -> PreSettings:
    if "core" in raw:
        core = raw["core"]
        values: dict[str, Any] = {f.name: tuple(core[f.name]) if isinstance(core[f.name], list)
                                  else core[f.name] for f in fields(CoreSettings)}
        return CoreSettings(**values)
    from remora_review.config import Settings

    return Settings.model_validate(raw["settings"])


# Containers are tagged so that they come back as the type they left as.
def _encode_value(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, tuple):
        return {"t": [_encode_value(v) for v in value]}
    if isinstance(value, list):
        return {"l": [_encode_value(v) for v in value]}
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return {"d": {k: _encode_value(v) for k, v in value.items()}}
    raise TypeError(f"a finding's data holds {type(value).__name__}, which JSON cannot carry")


def _decode_value(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    if "t" in value:
        return tuple(_decode_value(v) for v in value["t"])
    if "l" in value:
        return [_decode_value(v) for v in value["l"]]
    return {k: _decode_value(v) for k, v in value["d"].items()}


def _encode_finding(f: Finding) -> dict[str, Any]:
    fix = None if f.fix is None else {
        "message": f.fix.message,
        "edits": [[e.start_line, e.start_col, e.end_line, e.end_col, e.content]
                  for e in f.fix.edits],
    }
    return {
        "path": f.path, "line": f.line, "col": f.col, "end_line": f.end_line,
        "end_col": f.end_col, "code": f.code, "message": f.message,
        "severity": f.severity.value, "confidence": f.confidence, "pack": f.pack, "fix": fix,
        "data": _encode_value(f.data),
        "related": None if f.related is None else list(f.related),
    }


def _decode_finding(raw: Mapping[str, Any]) -> Finding:
    fix = None if raw["fix"] is None else Fix(
        raw["fix"]["message"], tuple(Edit(*e) for e in raw["fix"]["edits"]))
    related = raw["related"]
    return Finding(
        raw["path"], raw["line"], raw["col"], raw["end_line"], raw["end_col"], raw["code"],
        raw["message"], Severity(raw["severity"]), raw["confidence"], raw["pack"], fix,
        _decode_value(raw["data"]), None if related is None else (related[0], related[1]),
    )


def encode_review(review: Review) -> dict[str, Any]:
    from remora_review.review import Checked

    files: list[dict[str, Any]] = []
    for f in review.files:
        if isinstance(f, Checked):
            s = f.source
            files.append({"checked": {
                "path": f.path,
                "source": {"path": s.path, "text": s.text, "newline": s.newline, "bom": s.bom},
                "packs": list(f.packs),
                "findings": [[_encode_finding(r.finding), r.fingerprint] for r in f.findings],
                "fixed_source": f.fixed_source, "fixes_applied": f.fixes_applied,
                "fixable": f.fixable,
            }})
        else:
            files.append({"skipped": {"path": f.path, "reason": f.reason}})
    return {"files": files, "notes": list(review.notes), "packs": list(review.packs)}


def decode_review(raw: Mapping[str, Any], changes: ChangeSet) -> Review:
    """The Review the server sent, for the ChangeSet the request carried."""
    from remora_review.review import Checked, FileReview, Review, Reviewed

    files: list[FileReview] = []
    for f in raw["files"]:
        if "skipped" in f:
            files.append(Skipped(f["skipped"]["path"], f["skipped"]["reason"]))
            continue
        c = f["checked"]
        s = c["source"]
        files.append(Checked(
            c["path"], SourceFile(s["path"], s["text"], s["newline"], s["bom"]),
            tuple(c["packs"]),
            tuple(Reviewed(_decode_finding(finding), fp) for finding, fp in c["findings"]),
            c["fixed_source"], c["fixes_applied"], c["fixable"],
        ))
    return Review(changes, tuple(files), tuple(raw["notes"]), tuple(raw["packs"]))
