"""The Messages service: create (streaming or not) and count_tokens.

``prepare`` does everything that can fail before a response starts — model lookup,
the conversation rules, translation — so those failures are plain HTTP errors.
``stream`` then runs the backend and yields the API's stream events through the one
assembler; ``create`` drains the same stream. ``count_tokens`` renders and tokenizes
exactly as generation does, so its answer equals ``usage.input_tokens`` (plus cache
tokens) of the same request. A compaction (``compaction.py``) is one more sampling
step before the answer, run here as well. Metering is ``meter.py``'s.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import replace
from typing import Any

from parley.backends.base import (
    Accepted,
    Finished,
    GenerationRequest,
    Passthrough,
    PromptProcessed,
    TextChunk,
    ThinkingChunk,
    ToolCallStart,
)
from parley.catalog import Catalog, ServedModel
from parley.errors import InvalidRequestError, ParleyError, RateLimitError
from parley.ids import new_id
from parley.messages import compaction
from parley.messages.assembler import (
    ACCEPTED,
    MessageAssembler,
    StreamAccepted,
    iteration_usage,
)
from parley.messages.citations import citer_for
from parley.messages.context import CallContext, PendingCompaction, PreparedMessage
from parley.messages.context_edits import Edited, P, apply_edits
from parley.messages.documents import DocumentLoader
from parley.messages.media import Attachments, RequestMedia, scan
from parley.messages.meter import AnswerMeter
from parley.messages.passthrough import Proxy
from parley.messages.rules import RequestTraits, check_request
from parley.messages.signatures import BlockSigner
from parley.messages.translate import to_generation
from parley.metering.spend import SpendGuard
from parley.metering.usage import UsageRecorder
from parley.metrics import Metrics
from parley.ratelimit.limiter import RateLimiter
from parley.ratelimit.priority import PriorityCapacity
from parley.wire.requests import MessageCountTokensParams, MessageCreateParams, _MessageInputParams
from parley.wire.responses import (
    CompactionBlock,
    Message,
    MessageTokensCount,
    RawMessageStreamEvent,
    Usage,
)

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
        signer: BlockSigner,
        priority: PriorityCapacity,
    ) -> None:
        self.catalog = catalog
        self.priority = priority
        self.signer = signer
        self.metrics = metrics
        self.limiter = limiter
        self.spend = spend
        self.documents = documents
        self.inference_geo = inference_geo
        self.meter = AnswerMeter(usage, metrics, inference_geo=inference_geo)
        self._proxy = Proxy(self.meter)

    async def aclose(self) -> None:
        """Wait until answers cut short have been metered (before usage is flushed)."""
        await self.meter.aclose()

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

        def generation_of(body: MessageCreateParams) -> GenerationRequest:
            generation = to_generation(
                body,
                model=model.id,
                max_output_tokens=model.backend.capabilities.max_output_tokens,
                default_sampling=model.default_sampling,
                attachments=attachments,
            )
            if batch:
                generation = replace(generation, priority="batch")
            if seed is not None:
                generation = replace(generation, sampling=replace(generation.sampling, seed=seed))
            return generation

        return PreparedMessage(
            model=model,
            generation=generation_of(params),
            params=params,
            ctx=ctx,
            batch=batch,
            citer=citer_for(attachments),
            context_management=edited.context_management(),
            compaction=await self._compaction(edited, model, generation_of),
        )

    async def _compaction(
        self,
        edited: Edited[MessageCreateParams],
        model: ServedModel,
        generation_of: Callable[[MessageCreateParams], GenerationRequest],
    ) -> PendingCompaction | None:
        """The compaction to make before answering, when the request asks for one and
        the conversation has reached its trigger (``compaction.py``)."""
        params = edited.params
        if not compaction.asks_for_compaction(params) or isinstance(model.backend, Passthrough):
            return None
        caps = model.backend.capabilities
        tokens = edited.input_tokens
        if tokens is None:
            tokens = await model.backend.count_tokens(generation_of(params))
        plan = compaction.plan(params, tokens, caps.context_window)
        if plan is None:
            return None
        summary = generation_of(compaction.summary_params(params, plan))
        prompt = await model.backend.count_tokens(summary)
        room = compaction.summary_room(prompt, caps.context_window, caps.max_output_tokens, plan)
        return PendingCompaction(
            request=replace(summary, max_tokens=room),
            pause=plan.pause,
            continue_with=lambda text: generation_of(compaction.continued(params, text)),
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

        return await apply_edits(compaction.resumed(params), count)

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
        # Parley checks what it signed; a passthrough's upstream checks its own. Only a
        # reasoning model's thinking is checked: one that does not think drops it unread.
        if not isinstance(model.backend, Passthrough):
            self.signer.check(params.messages, thinking=model.backend.capabilities.thinking)
        return model, media

    def _assembler(self, prepared: PreparedMessage) -> MessageAssembler:
        assembler = MessageAssembler(
            message_id=new_id("msg"),
            model=prepared.model.id,
            usage=Usage(input_tokens=0, output_tokens=0),
            citer=prepared.citer,
            context_management=prepared.context_management,
            signer=self.signer,
            omit_thinking=_omits_thinking(prepared.params),
        )
        if prepared.params.diagnostics is not None:
            # Parley does not diagnose prompt-cache misses; say so rather than stay silent.
            assembler.message.diagnostics = {"cache_miss_reason": {"type": "unavailable"}}
        return assembler

    async def _events(
        self, prepared: PreparedMessage, assembler: MessageAssembler
    ) -> AsyncIterator[RawMessageStreamEvent | StreamAccepted]:
        try:
            if prepared.compaction is not None:
                async for out in self._compact(prepared, prepared.compaction, assembler):
                    yield out
            if not assembler.finished:
                async for out in self._answer(prepared, assembler):
                    yield out
        except ParleyError:
            if not assembler.started:
                self.metrics.messages.labels(prepared.model.id, "failed").inc()
            raise
        finally:
            if assembler.started and not assembler.finished:
                text = "".join(assembler.generated)
                self.meter.cut_short(prepared, assembler.message.usage, text)

    async def _answer(
        self, prepared: PreparedMessage, assembler: MessageAssembler
    ) -> AsyncIterator[RawMessageStreamEvent | StreamAccepted]:
        accepted = 0.0
        async with aclosing(prepared.model.backend.generate(prepared.generation)) as events:
            async for event in events:
                if isinstance(event, Accepted):
                    accepted = time.monotonic()
                    yield ACCEPTED
                    continue
                if accepted and isinstance(event, _CONTENT):
                    self.meter.first_content(prepared, accepted)
                    accepted = 0.0
                if isinstance(event, PromptProcessed):
                    assembler.message.usage = self.meter.usage_of(event, prepared)
                    for out in assembler.start():
                        yield out
                    continue
                if isinstance(event, Finished) and event.prompt is not None:
                    assembler.message.usage = self.meter.usage_of(event.prompt, prepared)
                for out in assembler.feed(event):
                    yield out
                if assembler.finished:
                    await self._settle(prepared, assembler)

    async def _compact(
        self, prepared: PreparedMessage, pending: PendingCompaction, assembler: MessageAssembler
    ) -> AsyncIterator[RawMessageStreamEvent | StreamAccepted]:
        """Write the summary (billed as its own sampling step), then either end the
        answer with its block or have the reply written from it."""
        written: list[str] = []
        usage = Usage(input_tokens=0, output_tokens=0)
        # Served at the tier the request was admitted at, like the answer itself.
        request = replace(pending.request, priority=prepared.generation.priority)
        async with aclosing(prepared.model.backend.generate(request)) as events:
            async for event in events:
                if isinstance(event, Accepted):
                    yield ACCEPTED
                elif isinstance(event, TextChunk):
                    written.append(event.text)
                elif isinstance(event, PromptProcessed):
                    usage = self.meter.usage_of(event, prepared)
                elif isinstance(event, Finished):
                    if event.prompt is not None:
                        usage = self.meter.usage_of(event.prompt, prepared)
                    usage.output_tokens = event.output_tokens
        self.meter.record(prepared, usage, outcome="compaction")
        summary = compaction.summary_text("".join(written))
        signature = self.signer.sign_summary(summary) if summary is not None else None
        block = CompactionBlock(content=summary, signature=signature)
        assembler.compacted(block, iteration_usage("compaction", usage))
        if pending.pause:
            for out in assembler.paused():
                yield out
            await self._settle(prepared, assembler)
        elif summary is not None:
            reply = pending.continue_with(summary)
            prepared.generation = replace(reply, priority=prepared.generation.priority)

    async def _settle(self, prepared: PreparedMessage, assembler: MessageAssembler) -> None:
        """Meter the answer (a compaction's summary was metered as it ended)."""
        usage = assembler.message.usage
        if assembler.message.stop_reason != "compaction":
            self.meter.record(prepared, usage)
        summaries = [
            Usage.model_validate(i) for i in assembler.iterations if i["type"] != "message"
        ]
        await self.meter.settle(prepared, usage, earlier=summaries)


def _omits_thinking(params: MessageCreateParams) -> bool:
    """Whether thinking blocks are sent without their text (``display: "omitted"``)."""
    return getattr(params.thinking, "display", None) == "omitted"
