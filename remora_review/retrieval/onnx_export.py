"""Export a loaded sentence-transformers model to ONNX for retrieval/onnx_model.py: done by the warm
server once per model, while it is idle, and kept only when onnxruntime gives the same vectors
as sentence-transformers on a set of probe texts.

Needs torch (already imported: the model is loaded) and onnx; only the server imports this.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from remora_review.atomic import atomic_directory
from remora_review.retrieval.onnx_model import (
    CONFIG_NAME,
    MODEL_NAME,
    TOKENIZER_NAME,
    OnnxSentenceModel,
    Pipeline,
)

# Texts of the kinds the review embeds (usage profiles, docstrings, code), short and long.
PROBES = (
    "s: add, commit, execute, flush",
    "parameter `session` calls add(user), commit(); passed to refresh_token(session, ...)",
    "Create a new :class:`.Session` bound to the given engine. " * 12,
    "def handler(request):\n    body = await request.json()\n    return JSONResponse(body)\n",
    "",
    "ünïcödé ✓ 中文",
)
TOLERANCE = 1e-4  # largest difference allowed in any component of a unit vector


def export_onnx(model: Any, model_dir: Path, identity: str, target: Path) -> str | None:
    """Write the export of `model` (loaded from `model_dir`) to `target`; None when it is there,
    else why not (a model of another shape, onnx missing, vectors that differ), and nothing is
    left behind."""
    try:
        return _export(model, model_dir, identity, target)
    except _NotExported as e:
        return str(e)


def _export(model: Any, model_dir: Path, identity: str, target: Path) -> str | None:
    shape = _pipeline_shape(model, model_dir)
    if isinstance(shape, str):
        return shape
    max_seq_length, normalize = shape
    try:
        import torch
    except ImportError:
        return "torch is not installed"
    encoder = model[0].auto_model
    names = ("input_ids", "attention_mask", "token_type_ids")
    inputs = tuple(n for n in names if n in _forward_parameters(encoder))

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, *tensors: Any) -> Any:
            return self.encoder(**dict(zip(inputs, tensors))).last_hidden_state

    sample = {n: torch.ones((2, 8), dtype=torch.long) for n in inputs}
    pipeline = Pipeline(max_seq_length, normalize, inputs, identity)
    with atomic_directory(target) as tmp:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the tracer's notes on shapes, not the user's
                torch.onnx.export(
                    Encoder().eval(), tuple(sample[n] for n in inputs), str(tmp / MODEL_NAME),
                    input_names=list(inputs), output_names=["last_hidden_state"],
                    dynamic_axes={n: {0: "batch", 1: "tokens"}
                                  for n in (*inputs, "last_hidden_state")},
                    opset_version=17, dynamo=False)
        except Exception as e:  # onnx missing, an operator the exporter lacks: no export
            raise _NotExported(f"the ONNX export failed ({str(e).splitlines()[0]})") from None
        shutil.copyfile(model_dir / TOKENIZER_NAME, tmp / TOKENIZER_NAME)
        try:
            exported = OnnxSentenceModel(tmp, pipeline)
        except Exception as e:  # onnxruntime or tokenizers missing, or refusing the file
            raise _NotExported(f"onnxruntime cannot run it ({str(e).splitlines()[0]})") from None
        want = np.asarray(model.encode(list(PROBES), convert_to_numpy=True), dtype=np.float32)
        got = exported.encode(list(PROBES))
        worst = float(np.abs(want - got).max())
        if worst > TOLERANCE:
            raise _NotExported(f"onnxruntime's vectors differ from sentence-transformers' by {worst:.2g}")
        (tmp / CONFIG_NAME).write_text(pipeline.to_json(), "utf-8")
    return None


class _NotExported(Exception):
    pass


def _pipeline_shape(model: Any, model_dir: Path) -> tuple[int, bool] | str:
    """(max_seq_length, normalize) for a Transformer → mean Pooling → [Normalize] model whose
    directory has a fast tokenizer's tokenizer.json; else why it cannot be exported."""
    modules = list(model)
    kinds = [type(m).__name__ for m in modules]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        return f"its modules are {', '.join(kinds)}"
    pooling = modules[1].get_config_dict()
    if pooling.get("pooling_mode") != "mean" or not pooling.get("include_prompt", True):
        return f"its pooling is {pooling.get('pooling_mode')}"
    if getattr(modules[0], "do_lower_case", False):
        return "it lower-cases outside its tokenizer"
    if not (model_dir / TOKENIZER_NAME).is_file():
        return f"{model_dir} has no {TOKENIZER_NAME}"
    return int(modules[0].max_seq_length), len(modules) == 3


def _forward_parameters(encoder: Any) -> set[str]:
    import inspect

    return set(inspect.signature(encoder.forward).parameters)
