"""Token-bucket arithmetic and the in-process bucket store.

A bucket of capacity ``C`` per ``period`` seconds refills continuously at ``C/period``
per second, never beyond ``C`` (the API's model: no fixed windows). ``take`` is
all-or-nothing over several buckets: either every bucket has room for its amount and
all are charged, or none is and the answer says how long until all would have room.
An amount above a bucket's capacity can never fit (``wait`` is infinite).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class BucketSpec:
    capacity: float
    period: float = 60.0

    @property
    def rate(self) -> float:
        return self.capacity / self.period


@dataclass(frozen=True)
class Taken:
    """Outcome of a take: ``levels`` are the buckets' contents after it (or before it,
    when refused), ``wait`` the seconds until the refused take would fit."""

    ok: bool
    wait: float
    levels: tuple[float, ...]


def refill(level: float, updated: float, spec: BucketSpec, now: float) -> float:
    return min(spec.capacity, level + max(0.0, now - updated) * spec.rate)


def plan(levels: Sequence[float], specs: Sequence[BucketSpec], amounts: Sequence[float]) -> float:
    """Seconds until every bucket holds its amount (0: now; inf: never)."""
    wait = 0.0
    for level, spec, amount in zip(levels, specs, amounts, strict=True):
        if amount > spec.capacity:
            return math.inf
        if amount > level:
            wait = max(wait, (amount - level) / spec.rate)
    return wait


class BucketStore(Protocol):
    async def take(
        self, keys: Sequence[str], specs: Sequence[BucketSpec], amounts: Sequence[float]
    ) -> Taken: ...

    async def give(self, key: str, spec: BucketSpec, amount: float) -> None: ...

    async def aclose(self) -> None: ...


class MemoryBucketStore:
    """Buckets in this process. Safe without locks: nothing awaits mid-update."""

    def __init__(self, clock: object = time.monotonic) -> None:
        self._clock = clock
        self._state: dict[str, tuple[float, float]] = {}

    def _now(self) -> float:
        return float(self._clock())  # type: ignore[operator]

    def _level(self, key: str, spec: BucketSpec, now: float) -> float:
        level, updated = self._state.get(key, (spec.capacity, now))
        return refill(level, updated, spec, now)

    async def take(
        self, keys: Sequence[str], specs: Sequence[BucketSpec], amounts: Sequence[float]
    ) -> Taken:
        now = self._now()
        levels = [self._level(k, s, now) for k, s in zip(keys, specs, strict=True)]
        wait = plan(levels, specs, amounts)
        if wait > 0:
            for key, level in zip(keys, levels, strict=True):
                self._state[key] = (level, now)
            return Taken(False, wait, tuple(levels))
        after = tuple(level - amount for level, amount in zip(levels, amounts, strict=True))
        for key, level in zip(keys, after, strict=True):
            self._state[key] = (level, now)
        return Taken(True, 0.0, after)

    async def give(self, key: str, spec: BucketSpec, amount: float) -> None:
        now = self._now()
        self._state[key] = (min(spec.capacity, self._level(key, spec, now) + amount), now)

    async def aclose(self) -> None:
        return None
