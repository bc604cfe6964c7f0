"""Write the policies and rewrites of packs/sources/ into the first-party packs, in place.

Run from the repository root: python scripts/refresh_pack_rules.py [--only NAME ...]

Policies without semantic context and `rewrites` entries are manifest data only: the index does
not embed them, so a full `scripts/build_packs.py` would mine and embed again only to produce the
same index. This rewrites the manifest's `policies` and `rewrites` from the sources (as
scripts/build_packs.py passes them), then the hashes and the deterministic zip, and refuses a
policy with context examples (those are embedded: rebuild the pack).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from remora_review.packs.archive import finalize_pack, write_manifest, write_pack  # noqa: E402
from remora_review.packs.loader import load_pack, read_manifest  # noqa: E402
from remora_review.packs.manifest import Manifest  # noqa: E402
from scripts.build_packs import specs  # noqa: E402

LIBRARY_PACKS = ("sqlalchemy", "httpx", "fastapi")


def refresh(name: str, pack: Path) -> bool:
    """Rewrite one pack's rules from its sources; False when it already held them."""
    spec = specs()[name]
    if any(p.context_examples for p in spec.policies):
        raise SystemExit(f"{name}: a policy with context examples is embedded; rebuild the pack")
    before = load_pack(pack)
    if before.manifest.policies == spec.policies and before.manifest.rewrites == spec.rewrites:
        return False
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "pack"
        with zipfile.ZipFile(pack) as zf:
            zf.extractall(work)
        manifest = read_manifest(work)
        updated = Manifest.model_validate({**manifest.model_dump(),
                                           "policies": [p.model_dump() for p in spec.policies],
                                           "rewrites": [r.model_dump() for r in spec.rewrites]})
        write_manifest(updated, work / "manifest.toml")
        finalize_pack(work)
        write_pack(work, Path(tmp) / pack.name)
        load_pack(Path(tmp) / pack.name, cache_root=Path(tmp) / "cache")  # verifies
        (Path(tmp) / pack.name).replace(pack)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=LIBRARY_PACKS)
    args = parser.parse_args(argv)
    for name in args.only or LIBRARY_PACKS:
        pack = ROOT / "packs" / "remora_packs" / f"{name}.pack"
        print(f"{pack}: {'rules rewritten' if refresh(name, pack) else 'up to date'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
