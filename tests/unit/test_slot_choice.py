"""Which free slot a prompt goes to: a long reusable prefix first, then one micro-batch,
then the most reuse against what it discards, then LRU."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from parley.backends.llama_cpp.engine import (
    EVICTED_TOKEN_COST,
    REUSE_WORTH_A_RUN,
    Slot,
    pick_slot,
)
from parley.backends.llama_cpp.ram_cache import RamCache, common_prefix

BUSY: Any = object()  # any job: the engine only checks that a slot has one


def slots(busy: set[int], count: int = 8) -> list[Slot]:
    """``count`` slots, ``busy`` ones running a job; the highest id is least recently used."""
    return [
        Slot(seq_id=i, job=BUSY if i in busy else None, last_used=count - i) for i in range(count)
    ]


def test_every_slot_busy_is_none() -> None:
    assert pick_slot(slots(set(range(4)), count=4), [1, 2]) is None


def test_a_slot_next_to_the_busy_ones_wins_over_the_least_recently_used() -> None:
    chosen = pick_slot(slots({0, 1, 2}), [1, 2, 3])
    assert chosen is not None and chosen.seq_id == 3


def test_a_gap_is_filled() -> None:
    chosen = pick_slot(slots({0, 1, 2, 4}), [1, 2, 3])
    assert chosen is not None and chosen.seq_id == 3


def test_among_equals_the_least_recently_used_wins() -> None:
    assert pick_slot(slots(set()), [1, 2, 3]).seq_id == 7  # type: ignore[union-attr]
    chosen = pick_slot(slots({3}), [1, 2, 3])  # 2 and 4 both keep one run
    assert chosen is not None and chosen.seq_id == 4


def choose(busy: set[int], held: dict[int, int]) -> int:
    """The slot chosen for a 200-token prompt when slot ``i`` holds its first
    ``held[i]`` tokens (the others nothing)."""
    prompt = list(range(200))
    table = slots(busy)
    for seq_id, count in held.items():
        table[seq_id].cached = prompt[:count]
    chosen = pick_slot(table, prompt)
    assert chosen is not None
    return chosen.seq_id


def test_a_long_reusable_prefix_wins_over_one_micro_batch() -> None:
    shared_opening = dict.fromkeys(range(2, 6), 20)
    held = {**shared_opening, 6: 20 + REUSE_WORTH_A_RUN, 7: 19 + REUSE_WORTH_A_RUN}
    assert choose({0, 1}, held) == 6


def test_a_few_more_reusable_tokens_do_not_scatter_the_batch() -> None:
    assert choose({0, 1}, {2: 24, 3: 25, 6: 24 + REUSE_WORTH_A_RUN - 1}) == 2


def test_with_nothing_busy_the_longest_prefix_wins() -> None:
    assert choose(set(), {**dict.fromkeys(range(5), 24), 5: 30}) == 5


def test_a_short_prompt_leaves_a_long_conversation_in_its_slot() -> None:
    """Claude Code's side requests share only the chat template's opening with its main
    conversation: they go to an empty slot, not over the 11k tokens it holds."""
    conversation = list(range(11_000))
    side = [*conversation[:3], -1, -2, -3]
    table = slots(set(), count=2)
    table[0].cached = conversation
    table[0].last_used, table[1].last_used = 1, 2  # the conversation's slot is older
    chosen = pick_slot(table, side)
    assert chosen is not None and chosen.seq_id == 1
    assert pick_slot(table, [*conversation, 5, 6]) is table[0]  # its next turn


HOST = RamCache(2**30)  # the engine's host-memory cache, holding no copy yet


def finished_request_and_an_empty_slot(past: int = 148) -> tuple[list[Slot], list[int]]:
    """Slot 0 holds a finished request: a 33-token system prompt, then ``past`` tokens of
    its own question and answer; slot 1 is empty. The next request shares the system
    prompt."""
    system = list(range(33))
    table = slots(set(), count=2)
    table[0].cached = [*system, *range(1000, 1000 + past)]
    return table, [*system, *range(-20, 0)]


def test_with_the_host_memory_cache_a_shared_system_prompt_is_reused() -> None:
    """What the slot held past the system prompt is copied out before it is discarded,
    which costs far less than prefilling the 33 shared tokens again (a new server's
    first requests went to its empty slots and prefilled whole)."""
    table, prompt = finished_request_and_an_empty_slot()
    table[0].last_used, table[1].last_used = 2, 1  # the empty slot is the older
    assert pick_slot(table, prompt, HOST) is table[0]


def test_without_it_an_empty_slot_keeps_what_the_other_holds() -> None:
    table, prompt = finished_request_and_an_empty_slot()
    table[0].last_used, table[1].last_used = 1, 2  # the finished request's is the older
    assert pick_slot(table, prompt) is table[1]


def test_a_copied_token_weighs_evicted_token_cost() -> None:
    """The shared 33 tokens against what a slot holds past them: reused up to
    33 / EVICTED_TOKEN_COST tokens, an empty slot beyond."""
    limit = round(33 / EVICTED_TOKEN_COST)
    table, prompt = finished_request_and_an_empty_slot(past=limit - 50)
    assert pick_slot(table, prompt, HOST) is table[0]
    table, prompt = finished_request_and_an_empty_slot(past=limit + 50)
    table[0].last_used, table[1].last_used = 1, 2
    assert pick_slot(table, prompt, HOST) is table[1]


def test_a_side_request_leaves_the_conversation_even_when_it_would_be_copied() -> None:
    """Copying 11k tokens out (and back for the next turn) for three shared ones is a loss."""
    conversation = list(range(11_000))
    table = slots(set(), count=2)
    table[0].cached = conversation
    table[0].last_used, table[1].last_used = 1, 2  # the conversation's slot is the older
    chosen = pick_slot(table, [*conversation[:3], -1, -2, -3], HOST)
    assert chosen is table[1]


def test_equal_prefixes_go_to_one_micro_batch() -> None:
    prompt = list(range(100))
    table = slots({0, 1})
    for slot in table:
        slot.cached = [*prompt[:20], -1]  # a shared chat-template opening, then another prompt
    chosen = pick_slot(table, prompt)
    assert chosen is not None and chosen.seq_id == 2


def test_common_prefix_of_equal_and_nested_lists() -> None:
    tokens = list(range(300))
    assert common_prefix(tokens, list(tokens)) == 300
    assert common_prefix(tokens, tokens[:299]) == common_prefix(tokens[:299], tokens) == 299
    assert common_prefix([], tokens) == 0


@given(
    shared=st.lists(st.integers(0, 3), max_size=700),
    a=st.lists(st.integers(0, 3), max_size=300),
    b=st.lists(st.integers(0, 3), max_size=300),
)
def test_common_prefix_counts_leading_equal_tokens(
    shared: list[int], a: list[int], b: list[int]
) -> None:
    left, right = shared + a, shared + b
    expected = next(
        (i for i, (x, y) in enumerate(zip(left, right, strict=False)) if x != y),
        min(len(left), len(right)),
    )
    assert common_prefix(left, right) == common_prefix(right, left) == expected
