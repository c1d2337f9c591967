"""Requests for a Claude-API upstream, passed through without translation.

The client's validated body goes upstream as is (only ``model`` becomes the upstream's
name) and the upstream's events come back one by one. Usage is read from those events
and recorded like any other request; a stream that ends before ``message_stop`` is
metered with what the client was sent (``AnswerMeter.cut_short``).

Failover. Before the first byte, ``upstream.py`` tries the next replica. After it, a
stream whose replica dies before its first content block, or in the middle of a text
block, is resumed on another replica: the conversation is sent again with the text
streamed so far as an assistant prefill, the new stream's opening events are dropped
and its block indices shifted, so the client sees one uninterrupted answer. A stream
that dies inside a tool call or a thinking block, or between two blocks, cannot be
continued that way and ends with an ``error`` event.

Events stay the upstream's own dicts here, not ``wire.responses`` models: an upstream
may send blocks and fields Parley does not model (server tools, newer deltas), and
passing them on untouched is what passthrough is for. Only the few fields below are
read (block types, deltas' text, usage), and changed events are written by the one
encoder, ``wire.sse``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from parley.backends.base import Passthrough
from parley.errors import AnswerBroken
from parley.messages.context import PreparedMessage
from parley.messages.meter import AnswerMeter
from parley.wire.responses import CacheCreation, Usage
from parley.wire.sse import frame

log = logging.getLogger(__name__)
MAX_RESUMES = 2


@dataclass
class _Progress:
    """What the client has been sent so far."""

    blocks: list[str] = field(default_factory=list)  # block types, in index order
    open_text: list[str] | None = None  # text of the open text block, if one is open
    output_tokens: int = 0
    usage: dict[str, Any] = field(default_factory=dict)
    said: list[str] = field(default_factory=list)  # every delta's text, for metering
    started: bool = False  # message_start sent
    accounted: bool = False
    sent_at: float = 0.0  # when the request went upstream; 0 once the first block came

    def resumable(self) -> bool:
        """Inside a text block, or before the first block (nothing said yet)."""
        return self.open_text is not None or not self.blocks


class Proxy:
    def __init__(self, meter: AnswerMeter) -> None:
        self.meter = meter

    @staticmethod
    def body(prepared: PreparedMessage) -> dict[str, Any]:
        return prepared.params.model_dump(mode="json", by_alias=True, exclude_unset=True)

    async def stream(self, prepared: PreparedMessage, backend: Passthrough) -> AsyncIterator[bytes]:
        progress = _Progress(sent_at=time.monotonic())
        body = self.body(prepared)
        resumes = 0
        try:
            while True:
                try:
                    async for raw in self._pass(
                        prepared, backend, body, progress, resumed=resumes > 0
                    ):
                        yield raw
                    return
                except AnswerBroken:
                    if resumes >= MAX_RESUMES or not progress.resumable():
                        raise
                    resumes += 1
                    log.warning(
                        "upstream died mid-answer; resuming on another replica (%d)", resumes
                    )
                    body = _continuation(self.body(prepared), progress)
        finally:
            if progress.started and not progress.accounted:
                usage = _usage(progress.usage, prepared)
                self.meter.cut_short(prepared, usage, "".join(progress.said))

    async def _pass(
        self,
        prepared: PreparedMessage,
        backend: Passthrough,
        body: dict[str, Any],
        progress: _Progress,
        *,
        resumed: bool,
    ) -> AsyncIterator[bytes]:
        # Going on inside the open text block: the new stream's blocks shift onto it.
        continuing = resumed and bool(progress.blocks)
        offset = len(progress.blocks) - 1 if continuing else 0
        earlier_output = progress.output_tokens
        async for name, data, raw in backend.forward(prepared.generation, body, prepared.ctx.betas):
            changed = resumed
            if name == "message_start":
                if progress.started:
                    continue  # the client has its message_start from the first replica
                progress.started = True
                progress.usage.update(data["message"].get("usage") or {})
                data["message"]["model"] = prepared.model.id
                changed = True
            elif name in ("content_block_start", "content_block_delta", "content_block_stop"):
                data["index"] += offset
                if continuing and name == "content_block_start" and data["index"] == offset:
                    continue  # the text block the client already has stays open
                if progress.sent_at and name == "content_block_start":
                    self.meter.first_content(prepared, progress.sent_at)
                    progress.sent_at = 0.0
                _track(progress, name, data)
            elif name == "message_delta":
                usage = {k: v for k, v in (data.get("usage") or {}).items() if v is not None}
                usage["output_tokens"] = earlier_output + int(usage.get("output_tokens") or 0)
                progress.usage.update(usage)
                data["usage"] = {**(data.get("usage") or {}), **usage}
            elif name == "message_stop":
                progress.accounted = True
                await self.account(prepared, progress.usage)
            yield frame(name, data) if changed else raw

    async def create(self, prepared: PreparedMessage, backend: Passthrough) -> dict[str, Any]:
        message = await backend.answer(prepared.generation, self.body(prepared), prepared.ctx.betas)
        message["model"] = prepared.model.id
        await self.account(prepared, message.get("usage") or {})
        return message

    async def account(self, prepared: PreparedMessage, raw: dict[str, Any]) -> None:
        usage = _usage(raw, prepared)
        self.meter.record(prepared, usage)
        await self.meter.settle(prepared, usage)


def _usage(raw: dict[str, Any], prepared: PreparedMessage) -> Usage:
    """Our usage object from the upstream's usage fields."""
    creation = raw.get("cache_creation") or {}
    return Usage(
        input_tokens=int(raw.get("input_tokens") or 0),
        output_tokens=int(raw.get("output_tokens") or 0),
        cache_read_input_tokens=int(raw.get("cache_read_input_tokens") or 0),
        cache_creation_input_tokens=int(raw.get("cache_creation_input_tokens") or 0),
        cache_creation=CacheCreation(
            ephemeral_5m_input_tokens=int(creation.get("ephemeral_5m_input_tokens") or 0),
            ephemeral_1h_input_tokens=int(creation.get("ephemeral_1h_input_tokens") or 0),
        ),
        service_tier="batch" if prepared.batch else "standard",
    )


def _track(progress: _Progress, name: str, data: dict[str, Any]) -> None:
    if name == "content_block_start":
        kind = data["content_block"]["type"]
        progress.blocks.append(kind)
        progress.open_text = [] if kind == "text" else None
    elif name == "content_block_delta":
        delta = data["delta"]
        said = delta.get("text") or delta.get("thinking") or delta.get("partial_json") or ""
        progress.said.append(str(said))
        if progress.open_text is not None and delta.get("type") == "text_delta":
            progress.open_text.append(delta["text"])
            progress.output_tokens += 1  # an estimate until the upstream's count arrives
    elif name == "content_block_stop":
        progress.open_text = None


def _continuation(body: dict[str, Any], progress: _Progress) -> dict[str, Any]:
    """The original conversation plus what was said so far, as a prefill to continue."""
    text = "".join(progress.open_text or [])
    prefill = text.rstrip()  # the API refuses a prefill ending in whitespace
    messages = list(body["messages"])
    if prefill:
        messages.append({"role": "assistant", "content": prefill})
    return {**body, "messages": messages}
