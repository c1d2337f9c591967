"""Metering of answers: usage for reports and limits, and the process's metrics.

A finished answer is recorded with the backend's own counts. An interactive answer that
ends early — the client went away, or the backend failed mid-answer — is recorded too,
with its input and the tokens of what the model had said by then (``Backend.count_tokens``
of the text), as the hosted API bills a stream that is cut off. That happens in a
detached task, because the stream's own task is being cancelled; ``aclose`` waits for
those. Batch work is not metered this way: a batch request that stops early is retried
or reported as canceled, and is billed once, when it succeeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence

from parley.backends.base import PromptProcessed
from parley.messages.context import PreparedMessage
from parley.messages.prompt_cache import cache_split
from parley.metering.usage import UsageEvent, UsageRecorder
from parley.metrics import Metrics
from parley.ratelimit.priority import PromptCost
from parley.wire.responses import CacheCreation, Usage

log = logging.getLogger(__name__)


class AnswerMeter:
    def __init__(self, usage: UsageRecorder, metrics: Metrics, *, inference_geo: str) -> None:
        self.usage = usage
        self.metrics = metrics
        self.inference_geo = inference_geo
        self._pending: set[asyncio.Task[None]] = set()

    async def aclose(self) -> None:
        """Wait until answers cut short have been metered (before usage is flushed)."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    def usage_of(self, prompt: PromptProcessed, prepared: PreparedMessage) -> Usage:
        """The usage of a prompt as processed: cache reads and writes at its breakpoints,
        at the tier ``prepared`` is served at."""
        split = cache_split(prompt)
        return Usage(
            input_tokens=split.uncached,
            output_tokens=0,
            cache_read_input_tokens=split.read,
            cache_creation_input_tokens=split.write_5m + split.write_1h,
            cache_creation=CacheCreation(
                ephemeral_5m_input_tokens=split.write_5m, ephemeral_1h_input_tokens=split.write_1h
            ),
            service_tier=prepared.service_tier,
            inference_geo=self.inference_geo,
        )

    def first_content(self, prepared: PreparedMessage, accepted: float) -> None:
        """The model's first content for ``prepared``, ``accepted`` (monotonic) after the
        backend took it: time to first token, as operators watch it."""
        self.metrics.first_token.labels(prepared.model.id).observe(time.monotonic() - accepted)

    def cut_short(self, prepared: PreparedMessage, usage: Usage, text: str) -> None:
        """Record an interactive answer that ended early, once ``text`` (what the model
        said) is counted."""
        if prepared.batch:
            return
        with contextlib.suppress(RuntimeError):  # no running loop: the process is ending
            task = asyncio.get_running_loop().create_task(
                self._meter(prepared, usage.model_copy(deep=True), text)
            )
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _meter(self, prepared: PreparedMessage, usage: Usage, text: str) -> None:
        try:
            usage.output_tokens = await prepared.model.backend.count_tokens(text)
        except Exception as exc:  # the backend may be what failed
            log.warning("could not count an answer cut short (%s); metering its input", exc)
        self.record(prepared, usage, outcome="cut_short")
        await self.settle(prepared, usage)

    async def settle(
        self, prepared: PreparedMessage, usage: Usage, *, earlier: Sequence[Usage] = ()
    ) -> None:
        """Give back what admission (and priority capacity) reserved and the answer did not
        use. ``earlier``: the sampling steps before the answer (a compaction's summary),
        whose tokens count as the answer's do."""
        spent = total_usage(usage, *earlier)
        await prepared.admission.settle(
            output_tokens=spent.output_tokens, cache_read_tokens=spent.cache_read
        )
        if prepared.priority is not None:
            await prepared.priority.settle(spent)

    def record(self, prepared: PreparedMessage, usage: Usage, outcome: str = "finished") -> None:
        """Meter one sampling step: usage for reports and limits, and the metrics."""
        who = prepared.ctx.principal
        model = prepared.model.id
        self.metrics.messages.labels(model, outcome).inc()
        self.metrics.record_tokens(
            model,
            input=usage.input_tokens,
            output=usage.output_tokens,
            cache_read=usage.cache_read_input_tokens,
            cache_write=usage.cache_creation_input_tokens,
        )
        self.usage.record(
            UsageEvent(
                api_key_id=who.api_key_id,
                workspace_id=who.workspace_id,
                model=prepared.model.id,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cache_read_input_tokens=usage.cache_read_input_tokens,
                cache_creation_5m_input_tokens=usage.cache_creation.ephemeral_5m_input_tokens,
                cache_creation_1h_input_tokens=usage.cache_creation.ephemeral_1h_input_tokens,
                service_tier=usage.service_tier,
                is_batch=prepared.batch,
            )
        )


def total_usage(*steps: Usage) -> PromptCost:
    """The tokens of several sampling steps together (a summary and the answer after it)."""
    return PromptCost(
        output_tokens=sum(u.output_tokens for u in steps),
        uncached=sum(u.input_tokens for u in steps),
        cache_read=sum(u.cache_read_input_tokens for u in steps),
        cache_write_5m=sum(u.cache_creation.ephemeral_5m_input_tokens for u in steps),
        cache_write_1h=sum(u.cache_creation.ephemeral_1h_input_tokens for u in steps),
    )
