"""`remora-train lora` on the tiny Llama: golden snippets from installed httpx, an adapter that lowers
held-out perplexity, shipped in a pack that verifies and that the peft backend serves."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from remora_review.errors import UserError
from remora_review.generate.base import Adapter, GenerationRequest
from remora_review.packs.loader import load_pack
from remora_review.train.golden import golden_snippets, split_held_out
from remora_review.train.mining import SourceUnit, library_units
from tests.generate.conftest import CORPUS

ROOT = Path(__file__).resolve().parents[2]
HTTPX_PACK = ROOT / "packs" / "remora_packs" / "httpx.pack"


def test_golden_snippets_are_documented_public_functions_called_elsewhere() -> None:
    snippets = golden_snippets(library_units(["httpx"]))
    assert len(snippets) >= 20
    by_name = {s.name: s for s in snippets}
    assert "Client.get" in by_name  # httpx.Client.get: documented, and called across httpx
    for s in snippets:
        short = s.name.split(".")[-1]
        assert not short.startswith("_") and s.callers >= 1
        assert s.text.startswith(f"# {s.file}: {s.name}\n# called as: ")
        assert '"""' in s.text or "'''" in s.text  # the docstring comes along
    assert [s.callers for s in snippets] == sorted((s.callers for s in snippets), reverse=True)
    train, held = split_held_out(snippets)
    assert train and held and not {s.file for s in train} & {s.file for s in held}
    assert not {s.code for s in train} & {s.code for s in held}


def test_a_function_copied_into_a_held_out_file_is_not_measured() -> None:
    """Two files hold the same function: whichever file is held out, that copy is left out of
    the held-out set (it would measure memory), and the held-out file's other function stays."""
    copied = 'def parse(text):\n    """Parse it."""\n    value = text.strip()\n    return value\n'
    own = 'def render(value):\n    """Render it."""\n    text = str(value)\n    return text\n'
    caller = "parse('x')\nrender(1)\n"
    units = [SourceUnit(f"pkg/m{i}.py", f"pkg.m{i}", "lib", text=copied + (own if i == 0 else ""))
             for i in range(12)] + [SourceUnit("pkg/use.py", "pkg.use", "lib", text=caller)]
    snippets = golden_snippets(units)
    train, held = split_held_out(snippets)
    held_files = {s.file for s in snippets} - {s.file for s in train}
    assert held_files and not {s.code for s in held} & {s.code for s in train}
    assert all(s.name == "render" for s in held)  # m0's own function, when m0 is held out
    assert bool(held) == ("pkg/m0.py" in held_files)


def test_held_out_perplexity_is_measured_on_the_held_out_texts_alone(
    tiny_model: Path, tmp_path: Path
) -> None:
    """The figures train_lora reports are those of the held-out texts, recomputed here with plain
    transformers + peft from the saved adapter; on the training texts the adapter does far better
    (it was fitted there), so figures taken from the training split would not match."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from remora_review.train.lora import LoraSettings, TrainingText, train_lora
    from remora_review.train.progress import RecordingProgress

    train_texts = [CORPUS[0], CORPUS[1], CORPUS[3], CORPUS[6]]
    held_texts = [CORPUS[2], CORPUS[5]]
    settings = LoraSettings(rank=4, alpha=8, steps=30, batch_size=2, max_length=64,
                            learning_rate=0.02)
    result = train_lora(str(tiny_model), [TrainingText(t) for t in train_texts], held_texts,
                        tmp_path / "adapter", RecordingProgress(), settings=settings)
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    base = AutoModelForCausalLM.from_pretrained(str(tiny_model), dtype=torch.float32)
    model = PeftModel.from_pretrained(base, str(tmp_path / "adapter")).eval()

    def ppl(texts: list[str]) -> tuple[float, int]:
        total, count = 0.0, 0
        with torch.inference_mode():
            for text in texts:
                ids = tokenizer(text, truncation=True, max_length=64, return_tensors="pt").input_ids
                n = ids.shape[1] - 1
                total += float(model(input_ids=ids, labels=ids).loss) * n
                count += n
        return math.exp(total / count), count

    held_adapter, held_tokens = ppl(held_texts)
    train_adapter, _ = ppl(train_texts)
    with model.disable_adapter():
        held_base, _ = ppl(held_texts)
        train_base, _ = ppl(train_texts)
    assert result.held_out_snippets == 2 and result.held_out_tokens == held_tokens
    assert result.perplexity_adapter == pytest.approx(held_adapter, rel=1e-4)
    assert result.perplexity_base == pytest.approx(held_base, rel=1e-4)
    assert train_adapter < 0.5 * train_base  # it learned its training texts...
    assert train_adapter < 0.5 * held_adapter  # ...far better than what it never saw


def test_a_prompted_example_keeps_its_answer_and_the_end_of_its_prompt(tiny_model: Path) -> None:
    from transformers import AutoTokenizer

    from remora_review.train.lora import TrainingText, encode

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    prompt = "".join(CORPUS) + "### Before\nx = session.query(User).all()\n### After\n"
    answer = "x = session.scalars(select(User)).all()\n### End\n"
    [row] = encode(tokenizer, [TrainingText(answer, prompt)], max_length=48)
    tail = tokenizer(answer, add_special_tokens=False).input_ids
    head = tokenizer(prompt).input_ids
    assert len(row.ids) == 48 and len(head) + len(tail) > 48
    assert row.ids[row.start:] == tail  # the loss is on the whole answer, and only on it
    bos = head[:1] if head[0] == tokenizer.bos_token_id else []  # Gemma's adds one, this does not
    assert row.ids[:row.start] == bos + head[-(row.start - len(bos)):]  # the prompt's end
    [plain] = encode(tokenizer, [TrainingText(prompt)], max_length=48)
    assert plain.ids == head[:48] and plain.start == 1


@pytest.fixture(scope="module")
def trained(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """(the .pack with its adapter, what remora-train printed)."""
    tmp = tmp_path_factory.mktemp("lora-pack")
    out = tmp / "httpx-lora.pack"
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp / "cache")}
    result = subprocess.run(
        [sys.executable, "-m", "remora_review.train.cli", "lora", "--pack", str(HTTPX_PACK),
         "--base-model", str(tiny_model), "--out", str(out), "--rank", "4", "--steps", "10",
         "--batch-size", "2", "--max-length", "64", "--learning-rate", "0.02",
         "--max-snippets", "120"],
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stderr
    return out, result.stderr


def test_a_trained_adapter_ships_in_the_pack_and_lowers_held_out_perplexity(
    trained: tuple[Path, str], tiny_model: Path, tmp_path: Path
) -> None:
    out, printed = trained
    assert "held-out perplexity" in printed
    pack = load_pack(out, cache_root=tmp_path / "packs")  # every file hashed and verified
    lora = pack.manifest.lora
    assert lora is not None and lora.rank == 4 and lora.base_model == str(tiny_model)
    assert lora.base_model_version.startswith("sha256:")
    assert lora.perplexity_adapter is not None and lora.perplexity_base is not None
    assert lora.perplexity_adapter < 0.8 * lora.perplexity_base
    # Measured on whole files that training never saw: the split of the same snippets.
    train, held = split_held_out(golden_snippets(library_units(["httpx"]), 120))
    assert lora.held_out_files == tuple(sorted({s.file for s in held}))
    assert not set(lora.held_out_files) & {s.file for s in train}
    assert lora.held_out_snippets == len(held) and lora.train_snippets == len(train)
    assert lora.held_out_tokens is not None and lora.held_out_tokens > 10 * len(held)
    assert f"({len(held)} snippets of {len(lora.held_out_files)} held-out files" in printed
    assert sorted(f for f in pack.manifest.files if f.startswith("lora/")) == [
        "lora/adapter_config.json", "lora/adapter_model.safetensors"]
    config = json.loads((pack.root / "lora" / "adapter_config.json").read_text())
    assert config["r"] == 4 and not config.get("modules_to_save")
    # Every linear layer of the decoder, and not the output head.
    assert {m.rsplit(".", 1)[-1] for m in config["target_modules"]} == {
        "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    # What was there before is all still there, unchanged.
    before = load_pack(HTTPX_PACK, cache_root=tmp_path / "packs")
    assert {k: v for k, v in pack.manifest.files.items() if not k.startswith("lora/")} == dict(
        before.manifest.files)

    from remora_review.generate.factory import pack_adapters
    from remora_review.generate.transformers_backend import TransformersGenerator

    [adapter] = pack_adapters({"httpx": pack})
    generator = TransformersGenerator(str(tiny_model), [adapter])
    prompt = "with httpx.Client() as client:\n    "
    base, tuned = generator.generate([
        GenerationRequest(prompt, max_tokens=12, ignore_eos=True),
        GenerationRequest(prompt, adapter="httpx", max_tokens=12, ignore_eos=True),
    ])
    assert base.token_ids != tuned.token_ids


def test_bad_lora_arguments_are_one_line_errors(tiny_model: Path, tmp_path: Path) -> None:
    from remora_review.train.cli import main

    common = ["lora", "--pack", str(HTTPX_PACK), "--base-model", str(tiny_model)]
    assert main([*common, "--out", str(tmp_path / "x.pack"), "--rank", "32"]) == 2
    assert main([*common, "--out", str(tmp_path / "x.zip")]) == 2
    assert main([*common, "--out", str(tmp_path / "x.pack"), "--repo", str(tmp_path / "nope")]) == 2
    assert not (tmp_path / "x.pack").exists()


def test_rank_above_16_is_refused() -> None:
    from remora_review.train.lora import LoraSettings

    with pytest.raises(UserError, match="between 1 and 16"):
        LoraSettings(rank=17)


def test_pack_adapters_names_each_adapter_by_its_pack(tmp_path: Path) -> None:
    from remora_review.generate.factory import pack_adapters, skipped_note

    plain = load_pack(HTTPX_PACK, cache_root=tmp_path)
    assert pack_adapters({"httpx": plain}) == []
    assert skipped_note(None, {"httpx": plain}) is None  # nothing would have used a generator
    assert Adapter("httpx", tmp_path).stable_id == Adapter("httpx", tmp_path).stable_id
    assert Adapter("httpx", tmp_path).stable_id != Adapter("sqlalchemy", tmp_path).stable_id


GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
}
# Activates the httpx pack; no parameter to infer, so the embedding model is never loaded.
CLIENT = "import httpx\n\nTIMEOUT = httpx.Timeout(5.0)\n"


def test_without_a_generator_the_review_runs_and_says_once_what_it_skipped(
    trained: tuple[Path, str], tiny_model: Path, tmp_path: Path
) -> None:
    pack, _ = trained
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {**os.environ, **GIT_ENV, "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "XDG_RUNTIME_DIR": str(tmp_path)}
    config = (f"[tool.remora-review]\npack-paths = [{json.dumps(str(pack))}]\n"
              "[tool.remora-review.embedding]\nserver = false\n")
    (repo / "pyproject.toml").write_text(config)
    (repo / "client.py").write_text(CLIENT)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True, check=False)

    run("git", "init", "-q", "-b", "main")
    run("git", "add", "-A")
    review = run(sys.executable, "-m", "remora_review.cli", "check", "--output-format", "json")
    assert review.returncode in (0, 1), review.stderr
    json.loads(review.stdout)  # the review itself ran as it does without a generator
    skipped = [line for line in review.stderr.splitlines() if "no generator is configured" in line]
    assert len(skipped) == 1 and "LoRA adapter of httpx" in skipped[0], review.stderr

    (repo / "pyproject.toml").write_text(
        config + f"[tool.remora-review.generator]\nbackend = \"transformers\"\n"
        f"model = {json.dumps(str(tiny_model))}\n")
    run("git", "add", "-A")
    configured = run(sys.executable, "-m", "remora_review.cli", "check", "--output-format", "json")
    assert configured.returncode in (0, 1), configured.stderr
    assert "no generator is configured" not in configured.stderr
