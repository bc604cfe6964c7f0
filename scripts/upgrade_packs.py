"""Upgrade format-1 packs to format 2 in place, keeping their indexes: api.json rewritten with
each class's own members (the same table once loaded), `names` named in the manifest, hashes
and the deterministic zip redone. No model is loaded and nothing is embedded again.

Run from the repository root: python scripts/upgrade_packs.py [PACK ...]
(default: the first-party packs in packs/remora_packs/).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from remora_review.api_table import ApiTable  # noqa: E402
from remora_review.packs.archive import finalize_pack, write_manifest, write_pack  # noqa: E402
from remora_review.packs.format import FORMAT_VERSION  # noqa: E402
from remora_review.packs.loader import MANIFEST, load_pack, parse_manifest  # noqa: E402
from remora_review.packs.manifest import Manifest  # noqa: E402


def upgrade(pack: Path) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "pack"
        with zipfile.ZipFile(pack) as zf:
            zf.extractall(work)
        raw = (work / MANIFEST).read_text("utf-8")
        old = _old_manifest(raw, str(pack))
        if old.format == FORMAT_VERSION:
            return f"{pack.name}: already format {FORMAT_VERSION}"
        if old.format != 1:
            raise SystemExit(f"{pack}: format {old.format}, only format 1 is upgraded here")
        api = work / old.api_table
        before = api.stat().st_size
        table = ApiTable.from_json(json.loads(api.read_text("utf-8")))
        api.write_bytes((json.dumps(table.to_json(), sort_keys=True, separators=(",", ":"))
                         + "\n").encode())
        names = "names.json" if (work / "names.json").is_file() else None
        write_manifest(Manifest.model_validate(
            {**old.model_dump(), "format": FORMAT_VERSION, "names": names}), work / MANIFEST)
        finalize_pack(work)
        write_pack(work, pack)
        # What a user loads: the upgraded pack verifies and its table is the same one.
        loaded = load_pack(pack, cache_root=Path(tmp) / "cache")
        if loaded.api_table.to_json() != table.to_json():
            raise SystemExit(f"{pack}: the upgraded table differs from the original")
        after = api.stat().st_size
        return f"{pack.name}: api.json {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB"


def _old_manifest(raw: str, where: str) -> Manifest:
    """A format-1 manifest read as format 2 (the fields are the same, `names` aside)."""
    fmt = next((line for line in raw.splitlines() if line.startswith("format = ")), "")
    version = int(fmt.split("=", 1)[1]) if fmt else 0
    text = raw.replace(fmt, f"format = {FORMAT_VERSION}", 1) if fmt else raw
    return parse_manifest(text.encode(), where).model_copy(update={"format": version})


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("packs", nargs="*", type=Path)
    args = parser.parse_args(argv)
    packs = args.packs or sorted((ROOT / "packs" / "remora_packs").glob("*.pack"))
    for pack in packs:
        start = time.perf_counter()
        line = upgrade(pack)
        print(f"{line} ({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
