"""Events from the engine thread to the task that asked for them.

The engine calls ``Mailbox.deliver`` after every decode step with the events of one
job; each delivery wakes the event loop (``call_soon_threadsafe``) and runs the
Messages pipeline once per event. For a stream that is the point: every token reaches
the client as it is made. Message Batch work is read by nobody until it is whole, and
delivered step by step it kept the event loop busy 7-8% of a core during a batch
(measured on two cores), CPU taken from llama.cpp's threads. So a mailbox made ``whole`` holds
the output and delivers it once, at the end, with adjacent text merged; the news that
the prompt was taken (``PromptProcessed``) still goes at once. An error is delivered at
once either way: what was held is of no use to anyone after it.
"""

from __future__ import annotations

import asyncio
import contextlib
from itertools import groupby

from parley.backends.base import (
    BackendEvent,
    Finished,
    PromptProcessed,
    TextChunk,
    ThinkingChunk,
    ToolCallChunk,
)
from parley.errors import ParleyError

Item = list[BackendEvent] | ParleyError


class Mailbox:
    """Where one job's events go: at once, or (``whole``) held until it finishes."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[Item], *, whole: bool
    ) -> None:
        self._loop = loop
        self._queue = queue
        self._held: list[BackendEvent] | None = [] if whole else None

    def deliver(self, item: Item) -> None:
        """Called on the engine thread."""
        held = self._held
        if held is not None and not isinstance(item, ParleyError):
            held.extend(item)
            if not (held and isinstance(held[-1], Finished | PromptProcessed)):
                return
            item, self._held = merged(held), []
        # RuntimeError: the loop is gone, so nobody is listening any more.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)


def merged(events: list[BackendEvent]) -> list[BackendEvent]:
    """``events`` with each run of text, thinking or tool-argument chunks made one."""
    out: list[BackendEvent] = []
    for kind, run in groupby(events, key=type):
        if kind is TextChunk or kind is ThinkingChunk:
            out.append(kind("".join(e.text for e in run)))  # type: ignore[union-attr]
        elif kind is ToolCallChunk:
            out.append(ToolCallChunk("".join(e.json for e in run)))  # type: ignore[union-attr]
        else:
            out.extend(run)
    return out
