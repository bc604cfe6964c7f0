"""`remora-train lora` on the tiny Llama: golden snippets from installed httpx, an adapter that lowers
held-out perplexity, shipped in a pack that verifies and that the peft backend serves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from remora_review.errors import UserError
from remora_review.generate.base import Adapter, GenerationRequest
from remora_review.packs.loader import load_pack
from remora_review.train.golden import golden_snippets, split_held_out
from remora_review.train.mining import library_units

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
