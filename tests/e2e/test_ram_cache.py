"""Host-memory copies of slot KV caches, on a real llama.cpp context of the bundled model."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import llama_cpp as lc
import pytest

from parley.backends.common.gguf import LlamaModel, resolve_gguf
from parley.backends.llama_cpp.engine import EngineConfig, new_context
from parley.backends.llama_cpp.ram_cache import MIN_TOKENS, RamCache

pytestmark = pytest.mark.slow


class Context:
    """Two sequences, and a way to feed tokens to one and read its last logits."""

    def __init__(self, model: LlamaModel) -> None:
        config = EngineConfig(slots=2, ctx_per_slot=512, n_threads=2, flash_attention=False)
        self.ctx = new_context(model, config)
        self.batch: Any = lc.llama_batch_init(512, 0, 1)
        self.n_vocab = lc.llama_vocab_n_tokens(model.vocab)

    def close(self) -> None:
        lc.llama_batch_free(self.batch)
        lc.llama_free(self.ctx)

    def feed(self, seq: int, tokens: list[int], start: int) -> list[float]:
        batch = self.batch
        for i, token in enumerate(tokens):
            batch.token[i], batch.pos[i] = token, start + i
            batch.n_seq_id[i], batch.seq_id[i][0] = 1, seq
            batch.logits[i] = i == len(tokens) - 1
        batch.n_tokens = len(tokens)
        assert lc.llama_decode(self.ctx, batch) == 0
        return list(lc.llama_get_logits_ith(self.ctx, len(tokens) - 1)[: self.n_vocab])


@pytest.fixture(scope="module")
def model() -> LlamaModel:
    return LlamaModel(resolve_gguf("bundled:smollm2"))


@pytest.fixture
def context(model: LlamaModel) -> Iterator[Context]:
    context = Context(model)
    yield context
    context.close()


def test_a_copy_written_into_another_sequence_continues_exactly(
    model: LlamaModel, context: Context
) -> None:
    prompt = model.tokenize("The lighthouse keeper climbed the stairs at dusk. " * 12)
    assert len(prompt) > MIN_TOKENS
    context.feed(0, prompt, 0)
    cache = RamCache(64 * 2**20)
    cache.save(context.ctx, 0, prompt)
    assert len(cache) == 1 and cache.used_bytes > 0

    restored = cache.restore(context.ctx, 1, [*prompt, 42, 43], held=0)
    assert restored == prompt
    next_token = model.tokenize(" The")[-1]
    assert context.feed(1, [next_token], len(prompt)) == context.feed(0, [next_token], len(prompt))


def test_what_to_keep_and_what_to_give_back(model: LlamaModel, context: Context) -> None:
    first = model.tokenize("Once upon a time there was a baker in a small town. " * 8)
    longer = first + model.tokenize(" She baked bread every morning before dawn." * 4)
    other = model.tokenize("The sea was calm and the sailors slept on deck. " * 8)
    cache = RamCache(64 * 2**20)
    context.feed(0, first, 0)
    cache.save(context.ctx, 0, first[:10])  # too short to be worth a copy
    assert len(cache) == 0
    cache.save(context.ctx, 0, first)
    shorter_size = cache.used_bytes
    context.feed(0, longer[len(first) :], len(first))
    cache.save(context.ctx, 0, longer)  # the same conversation, further on: replaces it
    size = cache.used_bytes
    assert len(cache) == 1 and size > shorter_size
    cache.save(context.ctx, 0, first)  # the kept copy already holds all of it
    assert len(cache) == 1 and cache.used_bytes == size
    assert cache.restore(context.ctx, 1, first + other, held=0) == longer

    # Nothing shares more with the prompt than the sequence already holds: untouched.
    assert cache.restore(context.ctx, 1, longer, held=len(longer)) is None
    assert cache.restore(context.ctx, 1, other, held=0) is None

    # A budget for one copy: keeping another drops the least recently used.
    small = RamCache(size + size // 2)
    small.save(context.ctx, 0, longer)
    lc.llama_memory_seq_rm(lc.llama_get_memory(context.ctx), 0, -1, -1)
    context.feed(0, other, 0)
    small.save(context.ctx, 0, other)
    assert len(small) == 1
    assert small.restore(context.ctx, 1, longer, held=0) is None
    assert small.restore(context.ctx, 1, other, held=0) == other


def test_a_flood_of_conversations_stays_within_the_budget(
    model: LlamaModel, context: Context
) -> None:
    """Many distinct prompts, each copied out in turn: the bytes kept never pass the
    budget, and what is kept is what the count says."""
    one = model.tokenize("A distinct conversation about a number. " * 10)
    context.feed(0, one, 0)
    probe = RamCache(2**30)
    probe.save(context.ctx, 0, one)
    budget = probe.used_bytes * 3  # room for about three copies
    cache = RamCache(budget)
    for i in range(12):
        tokens = model.tokenize(f"Conversation {i} about the number {i * 7919}. " * 8)
        lc.llama_memory_seq_rm(lc.llama_get_memory(context.ctx), 0, -1, -1)
        context.feed(0, tokens, 0)
        cache.save(context.ctx, 0, tokens)
        assert cache.used_bytes <= budget
    assert 1 <= len(cache) <= 3
