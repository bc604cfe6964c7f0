"""transformers + peft: one base model with every pack's LoRA adapter loaded, swapped per request.

The laptop backend: CPU, one request at a time, requests grouped by adapter so each group costs
one `set_adapter`. Structured output is a constrained logits processor from xgrammar, the grammar
engine vLLM uses by default, so both backends accept and refuse the same tokens.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from remora_review.errors import UserError
from remora_review.generate.base import (
    Adapter,
    Generation,
    GenerationRequest,
    OutputShape,
    check_adapters,
    cut_at_stop,
    unknown_adapter,
)

_INSTALL = "pip install 'remora-review[generate]'"


class TransformersGenerator:
    def __init__(
        self,
        model: str,
        adapters: Sequence[Adapter] = (),
        *,
        gguf_file: str | None = None,
        device: str = "cpu",
        dtype: str = "auto",  # float32 on CPU, where half precision is slow or missing
    ) -> None:
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError:
            raise UserError(f"the transformers generator needs transformers and peft: {_INSTALL}") from None
        self._adapters = check_adapters(adapters)
        extra = {"gguf_file": gguf_file} if gguf_file else {}
        if dtype == "auto":
            dtype = "float32" if device == "cpu" else "bfloat16"
        try:
            self._tokenizer: Any = AutoTokenizer.from_pretrained(model, **extra)
            base: Any = AutoModelForCausalLM.from_pretrained(
                model, dtype=getattr(torch, dtype), **extra
            )
        except OSError as e:  # a missing directory, or a hub id that cannot be fetched here
            raise UserError(f"cannot load the generator model {model!r}: {e}") from None
        self._model: Any = base.to(device).eval()
        self._device = device
        self._active: str | None = None
        self._grammars: dict[OutputShape, Any] = {}
        if self._adapters:
            self._model = _with_adapters(base, list(self._adapters.values())).eval()
            self._active = next(iter(self._adapters))

    @property
    def model(self) -> Any:
        """The (peft-wrapped) model: for measurements and training code that shares it."""
        return self._model

    @property
    def tokenizer(self) -> Any:
        return self._tokenizer

    def load_adapter(self, adapter: Adapter) -> None:
        """Add one more pack's adapter (the first one wraps the model in peft)."""
        self._adapters = check_adapters([*self._adapters.values(), adapter])
        if len(self._adapters) == 1:
            self._model = _with_adapters(self._model, [adapter]).eval()
            self._active = adapter.name
        else:
            self._model.load_adapter(str(adapter.path), adapter_name=adapter.name)

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        for request in requests:
            if request.adapter is not None and request.adapter not in self._adapters:
                raise unknown_adapter(request, self._adapters)
        out: list[Generation | None] = [None] * len(requests)
        # Grouped by adapter: one swap per group, not one per request.
        order = sorted(range(len(requests)), key=lambda i: requests[i].adapter or "")
        for i in order:
            with self._using(requests[i].adapter):
                out[i] = self._one(requests[i])
        return [g for g in out if g is not None]

    def close(self) -> None:
        self._model = None
        self._grammars.clear()

    @contextlib.contextmanager
    def _using(self, adapter: str | None) -> Iterator[None]:
        if adapter is None:
            if self._adapters:
                with self._model.disable_adapter():
                    yield
            else:
                yield
            return
        if adapter != self._active:
            self._model.set_adapter(adapter)
            self._active = adapter
        yield

    def _one(self, request: GenerationRequest) -> Generation:
        import torch
        from transformers import GenerationConfig, LogitsProcessorList

        if isinstance(request.prompt, str):
            ids = self._tokenizer(request.prompt, return_tensors="pt").input_ids
        else:
            ids = torch.tensor([list(request.prompt)], dtype=torch.long)
        ids = ids.to(self._device)
        eos = self._model.generation_config.eos_token_id
        if eos is None:
            eos = self._tokenizer.eos_token_id
        config = GenerationConfig(
            do_sample=False,
            max_new_tokens=request.max_tokens,
            eos_token_id=None if request.ignore_eos else eos,
            pad_token_id=self._tokenizer.pad_token_id if self._tokenizer.pad_token_id is not None
            else eos if isinstance(eos, int) else 0,
            stop_strings=list(request.stop) or None,
        )
        processors = LogitsProcessorList()
        if request.shape is not None:
            processors.append(self._constraint(request.shape))
        with torch.inference_mode():
            output = self._model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                generation_config=config,
                logits_processor=processors,
                tokenizer=self._tokenizer,
            )
        new = tuple(int(t) for t in output[0, ids.shape[1]:])
        text: str = self._tokenizer.decode(
            [t for t in new if t not in _as_set(eos)] if not request.ignore_eos else list(new),
            skip_special_tokens=True,
        )
        return Generation(cut_at_stop(text, request.stop), new)

    def _constraint(self, shape: OutputShape) -> Any:
        try:
            import xgrammar as xgr
        except ImportError:
            raise UserError(
                "structured output needs xgrammar: pip install 'remora-review[structured]'"
            ) from None
        compiled = self._grammars.get(shape)
        if compiled is None:
            info = xgr.TokenizerInfo.from_huggingface(
                self._tokenizer, vocab_size=self._model.config.vocab_size
            )
            compiler = xgr.GrammarCompiler(info)
            if shape.schema_text is not None:
                compiled = compiler.compile_json_schema(
                    shape.schema_text, any_whitespace=False, separators=(",", ":")
                )
            else:
                assert shape.grammar is not None  # an OutputShape holds one of the two
                compiled = compiler.compile_grammar(shape.grammar)
            self._grammars[shape] = compiled
        return xgr.contrib.hf.LogitsProcessor(compiled)  # stateful: a fresh one per request


def _with_adapters(base: Any, adapters: list[Adapter]) -> Any:
    try:
        from peft import PeftModel
    except ImportError:
        raise UserError(f"LoRA adapters need peft: {_INSTALL}") from None
    first, *rest = adapters
    model = PeftModel.from_pretrained(base, str(first.path), adapter_name=first.name)
    for adapter in rest:
        model.load_adapter(str(adapter.path), adapter_name=adapter.name)
    model.set_adapter(first.name)
    return model


def _as_set(eos: int | list[int] | None) -> set[int]:
    if eos is None:
        return set()
    return {eos} if isinstance(eos, int) else set(eos)

