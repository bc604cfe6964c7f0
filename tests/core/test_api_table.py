"""API tables on disk list each class's own members and load flattened over the MRO."""

from __future__ import annotations

import json
from pathlib import Path

from remora_review.api_table import ApiTable, ClassInfo, Member, Param

ROOT = Path(__file__).resolve().parents[2]


def _table() -> ApiTable:
    add = Member("add", "method", (Param("instance", "positional_or_keyword"),))
    close = Member("close", "method")
    async_close = Member("close", "method", is_async=True)
    base = ClassInfo("lib.Base", "lib._base.Base", (), {"add": add, "close": close})
    sync = ClassInfo("lib.Session", "lib._s.Session", ("lib.Base",),
                     {"add": add, "close": close, "commit": Member("commit", "method")})
    aio = ClassInfo("lib.AsyncSession", "lib._s.AsyncSession", ("lib.Session", "lib.Base"),
                    {"add": add, "close": async_close, "commit": Member("commit", "method")})
    # a subclass that hides an inherited member; a base outside the table
    odd = ClassInfo("lib.ReadOnly", "lib._s.ReadOnly", ("lib.Base", "lib._private.Mixin"),
                    {"close": close, "query": Member("query", "property")})
    return ApiTable("lib", "1.0", {c.name: c for c in (base, sync, aio, odd)})


def test_own_members_on_disk_flattened_on_load() -> None:
    table = _table()
    raw = table.to_json()
    assert sorted(raw["classes"]["lib.Session"]["members"]) == ["commit"]
    assert sorted(raw["classes"]["lib.AsyncSession"]["members"]) == ["close"]  # overridden
    assert raw["classes"]["lib.ReadOnly"]["hidden"] == ["add"]
    loaded = ApiTable.from_json(json.loads(json.dumps(raw)))
    for name, info in table.classes.items():
        assert dict(loaded.classes[name].members) == dict(info.members), name
    assert loaded.to_json() == raw


def test_a_flattened_table_loads_the_same() -> None:
    table = _table()
    flat = table.to_json()
    for name, info in table.classes.items():
        flat["classes"][name]["members"] = {k: {"name": m.name, "kind": m.kind,
                                                "params": [vars(p) for p in m.params],
                                                "is_async": m.is_async, "returns": m.returns}
                                            for k, m in info.members.items()}
        flat["classes"][name].pop("hidden", None)
    loaded = ApiTable.from_json(flat)
    assert {n: dict(c.members) for n, c in loaded.classes.items() if n != "lib.ReadOnly"} == {
        n: dict(c.members) for n, c in table.classes.items() if n != "lib.ReadOnly"}
