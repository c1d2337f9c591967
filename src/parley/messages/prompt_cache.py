"""The API's prompt-cache accounting: how a prompt's tokens split into cache reads,
cache writes (by TTL) and plain input, given where the backend's reused prefix ends."""

from __future__ import annotations

from dataclasses import dataclass

from parley.backends.base import PromptProcessed


@dataclass(frozen=True)
class CacheSplit:
    uncached: int
    read: int = 0
    write_5m: int = 0
    write_1h: int = 0


LOOKBACK_BLOCKS = 20


def cache_split(prompt: PromptProcessed) -> CacheSplit:
    """The API's prompt-cache accounting for one prompt (reference §2.5).

    Caching happens only at breakpoints. A read is the longest already-cached prefix
    that ends at a breakpoint or at one of the 20 block ends before a breakpoint (the
    API's lookback, which is how a conversation's new turn reads the entry its previous
    turn wrote); each segment from there up to a later breakpoint is written, at that
    breakpoint's TTL; tokens after the last breakpoint are plain input. The parts
    always add up to the whole prompt.
    """
    points = sorted(prompt.breakpoints)
    if not points:
        return CacheSplit(uncached=prompt.input_tokens)
    readable = {p for p, _ in points}
    ends = sorted(prompt.boundaries)
    for position, _ in points:
        before = [e for e in ends if e <= position]
        readable.update(before[-LOOKBACK_BLOCKS:])
    read = max((p for p in readable if p <= prompt.cached_tokens), default=0)
    written = {"5m": 0, "1h": 0}
    start = read
    for position, ttl in points:
        if position > start:
            written[ttl] += position - start
            start = position
    return CacheSplit(
        uncached=prompt.input_tokens - start,
        read=read,
        write_5m=written["5m"],
        write_1h=written["1h"],
    )
