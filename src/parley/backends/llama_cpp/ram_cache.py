"""Prompts evicted from slots, kept in host memory (llama-server's ``--cache-ram``).

A slot's KV cache holds one prompt. When the slot is given to a request with a
different prompt, what it held is lost, and a conversation that comes back after more
conversations than slots have passed through would prefill from its first token.
Before a slot loses most of what it holds, the engine copies its sequence state
(``llama_state_seq_get_data``) here; a request whose prompt shares a longer prefix
with a copy than with its slot gets the copy written back into the slot
(``llama_state_seq_set_data``), and only the rest is prefilled.

Copies are few and large, so lookups scan them all. A new copy replaces the copies
whose tokens it extends (the same conversation, earlier turns); least recently used
copies go first once the byte budget is reached. The engine's slot choice asks the
same questions before it picks a slot (``best_prefix``, ``keeps``), so what it expects
to reuse and to copy is what ``restore`` and ``save`` then do. Only the engine thread
calls this.
"""

from __future__ import annotations

import ctypes
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import llama_cpp as lc

# Shorter prompts are cheaper to prefill again than to copy and keep.
MIN_TOKENS = 64
_CHUNK = 256


@dataclass(eq=False)
class _Copy:
    tokens: list[int]
    state: ctypes.Array[ctypes.c_uint8]


class RamCache:
    def __init__(self, budget_bytes: int) -> None:
        self.budget_bytes = budget_bytes
        self.used_bytes = 0
        self._copies: OrderedDict[int, _Copy] = OrderedDict()
        self._next_key = 0
        self._bytes_per_token: float | None = None  # learnt from the copies made

    def __len__(self) -> int:
        return len(self._copies)

    def best_prefix(self, prompt: list[int]) -> int:
        """The longest prefix of ``prompt`` a copy holds (0 when shorter than MIN_TOKENS)."""
        return self._best(prompt)[1]

    def keeps(self, held: int, kept: int) -> bool:
        """Whether the engine copies a slot holding ``held`` tokens here before a prompt
        keeping ``kept`` of them takes it (``saved_before_loss``), and the copy fits the
        budget, judged by the copies made so far."""
        if not saved_before_loss(held, kept):
            return False
        per_token = self._bytes_per_token
        return per_token is None or held * per_token <= self.budget_bytes

    def save(self, ctx: Any, seq_id: int, tokens: list[int]) -> None:
        """Copy sequence ``seq_id`` of ``ctx``, which holds ``tokens``, if worth it."""
        if len(tokens) < MIN_TOKENS:
            return
        holder = next((k for k, c in self._copies.items() if _extends(c.tokens, tokens)), None)
        if holder is not None:  # a copy already holds all of it
            self._copies.move_to_end(holder)
            return
        size = int(lc.llama_state_seq_get_size(ctx, seq_id))
        self._bytes_per_token = size / len(tokens)
        if size > self.budget_bytes:
            return
        state = (ctypes.c_uint8 * size)()
        if int(lc.llama_state_seq_get_data(ctx, state, size, seq_id)) != size:
            return
        for key in [k for k, c in self._copies.items() if _extends(tokens, c.tokens)]:
            self._drop(key)
        while self._copies and self.used_bytes + size > self.budget_bytes:
            self._drop(next(iter(self._copies)))
        self._copies[self._next_key] = _Copy(list(tokens), state)
        self._next_key += 1
        self.used_bytes += size

    def restore(self, ctx: Any, seq_id: int, prompt: list[int], held: int) -> list[int] | None:
        """Write into ``seq_id`` the copy sharing the longest prefix with ``prompt``, if
        that prefix is longer than the ``held`` tokens the sequence already shares with
        it. Returns the tokens the sequence holds after the write (llama.cpp empties it
        first, and leaves it empty if the write fails), or None when it was not touched."""
        best_key, best = self._best(prompt)
        if best_key is None or restored_prefix(len(prompt), held, best) == held:
            return None  # no copy shares more, or too little is left to prefill to be worth it
        copy = self._copies[best_key]
        self._copies.move_to_end(best_key)
        if int(lc.llama_state_seq_set_data(ctx, copy.state, len(copy.state), seq_id)) == 0:
            self._drop(best_key)
            return []
        return list(copy.tokens)

    def _best(self, prompt: list[int]) -> tuple[int | None, int]:
        """The copy sharing the longest prefix with ``prompt``, at least MIN_TOKENS, and
        that prefix; (None, 0) when none does."""
        best_key, best = None, 0
        for key, copy in self._copies.items():
            shared = common_prefix(copy.tokens, prompt)
            if shared >= MIN_TOKENS and shared > best:
                best_key, best = key, shared
        return best_key, best

    def _drop(self, key: int) -> None:
        self.used_bytes -= len(self._copies.pop(key).state)


def restored_prefix(prompt_tokens: int, held: int, best: int) -> int:
    """How much of a prompt of ``prompt_tokens`` a slot sharing ``held`` of them serves
    once ``restore`` has run, when a copy holds ``best`` of them (``best_prefix``)."""
    if prompt_tokens - held >= MIN_TOKENS and best > held:
        return best
    return held


def saved_before_loss(held: int, kept: int) -> bool:
    """Whether the engine copies a slot holding ``held`` tokens here before a prompt
    keeping ``kept`` of them takes it: when it is about to lose most of them, and they
    are enough to be worth a copy."""
    return held >= MIN_TOKENS and kept * 2 < held


def common_prefix(a: list[int], b: list[int]) -> int:
    """How many leading tokens ``a`` and ``b`` share. Compared a chunk at a time (list
    slices compare in C): prompts share thousands of tokens (a system prompt, earlier
    turns), and the engine thread runs this for every free slot and kept copy."""
    n = min(len(a), len(b))
    i = 0
    while i + _CHUNK <= n and a[i : i + _CHUNK] == b[i : i + _CHUNK]:
        i += _CHUNK
    while i < n and a[i] == b[i]:
        i += 1
    return i


def _extends(longer: list[int], shorter: list[int]) -> bool:
    return len(longer) >= len(shorter) and longer[: len(shorter)] == shorter
