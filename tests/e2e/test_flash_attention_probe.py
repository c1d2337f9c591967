"""``flash_attention = "auto"`` on the CPU: both settings timed once, the choice kept.

The probe runs the bundled model for real; what it finds depends on the CPU and on the
machine's load, so the first test checks that it measured both settings and how much
of the CPU it had. The others check what ``choose`` does with a measurement (keep it,
or not on a busy machine) with the measurement given, since a real one cannot be made
to come out either way on demand.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from parley.backends.common.gguf import LlamaModel, resolve_gguf
from parley.backends.llama_cpp import attention
from parley.backends.llama_cpp.attention import Measurement
from parley.backends.llama_cpp.engine import EngineConfig

pytestmark = pytest.mark.slow
CONFIG = EngineConfig(slots=4, ctx_per_slot=2048, n_threads=2)


@pytest.fixture(scope="module")
def model() -> Iterator[LlamaModel]:
    loaded = LlamaModel(resolve_gguf("bundled:smollm2"))
    yield loaded
    loaded.close()


def test_both_settings_are_timed_on_the_model(model: LlamaModel) -> None:
    found = attention.measure(model, CONFIG)
    assert found.on_ms > 0 and found.off_ms > 0
    assert 0 < found.share <= 1.5  # OpenMP threads spin: about 1.0 on a quiet machine


def given(monkeypatch: pytest.MonkeyPatch, *results: Measurement) -> list[Measurement]:
    """``attention.measure`` answers ``results`` in turn; the list left shows how many."""
    left = list(results)

    def measured(*_: object) -> Measurement:
        assert left, "measured again"
        return left.pop(0)

    monkeypatch.setattr(attention, "measure", measured)
    return left


def test_the_faster_setting_is_chosen_and_remembered(
    model: LlamaModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gguf, store = resolve_gguf("bundled:smollm2"), tmp_path / "choices.json"
    given(monkeypatch, Measurement(on_ms=90.0, off_ms=120.0, share=0.97))
    assert attention.choose(model, gguf, CONFIG, store) is True
    assert attention.choose(model, gguf, CONFIG, store) is True  # not measured again
    other = EngineConfig(slots=2, ctx_per_slot=2048, n_threads=2)
    given(monkeypatch, Measurement(on_ms=130.0, off_ms=120.0, share=1.0))
    assert attention.choose(model, gguf, other, store) is False
    kept = attention._read(store)
    assert kept[attention.probe_key(gguf, CONFIG)]["on"] is True
    assert kept[attention.probe_key(gguf, other)] == {"on": False, "on_ms": 130.0, "off_ms": 120.0}


def test_a_busy_machine_decides_for_one_process_only(
    model: LlamaModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gguf, store = resolve_gguf("bundled:smollm2"), tmp_path / "choices.json"
    left = given(
        monkeypatch,
        Measurement(on_ms=200.0, off_ms=120.0, share=0.5),
        Measurement(on_ms=90.0, off_ms=120.0, share=0.95),
    )
    assert attention.choose(model, gguf, CONFIG, store) is False
    assert attention.choose(model, gguf, CONFIG, store) is False  # this process: kept
    assert not store.exists()
    attention._THIS_PROCESS.clear()  # as a new process would start
    assert attention.choose(model, gguf, CONFIG, store) is True
    assert left == [] and attention.probe_key(gguf, CONFIG) in attention._read(store)


def test_the_key_names_what_the_choice_depends_on(tmp_path: Path) -> None:
    gguf = resolve_gguf("bundled:smollm2")
    key = attention.probe_key(gguf, CONFIG)
    assert attention.probe_key(gguf, EngineConfig(slots=4, ctx_per_slot=4096, n_threads=2)) == key
    assert attention.probe_key(gguf, EngineConfig(slots=8, ctx_per_slot=2048, n_threads=2)) == key
    assert attention.probe_key(gguf, EngineConfig(slots=2, ctx_per_slot=2048, n_threads=2)) != key
    assert attention.probe_key(gguf, EngineConfig(slots=4, ctx_per_slot=2048, n_threads=1)) != key
    other = tmp_path / "other.gguf"
    other.write_bytes(b"GGUF")
    assert attention.probe_key(other, CONFIG) != key


def test_an_unwritable_store_still_serves(
    model: LlamaModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    given(monkeypatch, Measurement(on_ms=90.0, off_ms=120.0, share=1.0))
    store = blocked / "choices.json"
    assert attention.choose(model, resolve_gguf("bundled:smollm2"), CONFIG, store) is True
    assert not store.exists()


def test_a_failing_probe_serves_with_it_off(
    model: LlamaModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fails(*_: object) -> Measurement:
        raise RuntimeError("llama_decode returned 1 in the flash-attention probe")

    monkeypatch.setattr(attention, "measure", fails)
    store = tmp_path / "choices.json"
    assert attention.choose(model, resolve_gguf("bundled:smollm2"), CONFIG, store) is False
    assert not store.exists()


def test_a_damaged_entry_is_measured_again(
    model: LlamaModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gguf, store = resolve_gguf("bundled:smollm2"), tmp_path / "choices.json"
    store.write_text(f'{{"{attention.probe_key(gguf, CONFIG)}": {{"on_ms": 3}}}}')
    given(monkeypatch, Measurement(on_ms=90.0, off_ms=120.0, share=1.0))
    assert attention.choose(model, gguf, CONFIG, store) is True
