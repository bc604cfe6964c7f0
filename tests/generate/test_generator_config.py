"""`[tool.remora-review.generator]`: parsed into typed settings; mistakes are one-line errors."""

from __future__ import annotations

import pytest

from remora_review.config import parse_settings
from remora_review.errors import UserError


def test_no_generator_section_means_no_generator() -> None:
    assert parse_settings({}).generator is None


def test_a_vllm_generator_with_its_limits() -> None:
    settings = parse_settings({"generator": {
        "backend": "vllm", "model": "google/gemma-3-270m", "max-loras": 16, "max-cpu-loras": 32,
        "max-lora-rank": 16, "gpu-memory-utilization": 0.5, "max-model-len": 2048,
    }})
    generator = settings.generator
    assert generator is not None
    assert (generator.backend, generator.max_loras, generator.max_cpu_loras) == ("vllm", 16, 32)
    assert generator.max_tokens == 256  # greedy answers are short fixes; the default says so


@pytest.mark.parametrize(("table", "message"), [
    ({"backend": "openai", "model": "m"}, "generator: Value error, backend 'openai' needs server-url"),
    ({"backend": "vllm", "model": "m", "max-loras": 8, "max-cpu-loras": 4},
     "max-cpu-loras must be at least max-loras"),
    ({"backend": "tgi", "model": "m"}, "generator.backend: Input should be"),
    ({"backend": "vllm", "model": "m", "temperature": 0.7}, "unknown key [tool.remora-review] generator.temperature"),
    ({"backend": "vllm"}, "generator.model: Field required"),
])
def test_bad_generator_settings_are_one_line_errors(table: dict[str, object], message: str) -> None:
    with pytest.raises(UserError) as error:
        parse_settings({"generator": table})
    assert message in str(error.value) and "\n" not in str(error.value)
