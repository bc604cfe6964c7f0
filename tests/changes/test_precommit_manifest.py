""".pre-commit-hooks.yaml is a valid pre-commit manifest with the two documented hooks."""

from __future__ import annotations

from pathlib import Path

from pre_commit.clientlib import load_manifest

MANIFEST = Path(__file__).resolve().parents[2] / ".pre-commit-hooks.yaml"


def test_manifest() -> None:
    hooks = {h["id"]: h for h in load_manifest(str(MANIFEST))}
    assert set(hooks) == {"remora-review", "remora-review-fix"}
    assert hooks["remora-review"]["entry"] == "remora-review check"
    assert hooks["remora-review-fix"]["entry"] == "remora-review check --fix"
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["types_or"] == ["python", "pyi"]
        assert hook["require_serial"] is True
