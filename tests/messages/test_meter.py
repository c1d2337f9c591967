"""``messages/meter.py``: what an answer's sampling steps spent, together."""

from __future__ import annotations

from parley.messages.meter import total_usage
from parley.ratelimit.priority import PromptCost
from parley.wire.responses import CacheCreation, Usage


def test_a_summary_and_the_answer_after_it_count_together() -> None:
    """A compaction reads the whole conversation to write its summary; that input is
    spent as surely as the short prompt of the answer after it."""
    summary = Usage(
        input_tokens=900,
        output_tokens=40,
        cache_read_input_tokens=3000,
        cache_creation=CacheCreation(ephemeral_5m_input_tokens=7),
    )
    answer = Usage(
        input_tokens=60,
        output_tokens=12,
        cache_read_input_tokens=5,
        cache_creation=CacheCreation(ephemeral_1h_input_tokens=3),
    )
    assert total_usage(answer, summary) == PromptCost(
        output_tokens=52, uncached=960, cache_read=3005, cache_write_5m=7, cache_write_1h=3
    )
    assert total_usage(answer) == PromptCost(
        output_tokens=12, uncached=60, cache_read=5, cache_write_1h=3
    )
