"""How a file's bytes become the text the checks read: UTF-8 (a byte order mark allowed),
newlines made "\\n", and a NUL byte near the start taken for a binary file.

Standard library only: the hook's no-pack path decodes with it too (no_pack.py), so that it
reads a file exactly when the full path (sources.py) would.
"""

from __future__ import annotations

import codecs
import re

BINARY_PROBE = 8192  # bytes searched for a NUL
_NEWLINE = re.compile(r"\r\n|\r|\n")


def decode(data: bytes) -> tuple[str, str, bool] | str:
    """(the text with "\\n" newlines, the file's own first newline, whether it starts with a
    UTF-8 byte order mark), or why it is not read: "binary file", "not UTF-8"."""
    if b"\0" in data[:BINARY_PROBE]:
        return "binary file"
    bom = data.startswith(codecs.BOM_UTF8)
    try:
        text = data[len(codecs.BOM_UTF8) if bom else 0:].decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8"
    first = _NEWLINE.search(text)
    newline = first.group() if first else "\n"
    if "\r" in text:
        text = _NEWLINE.sub("\n", text)
    return text, newline, bom
