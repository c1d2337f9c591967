"""How a prompt is cut into chunks between decode steps: never a lone token."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from parley.backends.llama_cpp.engine import prompt_chunk


def test_a_prompt_that_fits_goes_whole() -> None:
    assert prompt_chunk(38, 512) == 38
    assert prompt_chunk(1, 512) == 1  # a one-token prompt cannot be helped


def test_no_single_token_is_left_for_the_next_step() -> None:
    assert prompt_chunk(513, 512) == 511
    assert prompt_chunk(10, 9) == 8


def test_no_single_token_is_taken_while_more_follow() -> None:
    assert prompt_chunk(10, 1) == 0
    assert prompt_chunk(3, 2) == 0
    assert prompt_chunk(5, 0) == 0


@given(pending=st.integers(2, 3000), rooms=st.lists(st.integers(0, 600), min_size=1))
def test_every_chunk_of_a_longer_prompt_has_two_tokens_or_more(
    pending: int, rooms: list[int]
) -> None:
    left = pending
    for room in rooms * 200:  # the room left in successive batches, cycled
        take = prompt_chunk(left, room)
        assert take <= room and (take == 0 or take >= 2)
        left -= take
        assert left == 0 or left >= 2
        if left == 0:
            break
