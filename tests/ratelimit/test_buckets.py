"""Token-bucket arithmetic, checked as properties (hypothesis)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parley.ratelimit.buckets import BucketSpec, MemoryBucketStore, plan, refill


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


capacities = st.floats(min_value=1, max_value=1e6, allow_nan=False, allow_infinity=False)


@given(capacity=capacities, level=st.floats(0, 1), elapsed=st.floats(0, 1e4))
def test_refill_is_linear_and_capped(capacity: float, level: float, elapsed: float) -> None:
    spec = BucketSpec(capacity)
    start = capacity * level
    after = refill(start, 0.0, spec, elapsed)
    assert after <= capacity + 1e-6
    assert after == pytest.approx(
        min(capacity, start + elapsed * capacity / 60), rel=1e-9, abs=1e-9
    )


@given(capacity=capacities, amounts=st.lists(st.floats(0, 2), min_size=1, max_size=30))
async def test_takes_never_overdraw_and_waits_are_exact(
    capacity: float, amounts: list[float]
) -> None:
    clock = Clock()
    store = MemoryBucketStore(clock)
    spec = BucketSpec(capacity)
    for fraction in amounts:
        amount = capacity * fraction
        taken = await store.take(["k"], [spec], [amount])
        assert all(level >= -1e-6 for level in taken.levels)
        if amount > capacity:
            assert not taken.ok and math.isinf(taken.wait)
        elif not taken.ok:
            clock.now += taken.wait + 1e-9
            again = await store.take(["k"], [spec], [amount])
            assert again.ok


async def test_all_or_nothing_across_buckets() -> None:
    store = MemoryBucketStore(Clock())
    small, large = BucketSpec(1), BucketSpec(100)
    assert (await store.take(["a", "b"], [small, large], [1, 10])).ok
    refused = await store.take(["a", "b"], [small, large], [1, 10])
    assert not refused.ok and refused.wait == pytest.approx(60.0)
    assert refused.levels[1] == pytest.approx(90.0)  # the large bucket was not charged


async def test_give_returns_up_to_capacity() -> None:
    store = MemoryBucketStore(Clock())
    spec = BucketSpec(10)
    await store.take(["k"], [spec], [8])
    await store.give("k", spec, 100)
    assert (await store.take(["k"], [spec], [10])).ok


def test_plan_reports_the_slowest_bucket() -> None:
    assert plan([0.0, 5.0], [BucketSpec(60), BucketSpec(60)], [2, 6]) == pytest.approx(2.0)
