"""The Messages service: create (streaming or not) and count_tokens.

``prepare`` does everything that can fail before a response starts — model lookup,
the conversation rules, translation — so those failures are plain HTTP errors.
``stream`` then runs the backend and yields the API's stream events through the one
assembler; ``create`` drains the same stream. ``count_tokens`` renders and tokenizes
exactly as generation does, so its answer equals ``usage.input_tokens`` (plus cache
tokens) of the same request.

Metering. A finished answer is recorded with the backend's own counts. An interactive
answer that ends early — the client went away, or the backend failed mid-answer — is
recorded too, with its input and the tokens of what the model had said by then
(``Backend.count_tokens`` of the text), as the hosted API bills a stream that is cut off. That
happens in a detached task, because the stream's own task is being cancelled. Batch
work is not metered this way: a batch request that stops early is retried or reported
as canceled, and is billed once, when it succeeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import replace
from typing import Any

from parley.backends.base import (
    Accepted,
    Finished,
    Passthrough,
    PromptProcessed,
    TextChunk,
    ThinkingChunk,
    ToolCallStart,
)
from parley.catalog import Catalog, ServedModel
from parley.errors import InvalidRequestError, ParleyError, RateLimitError
from parley.ids import new_id
from parley.messages.assembler import ACCEPTED, MessageAssembler, StreamAccepted
from parley.messages.citations import citer_for
from parley.messages.context import CallContext, PreparedMessage
from parley.messages.context_edits import Edited, P, apply_edits
from parley.messages.documents import DocumentLoader
from parley.messages.media import Attachments, RequestMedia, scan
from parley.messages.passthrough import Proxy
from parley.messages.prompt_cache import cache_split
from parley.messages.rules import RequestTraits, check_request
from parley.messages.signatures import ThinkingSigner
from parley.messages.translate import to_generation
from parley.metering.spend import SpendGuard
from parley.metering.usage import UsageEvent, UsageRecorder
from parley.metrics import Metrics
from parley.ratelimit.limiter import RateLimiter
from parley.ratelimit.priority import PriorityCapacity, PromptCost
from parley.wire.requests import MessageCountTokensParams, MessageCreateParams, _MessageInputParams
from parley.wire.responses import (
    CacheCreation,
    Message,
    MessageTokensCount,
    RawMessageStreamEvent,
    Usage,
)

log = logging.getLogger(__name__)
# The events that are the model's answer (its first one is the time to first token).
_CONTENT = (TextChunk, ThinkingChunk, ToolCallStart)


def _may_use_priority(prepared: PreparedMessage) -> bool:
    """Whether Priority Tier capacity may serve ``prepared``: not batch work, not
    ``standard_only``, and not a Claude-API upstream, which schedules (and reports the
    tier of) its requests itself."""
    return (
        not prepared.batch
        and prepared.params.service_tier != "standard_only"
        and not isinstance(prepared.model.backend, Passthrough)
    )


class MessagesService:
    def __init__(
        self,
        catalog: Catalog,
        usage: UsageRecorder,
        limiter: RateLimiter,
        spend: SpendGuard,
        documents: DocumentLoader,
        *,
        inference_geo: str,
        metrics: Metrics,
        signer: ThinkingSigner,
        priority: PriorityCapacity,
    ) -> None:
        self.catalog = catalog
        self.priority = priority
        self.signer = signer
        self.metrics = metrics
        self.usage = usage
        self.limiter = limiter
        self.spend = spend
        self.documents = documents
        self.inference_geo = inference_geo
        self._proxy = Proxy(self.record, self.meter_cut_short, self.first_content)
        self._metering: set[asyncio.Task[None]] = set()

    async def aclose(self) -> None:
        """Wait until answers cut short have been metered (before usage is flushed)."""
        if self._metering:
            await asyncio.gather(*self._metering, return_exceptions=True)

    async def prepare(
        self,
        params: MessageCreateParams,
        ctx: CallContext,
        *,
        batch: bool = False,
        seed: int | None = None,
    ) -> PreparedMessage:
        """``params`` checked and translated for its model. ``seed`` (which the Claude
        API lacks; OpenAI's protocol has it) fixes the sampler's seed where the backend
        takes one."""
        model, media = self._checked(params, ctx)
        attachments = await self.documents.load(media, ctx.principal.workspace_id)
        if params.inference_geo not in (None, self.inference_geo):
            raise InvalidRequestError(
                f'inference_geo: "{params.inference_geo}" is not available on this '
                f'deployment; it runs inference in "{self.inference_geo}"'
            )
        edited = await self._edited(params, model, attachments)
        params = edited.params
        caps = model.backend.capabilities
        generation = to_generation(
            params,
            model=model.id,
            max_output_tokens=caps.max_output_tokens,
            default_sampling=model.default_sampling,
            attachments=attachments,
        )
        if batch:
            generation = replace(generation, priority="batch")
        if seed is not None:
            generation = replace(generation, sampling=replace(generation.sampling, seed=seed))
        return PreparedMessage(
            model=model,
            generation=generation,
            params=params,
            ctx=ctx,
            batch=batch,
            citer=citer_for(attachments),
            context_management=edited.context_management(),
        )

    async def admit(self, prepared: PreparedMessage) -> None:
        """Spend and rate limits, before any model work; raises when over a limit."""
        try:
            await self._admit(prepared)
        except RateLimitError:
            self.metrics.rejections.labels("rate").inc()
            raise
        except InvalidRequestError:  # the spend limit's refusal
            self.metrics.rejections.labels("spend").inc()
            raise

    async def _admit(self, prepared: PreparedMessage) -> None:
        who = prepared.ctx.principal
        await self.spend.check(who)
        group = prepared.model.config.rate_limit_group or prepared.model.id
        commitment = None
        if _may_use_priority(prepared):
            commitment = await self.priority.commitment_for(who)
        input_tokens = 0
        if commitment is not None or await self.limiter.needs_input_count(who, group):
            input_tokens = await prepared.model.backend.count_tokens(prepared.generation)
        max_tokens = prepared.generation.max_tokens
        prepared.admission = await self.limiter.admit(
            who, group, input_tokens=input_tokens, max_tokens=max_tokens
        )
        if commitment is not None:
            # Priority capacity is taken only once the regular limits have let it through.
            prepared.priority = await self.priority.admit(
                commitment, input_tokens=input_tokens, max_tokens=max_tokens
            )
            prepared.admission.headers.update(prepared.priority.headers)
            if prepared.priority.served:
                prepared.generation = replace(prepared.generation, priority="priority")

    async def count_headers(self, ctx: CallContext) -> dict[str, str]:
        return await self.limiter.admit_count(ctx.principal)

    async def stream(
        self, prepared: PreparedMessage
    ) -> AsyncIterator[RawMessageStreamEvent | StreamAccepted]:
        """``ACCEPTED`` once the backend took the request, then the API's stream events
        (ending with ``message_stop``)."""
        async for event in self._events(prepared, self._assembler(prepared)):
            yield event

    async def create(self, prepared: PreparedMessage) -> Message:
        assembler = self._assembler(prepared)
        async for _ in self._events(prepared, assembler):
            pass
        return assembler.message

    async def create_json(self, prepared: PreparedMessage) -> dict[str, Any]:
        """The non-streaming answer, as the wire has it (proxied as is when forwarding)."""
        if isinstance(prepared.model.backend, Passthrough):
            return await self._proxy.create(prepared, prepared.model.backend)
        return (await self.create(prepared)).to_wire()

    def stream_any(
        self, prepared: PreparedMessage
    ) -> AsyncIterator[RawMessageStreamEvent | StreamAccepted | bytes]:
        """``stream``, or the upstream's own events when forwarding to a Claude-API server."""
        if isinstance(prepared.model.backend, Passthrough):
            return self._proxy.stream(prepared, prepared.model.backend)
        return self.stream(prepared)

    async def count_tokens(
        self, params: MessageCountTokensParams, ctx: CallContext
    ) -> MessageTokensCount:
        model, media = self._checked(params, ctx)
        if isinstance(model.backend, Passthrough):
            body = params.model_dump(mode="json", by_alias=True, exclude_unset=True)
            return MessageTokensCount(input_tokens=await model.backend.count_body(body, ctx.betas))
        attachments = await self.documents.load(media, ctx.principal.workspace_id)
        edited = await self._edited(params, model, attachments)
        tokens = await self._count(edited.params, model, attachments)
        if edited.original_input_tokens is None:
            return MessageTokensCount(input_tokens=tokens)
        original = {"original_input_tokens": edited.original_input_tokens}
        return MessageTokensCount(input_tokens=tokens, context_management=original)

    async def _count(
        self, params: _MessageInputParams, model: ServedModel, attachments: Attachments
    ) -> int:
        """The prompt tokens of ``params`` on ``model``, as generation would see them."""
        generation = to_generation(
            params,
            model=model.id,
            max_output_tokens=1,
            default_sampling=model.default_sampling,
            attachments=attachments,
        )
        return await model.backend.count_tokens(generation)

    async def _edited(self, params: P, model: ServedModel, attachments: Attachments) -> Edited[P]:
        """``params`` after its context-management edits. A passthrough's upstream gets
        the body as it is and applies them itself."""
        if isinstance(model.backend, Passthrough):
            return Edited(params)

        async def count(edited: _MessageInputParams) -> int:
            return await self._count(edited, model, attachments)

        return await apply_edits(params, count)

    def _checked(
        self, params: _MessageInputParams, ctx: CallContext
    ) -> tuple[ServedModel, RequestMedia]:
        """The serving model and the request's media, once the rules accept the body."""
        model = self.catalog.resolve(params.model)
        traits = RequestTraits(
            version=ctx.version,
            betas=ctx.betas,
            capabilities=model.backend.capabilities,
            model=model.id,
        )
        media = scan(params.messages)
        check_request(params, traits, media)
        # Only a reasoning model's own thinking is checked (a passthrough's upstream checks
        # its own); a model that does not think drops replayed thinking unread.
        if model.backend.capabilities.thinking and not isinstance(model.backend, Passthrough):
            self.signer.check(params.messages)
        return model, media

    def _assembler(self, prepared: PreparedMessage) -> MessageAssembler:
        assembler = MessageAssembler(
            message_id=new_id("msg"),
            model=prepared.model.id,
            usage=Usage(input_tokens=0, output_tokens=0),
            citer=prepared.citer,
            context_management=prepared.context_management,
            sign=self.signer.sign,
        )
        if prepared.params.diagnostics is not None:
            # Parley does not diagnose prompt-cache misses; say so rather than stay silent.
            assembler.message.diagnostics = {"cache_miss_reason": {"type": "unavailable"}}
        return assembler

    async def _events(
        self, prepared: PreparedMessage, assembler: MessageAssembler
    ) -> AsyncIterator[RawMessageStreamEvent | StreamAccepted]:
        backend = prepared.model.backend
        accepted = 0.0
        try:
            async with aclosing(backend.generate(prepared.generation)) as events:
                async for event in events:
                    if isinstance(event, Accepted):
                        accepted = time.monotonic()
                        yield ACCEPTED
                        continue
                    if accepted and isinstance(event, _CONTENT):
                        self.first_content(prepared, accepted)
                        accepted = 0.0
                    if isinstance(event, PromptProcessed):
                        assembler.message.usage = self._usage(event, prepared)
                        for out in assembler.start():
                            yield out
                        continue
                    if isinstance(event, Finished) and event.prompt is not None:
                        assembler.message.usage = self._usage(event.prompt, prepared)
                    for out in assembler.feed(event):
                        yield out
                    if assembler.finished:
                        usage = assembler.message.usage
                        self.record(prepared, usage)
                        await self._settle(prepared, usage)
        except ParleyError:
            if not assembler.started:
                self.metrics.messages.labels(prepared.model.id, "failed").inc()
            raise
        finally:
            if assembler.started and not assembler.finished:
                text = "".join(assembler.generated)
                self.meter_cut_short(prepared, assembler.message.usage, text)

    def first_content(self, prepared: PreparedMessage, accepted: float) -> None:
        """The model's first content for ``prepared``, ``accepted`` (monotonic) after the
        backend took it: time to first token, as operators watch it."""
        self.metrics.first_token.labels(prepared.model.id).observe(time.monotonic() - accepted)

    def meter_cut_short(self, prepared: PreparedMessage, usage: Usage, text: str) -> None:
        """Record an interactive answer that ended early, once ``text`` (what the model
        said) is counted; see the module docstring."""
        if prepared.batch:
            return
        with contextlib.suppress(RuntimeError):  # no running loop: the process is ending
            task = asyncio.get_running_loop().create_task(
                self._meter(prepared, usage.model_copy(deep=True), text)
            )
            self._metering.add(task)
            task.add_done_callback(self._metering.discard)

    async def _meter(self, prepared: PreparedMessage, usage: Usage, text: str) -> None:
        try:
            usage.output_tokens = await prepared.model.backend.count_tokens(text)
        except Exception as exc:  # the backend may be what failed
            log.warning("could not count an answer cut short (%s); metering its input", exc)
        self.record(prepared, usage, outcome="cut_short")
        await self._settle(prepared, usage)

    async def _settle(self, prepared: PreparedMessage, usage: Usage) -> None:
        """Give back what admission reserved and the answer did not use."""
        await prepared.admission.settle(
            output_tokens=usage.output_tokens, cache_read_tokens=usage.cache_read_input_tokens
        )
        if prepared.priority is not None:
            await prepared.priority.settle(
                PromptCost(
                    output_tokens=usage.output_tokens,
                    uncached=usage.input_tokens,
                    cache_read=usage.cache_read_input_tokens,
                    cache_write_5m=usage.cache_creation.ephemeral_5m_input_tokens,
                    cache_write_1h=usage.cache_creation.ephemeral_1h_input_tokens,
                )
            )

    def record(self, prepared: PreparedMessage, usage: Usage, outcome: str = "finished") -> None:
        """Meter one answer: usage for reports and limits, and the process's metrics."""
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

    def _usage(self, prompt: PromptProcessed, prepared: PreparedMessage) -> Usage:
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
