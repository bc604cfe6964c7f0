"""Tiny random Llama-shaped models and a tiny BPE tokenizer, built here (no hub), for the backends.

Shaped for the CPU build of vLLM too: head_dim 64 (it refuses 16), float32. The builders are plain
functions so bench/bench_generate.py can build the same models.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
VLLM_PYTHON = ROOT / ".venv-vllm" / "bin" / "python"

# Code the tokenizer learns its merges from, and the adapters' training text in tests.
CORPUS = [
    "def add(session, user):\n    session.add(user)\n    session.commit()\n",
    "async def fetch(client, url):\n    response = await client.get(url, timeout=10)\n    return response.json()\n",
    "from sqlalchemy import select\nstmt = select(User).where(User.id == user_id)\n",
    "with Session(engine) as session:\n    user = session.scalars(stmt).first()\n",
    "@app.get('/items/{item_id}')\nasync def read_item(item_id: int) -> dict:\n    return {'id': item_id}\n",
    'import httpx\nwith httpx.Client(base_url="https://example.invalid") as client:\n    client.post("/x")\n',
    "class Repository:\n    def __init__(self, session):\n        self.session = session\n",
    '{"ok": true, "reason": "it parses"}\n',
]
SPECIALS = ["<unk>", "<s>", "</s>", "<pad>"]


def build_tokenizer(out: Path, vocab_size: int = 384) -> Any:
    """A byte-level BPE tokenizer trained on CORPUS, saved as tokenizer.json beside its config."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS * 4, trainer)
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )
    wrapped.save_pretrained(str(out))
    return wrapped


def build_model(out: Path, seed: int = 0, vocab_size: int = 384, max_positions: int = 512) -> Path:
    """A random 2-layer Llama (hidden 128, 2 heads of 64) with the tiny tokenizer, in float32."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    tokenizer = build_tokenizer(out, vocab_size)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        head_dim=64,
        max_position_embeddings=max_positions,
        # Wider than the default 0.02: peaked logits, so greedy choices are not near-ties that
        # two correct kernels could break differently.
        initializer_range=0.2,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).to(torch.float32)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model.save_pretrained(str(out))
    return out


def build_adapter(model_dir: Path, out: Path, seed: int, rank: int = 8) -> Path:
    """A random LoRA on every linear layer (init_lora_weights=False: it changes the output)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
    torch.manual_seed(seed)
    config = LoraConfig(
        r=rank, lora_alpha=2 * rank, target_modules="all-linear", init_lora_weights=False
    )
    model = get_peft_model(base, config)
    model.save_pretrained(str(out))
    return out


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_model(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def long_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny random Llama with room for a generated fix's whole prompt (~700 of its tokens)."""
    return build_model(tmp_path_factory.mktemp("tiny-llama-long"), max_positions=2048)


@pytest.fixture(scope="session")
def tiny_adapters(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("adapters")
    return {
        "sqlalchemy": build_adapter(tiny_model, root / "sqlalchemy", seed=1),
        "httpx": build_adapter(tiny_model, root / "httpx", seed=2),
    }


@pytest.fixture(scope="session")
def vllm_python() -> Path:
    """The .venv-vllm interpreter (scripts/bootstrap-vllm); missing is a failure in CI."""
    if VLLM_PYTHON.exists():
        return VLLM_PYTHON
    message = f"{VLLM_PYTHON} is missing: run scripts/bootstrap-vllm"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _no_server_left(tmp_path: Path) -> Iterator[None]:
    """The generated-fix tests review with XDG_RUNTIME_DIR at tmp_path/run, and a review with
    packs active starts a server there: it is stopped with the test."""
    yield
    from tests.integration.conftest import stop_server_in

    stop_server_in(tmp_path / "run")
