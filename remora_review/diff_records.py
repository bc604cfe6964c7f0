"""The records of `git diff --raw -z`: status, paths, the new side's blob id and mode.

Standard library only: the hook's no-pack path reads them too (no_pack.py).
"""

from __future__ import annotations

NULL_ID = "0" * 40
_STATUS = {"A": "added", "M": "modified", "T": "modified", "U": "modified", "X": "modified",
           "B": "modified", "R": "renamed", "C": "copied", "D": "deleted"}


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def parse_raw(raw: bytes) -> list[tuple[str, str, str | None, str | None, str]]:
    """`git diff --raw -z` → [(status, path, old_path, new blob id or None, new mode)]."""
    fields = raw.split(b"\0")
    if fields and fields[-1] == b"":
        fields.pop()
    out: list[tuple[str, str, str | None, str | None, str]] = []
    i = 0
    while i < len(fields):
        # ":old_mode new_mode old_id new_id STATUS[score]"
        meta = _decode(fields[i]).lstrip(":").split()
        letter = meta[4][:1] if len(meta) == 5 else ""
        status = _STATUS.get(letter, "modified")
        new_id = meta[3] if len(meta) == 5 and meta[3] != NULL_ID else None
        new_mode = meta[1] if len(meta) == 5 else ""
        if letter in ("R", "C"):
            out.append((status, _decode(fields[i + 2]), _decode(fields[i + 1]), new_id, new_mode))
            i += 3
        else:
            out.append((status, _decode(fields[i + 1]), None, new_id, new_mode))
            i += 2
    return out
