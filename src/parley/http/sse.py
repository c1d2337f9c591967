"""Server-sent event responses: keep-alive pings, and errors after the stream began.

Events are written by ``wire.sse``, the one encoder. While the model is busy
before producing anything (queued, or prefilling a long prompt), ``ping`` events keep
the connection alive. An error after the 200 went out is sent as an ``error`` event
and the stream ends without ``message_stop``.

``EventPump`` reads the source in a task so a wait can time out for a ping without
cancelling the source. ``start_stream`` commits to a 200 only once the backend has
accepted the request, so errors found early — a prompt that is too long, a schema
that cannot be compiled — still get their real HTTP status.

How items become bytes is a ``Framing``: ``ClaudeFraming`` writes the Claude API's
events; another protocol (OpenAI's chunks) brings its own.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Generic, Protocol, TypeVar

from pydantic import BaseModel
from starlette.responses import StreamingResponse

from parley.errors import InternalError, OverloadedError, ParleyError
from parley.http.drain import Drain
from parley.messages.assembler import StreamAccepted
from parley.wire.responses import RawContentBlockDeltaEvent
from parley.wire.sse import PING, encode, frame

T = TypeVar("T")

SHUTTING_DOWN = OverloadedError(
    "Parley is shutting down and ended this answer before it was complete; retry the request."
)
SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}
SSE_MEDIA_TYPE = "text/event-stream; charset=utf-8"


class _Timeout:
    pass


TIMEOUT = _Timeout()


class EventPump(Generic[T]):
    def __init__(self, source: AsyncIterator[T]) -> None:
        self._source = source
        self._pending: asyncio.Task[T] | None = None
        # Set once the model produces output; pings are only needed before that.
        self.flowing = False

    async def next(self, wait: float | None) -> T | _Timeout:
        """The next item, ``TIMEOUT`` if none came within ``wait`` seconds;
        raises StopAsyncIteration at the end."""
        if self._pending is None and self.flowing:
            # Output is arriving token by token: read directly, no task per event.
            return await anext(self._source)
        if self._pending is None:
            self._pending = asyncio.ensure_future(anext(self._source))
        done, _ = await asyncio.wait({self._pending}, timeout=wait)
        if not done:
            return TIMEOUT
        task, self._pending = self._pending, None
        return task.result()

    async def aclose(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration, ParleyError):
                await self._pending
            self._pending = None
        aclose = getattr(self._source, "aclose", None)
        if aclose is not None:
            await aclose()


class Framing(Protocol):
    """How a stream's items, its errors and its keep-alives are written."""

    ping: bytes
    media_type: str

    def event(self, item: BaseModel | bytes) -> bytes:
        """The bytes for one item (b"" to send nothing)."""
        ...

    def error(self, error: ParleyError, request_id: str | None) -> bytes: ...

    def end(self) -> bytes:
        """What follows the last item of a stream that finished."""
        ...


class ClaudeFraming:
    """The Claude API's events: ``wire.sse``, or an upstream's own bytes as they came."""

    ping = PING
    media_type = SSE_MEDIA_TYPE

    def event(self, item: BaseModel | bytes) -> bytes:
        return item if isinstance(item, bytes) else encode(item)

    def error(self, error: ParleyError, request_id: str | None) -> bytes:
        return frame("error", error.body(request_id))

    def end(self) -> bytes:
        return b""


async def start_stream(
    source: AsyncIterator[BaseModel | StreamAccepted | bytes],
    *,
    ping_interval: float,
    request_id: str | None,
    drain: Drain | None = None,
    framing: Framing | None = None,
) -> StreamingResponse:
    """A 200 SSE response for ``source``; raises if ``source`` fails before accepting.
    Once ``drain`` begins, the stream ends at its deadline (see ``http/drain.py``)."""
    pump: EventPump[BaseModel | StreamAccepted | bytes] = EventPump(source)
    try:
        first = await pump.next(None)
    except BaseException:
        await pump.aclose()
        raise
    framing = framing or ClaudeFraming()
    body = _body(pump, first, ping_interval, request_id, drain or Drain(), framing)
    return StreamingResponse(body, media_type=framing.media_type, headers=SSE_HEADERS)


async def _body(
    pump: EventPump[BaseModel | StreamAccepted | bytes],
    first: BaseModel | StreamAccepted | bytes | _Timeout,
    ping_interval: float,
    request_id: str | None,
    drain: Drain,
    framing: Framing,
) -> AsyncIterator[bytes]:
    item = first
    try:
        while True:
            if isinstance(item, _Timeout):
                yield framing.ping
            elif isinstance(item, bytes | BaseModel):
                pump.flowing = _is_delta(item)
                try:
                    out = framing.event(item)
                except Exception as exc:  # an upstream's event this framing cannot read
                    yield framing.error(InternalError(f"unreadable event: {exc}"), request_id)
                    return
                if out:
                    yield out
            if drain.expired():
                yield framing.error(SHUTTING_DOWN, request_id)
                return
            try:
                item = await pump.next(drain.wait(ping_interval))
            except StopAsyncIteration:
                if end := framing.end():
                    yield end
                return
            except ParleyError as error:
                yield framing.error(error, request_id)
                return
            except Exception as exc:  # after the 200, the error event is all we can send
                yield framing.error(InternalError(f"generation failed: {exc}"), request_id)
                return
    finally:
        await pump.aclose()


def _is_delta(item: BaseModel | bytes) -> bool:
    """Whether ``item`` is model output (bytes: an event proxied from an upstream)."""
    if isinstance(item, bytes):
        return item.startswith(b"event: content_block_delta")
    return isinstance(item, RawContentBlockDeltaEvent)
