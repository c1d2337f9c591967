"""How the llama.cpp backend's options turn into engine settings."""

from __future__ import annotations

import pytest

from parley.backends.llama_cpp.backend import LlamaCppOptions, _flash_attention


def test_flash_attention_auto_is_off_on_the_cpu() -> None:
    # bench/RESULTS.md (issue #7): on the CPU, llama.cpp's flash-attention kernel makes a
    # new turn over a long cached conversation about 3x slower to prefill.
    assert _flash_attention(LlamaCppOptions()) is False


def test_flash_attention_auto_is_llama_cpps_choice_with_gpu_layers() -> None:
    assert _flash_attention(LlamaCppOptions(n_gpu_layers=99)) is None


@pytest.mark.parametrize(("setting", "expected"), [("on", True), ("off", False)])
@pytest.mark.parametrize("gpu_layers", [0, 99])
def test_flash_attention_set_explicitly_is_kept(
    setting: str, expected: bool, gpu_layers: int
) -> None:
    options = LlamaCppOptions.model_validate(
        {"flash_attention": setting, "n_gpu_layers": gpu_layers}
    )
    assert _flash_attention(options) is expected
