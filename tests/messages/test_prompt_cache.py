"""The API's prompt-cache accounting from breakpoints and the reused prefix."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from parley.backends.base import PromptProcessed
from parley.messages.prompt_cache import CacheSplit, cache_split


def test_no_breakpoints_is_all_input() -> None:
    assert cache_split(PromptProcessed(100, cached_tokens=90)) == CacheSplit(uncached=100)


def test_first_request_writes_up_to_the_last_breakpoint() -> None:
    split = cache_split(PromptProcessed(100, 0, breakpoints=((40, "1h"), (80, "5m"))))
    assert split == CacheSplit(uncached=20, read=0, write_5m=40, write_1h=40)


def test_repeat_reads_what_is_cached_and_writes_the_rest() -> None:
    split = cache_split(PromptProcessed(120, 85, breakpoints=((40, "5m"), (80, "5m"), (110, "5m"))))
    assert split == CacheSplit(uncached=10, read=80, write_5m=30)


@given(
    total=st.integers(1, 5000),
    cached=st.integers(0, 5000),
    points=st.lists(st.tuples(st.integers(0, 5000), st.sampled_from(["5m", "1h"])), max_size=4),
)
def test_parts_always_add_up(total: int, cached: int, points: list[tuple[int, str]]) -> None:
    breakpoints = tuple((min(p, total), ttl) for p, ttl in points)
    split = cache_split(PromptProcessed(total, min(cached, total), breakpoints))  # type: ignore[arg-type]
    assert split.uncached + split.read + split.write_5m + split.write_1h == total
    assert min(split.uncached, split.read, split.write_5m, split.write_1h) >= 0
