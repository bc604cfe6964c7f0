"""Where remora-review keeps the user's packs and caches (the XDG base directories).

Standard library only: the hook's no-pack path reads its caches from here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def default_cache_root(environ: Mapping[str, str] = os.environ) -> Path:
    """Extracted packs; its parent holds the small caches (settings, entry points, triggers)."""
    return _xdg(environ, "XDG_CACHE_HOME", ".cache") / "remora-review" / "packs"


def default_onnx_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """ONNX exports of the embedding models the warm server loaded (retrieval/onnx_export.py)."""
    return default_cache_root(environ).parent / "onnx"


def default_install_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """Packs the user installed with `remora-review pack install`."""
    return _xdg(environ, "XDG_DATA_HOME", ".local/share") / "remora-review" / "packs"


def _xdg(environ: Mapping[str, str], var: str, fallback: str) -> Path:
    value = environ.get(var, "")
    if value and os.path.isabs(value):  # the XDG spec says relative values are to be ignored
        return Path(value)
    home = environ.get("HOME")
    return (Path(home) if home else Path.home()) / fallback
