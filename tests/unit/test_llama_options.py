"""How the llama.cpp backend's options turn into engine settings."""

from __future__ import annotations

import pytest

from parley.backends.llama_cpp.backend import LlamaCppOptions, _flash_attention


@pytest.mark.parametrize("result", [True, False])
def test_flash_attention_auto_on_the_cpu_is_measured(result: bool) -> None:
    # The probe itself is tested on the model in tests/e2e/test_flash_attention_probe.py.
    asked: list[bool] = []

    def probe() -> bool:
        asked.append(result)
        return result

    assert _flash_attention(LlamaCppOptions(), probe) is result
    assert asked == [result]


def test_flash_attention_auto_is_llama_cpps_choice_with_gpu_layers() -> None:
    assert _flash_attention(LlamaCppOptions(n_gpu_layers=99), _never) is None


@pytest.mark.parametrize(("setting", "expected"), [("on", True), ("off", False)])
@pytest.mark.parametrize("gpu_layers", [0, 99])
def test_flash_attention_set_explicitly_is_kept(
    setting: str, expected: bool, gpu_layers: int
) -> None:
    options = LlamaCppOptions.model_validate(
        {"flash_attention": setting, "n_gpu_layers": gpu_layers}
    )
    assert _flash_attention(options, _never) is expected


def _never() -> bool:
    raise AssertionError("a set flash-attention setting was measured")
