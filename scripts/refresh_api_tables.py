"""Re-extract the API tables of the first-party library packs from the installed libraries, in place.

Run from the repository root: python scripts/refresh_api_tables.py [--only NAME ...]

For a change to what the API table records (remora_review/train/api_extract.py) that the index
does not read, a full `scripts/build_packs.py` would mine and embed again only to produce the
same index. This rewrites api.json the way the build writes it, then the hashes and the
deterministic zip, and refuses the result unless the index is still the one the new table gives:
the API documents built from the new table must equal those the pack ships. The installed
releases must be the ones the packs were built from (their manifests name them).
"""

from __future__ import annotations

import argparse
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
from remora_review.packs.archive import finalize_pack, write_pack  # noqa: E402
from remora_review.packs.loader import load_pack  # noqa: E402
from remora_review.train import api_extract  # noqa: E402
from remora_review.train.build import _api_json  # noqa: E402
from remora_review.train.documents import api_documents  # noqa: E402
from scripts.build_packs import specs  # noqa: E402

LIBRARY_PACKS = ("sqlalchemy", "httpx", "fastapi")


def refresh(name: str, pack: Path) -> str:
    spec = specs()[name]
    before = load_pack(pack)
    if api_extract.library_version(spec.library) != before.manifest.library.built_from:
        raise SystemExit(f"{pack}: built from {spec.library} {before.manifest.library.built_from}, "
                         f"installed is {api_extract.library_version(spec.library)}; rebuild it "
                         "with scripts/build_packs.py")
    old_docs = [d for d in before.documents if d.kind == "api"]
    table = api_extract.extract_api_table(spec.library, spec.modules, note=lambda _: None)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "pack"
        with zipfile.ZipFile(pack) as zf:
            zf.extractall(work)
        api = work / before.manifest.api_table
        api.write_bytes(_api_json(table))
        finalize_pack(work)
        write_pack(work, Path(tmp) / pack.name)
        after = load_pack(Path(tmp) / pack.name, cache_root=Path(tmp) / "cache")
        new_docs = api_documents(ApiTable.load(after.file(after.manifest.api_table)))
        if [(d.id, d.text) for d in new_docs] != [(d.id, d.text) for d in old_docs]:
            raise SystemExit(f"{pack}: the new table changes the index's API documents; rebuild "
                             "it with scripts/build_packs.py")
        (Path(tmp) / pack.name).replace(pack)
    notices = sum(1 for c in table.classes.values() for m in c.members.values() if m.deprecated)
    notices += sum(1 for f in table.functions.values() if f.deprecated)
    dynamic = sum(1 for c in table.classes.values() if "__getattr__" in c.members)
    return (f"{name}: {len(table.classes)} classes, {dynamic} with __getattr__, "
            f"{notices} deprecation notices")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=LIBRARY_PACKS)
    parser.add_argument("--pack-dir", type=Path, default=ROOT / "packs" / "remora_packs")
    args = parser.parse_args(argv)
    for name in args.only or LIBRARY_PACKS:
        start = time.perf_counter()
        line = refresh(name, args.pack_dir / f"{name}.pack")
        print(f"{line} ({time.perf_counter() - start:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
