"""The transformers + peft backend on a tiny random Llama with two random LoRA adapters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from remora_review.errors import UserError
from remora_review.generate.base import Adapter, GenerationRequest, OutputShape

PROMPT = "def add(session, user):\n"


@pytest.fixture(scope="module")
def generator(tiny_model: Path, tiny_adapters: dict[str, Path]):  # type: ignore[no-untyped-def]
    from remora_review.generate.transformers_backend import TransformersGenerator

    return TransformersGenerator(
        str(tiny_model), [Adapter(n, p) for n, p in sorted(tiny_adapters.items())]
    )


def _greedy_by_hand(model_dir: Path, adapter: Path | None, prompt_ids: list[int], n: int) -> list[int]:
    """Argmax decoding with a plain forward loop over the merged weights: a second opinion."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
    if adapter is not None:
        model = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    ids = list(prompt_ids)
    with torch.inference_mode():
        for _ in range(n):
            logits = model(torch.tensor([ids])).logits[0, -1]
            ids.append(int(logits.argmax()))
    return ids[len(prompt_ids):]


def test_each_adapter_answers_its_own_requests_and_matches_merged_weights(
    generator, tiny_model: Path, tiny_adapters: dict[str, Path]  # type: ignore[no-untyped-def]
) -> None:
    prompt = tuple(generator.tokenizer(PROMPT).input_ids)
    mixed = [
        GenerationRequest(prompt, adapter=name, max_tokens=12, ignore_eos=True)
        for name in ("httpx", None, "sqlalchemy", None, "httpx")
    ]
    out = generator.generate(mixed)
    tokens = {r.adapter: list(g.token_ids) for r, g in zip(mixed, out)}
    assert out[0] == out[4] and out[1] == out[3]  # answers stay in request order
    assert len({tuple(t) for t in tokens.values()}) == 3  # each adapter changes the output
    for adapter in (None, "sqlalchemy", "httpx"):
        path = tiny_adapters[adapter] if adapter else None
        assert tokens[adapter] == _greedy_by_hand(tiny_model, path, list(prompt), 12), adapter


def test_text_prompts_and_stop_strings(generator) -> None:  # type: ignore[no-untyped-def]
    [full] = generator.generate([GenerationRequest(PROMPT, max_tokens=16, ignore_eos=True)])
    assert full.text and len(full.token_ids) == 16
    stop = full.text.strip()[2:4]
    assert stop
    [cut] = generator.generate([GenerationRequest(PROMPT, max_tokens=16, stop=(stop,), ignore_eos=True)])
    assert cut.text == full.text[: full.text.index(stop)]


def test_json_schema_output_parses_even_from_a_random_model(generator) -> None:  # type: ignore[no-untyped-def]
    schema = {
        "type": "object",
        "properties": {"ok": {"type": "boolean"}, "kind": {"enum": ["fix", "skip"]}},
        "required": ["ok", "kind"],
        "additionalProperties": False,
    }
    shape = OutputShape(json_schema=schema)
    requests = [GenerationRequest(PROMPT, adapter=a, max_tokens=40, shape=shape)
                for a in (None, "httpx")]
    for generation in generator.generate(requests):
        answer = json.loads(generation.text)
        assert set(answer) == {"ok", "kind"}
        assert isinstance(answer["ok"], bool) and answer["kind"] in ("fix", "skip")
    [free] = generator.generate([GenerationRequest(PROMPT, max_tokens=40)])
    with pytest.raises(ValueError):  # without the constraint the same model writes no JSON
        json.loads(free.text)


def test_grammar_output(generator) -> None:  # type: ignore[no-untyped-def]
    shape = OutputShape(grammar='root ::= "session." ("add" | "commit") "()"')
    [g] = generator.generate([GenerationRequest(PROMPT, adapter="sqlalchemy", shape=shape)])
    assert g.text in ("session.add()", "session.commit()")


def test_an_unknown_adapter_is_a_user_error(generator) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UserError, match=r"no LoRA adapter named 'fastapi'.*httpx, sqlalchemy"):
        generator.generate([GenerationRequest(PROMPT, adapter="fastapi")])


def test_a_missing_model_or_adapter_is_a_user_error(tmp_path: Path, tiny_model: Path) -> None:
    from remora_review.generate.transformers_backend import TransformersGenerator

    with pytest.raises(UserError, match="cannot load the generator model"):
        TransformersGenerator(str(tmp_path / "nothing-here"))
    with pytest.raises(UserError, match=r"no adapter_config\.json"):
        TransformersGenerator(str(tiny_model), [Adapter("x", tmp_path)])
