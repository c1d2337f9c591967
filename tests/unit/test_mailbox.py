"""``Mailbox``: interactive work is delivered at every step, batch work once, whole,
with runs of chunks merged; the prompt's news and errors go at once."""

from __future__ import annotations

import asyncio

from parley.backends.base import (
    BackendEvent,
    Finished,
    PromptProcessed,
    TextChunk,
    ThinkingChunk,
    ToolCallChunk,
    ToolCallEnd,
    ToolCallStart,
)
from parley.backends.llama_cpp.mailbox import Item, Mailbox, merged
from parley.errors import ParleyError, PreemptedError

STEPS: list[list[BackendEvent]] = [
    [PromptProcessed(input_tokens=9)],
    [ThinkingChunk("let me ")],
    [ThinkingChunk("see")],
    [TextChunk("Hel")],
    [TextChunk("lo")],
    [ToolCallStart("f")],
    [ToolCallChunk('{"a"')],
    [ToolCallChunk(": 1}")],
    [ToolCallEnd({"a": 1})],
    [TextChunk("!"), Finished(reason="end_turn", output_tokens=8)],
]


async def delivered(whole: bool, steps: list[Item]) -> list[Item]:
    """What the task's queue receives when the engine thread delivers ``steps``."""
    queue: asyncio.Queue[Item] = asyncio.Queue()
    mailbox = Mailbox(asyncio.get_running_loop(), queue, whole=whole)

    def engine() -> None:
        for step in steps:
            mailbox.deliver(step)

    await asyncio.to_thread(engine)
    await asyncio.sleep(0)  # the loop runs the callbacks the thread scheduled
    received = []
    while not queue.empty():
        received.append(queue.get_nowait())
    return received


async def test_interactive_work_is_delivered_at_every_step() -> None:
    assert await delivered(False, list(STEPS)) == STEPS


async def test_batch_work_is_delivered_once_and_merged() -> None:
    assert await delivered(True, list(STEPS)) == [
        [PromptProcessed(input_tokens=9)],
        [
            ThinkingChunk("let me see"),
            TextChunk("Hello"),
            ToolCallStart("f"),
            ToolCallChunk('{"a": 1}'),
            ToolCallEnd({"a": 1}),
            TextChunk("!"),
            Finished(reason="end_turn", output_tokens=8),
        ],
    ]


async def test_an_error_reaches_batch_work_at_once() -> None:
    error: ParleyError = PreemptedError("preempted by interactive work")
    received = await delivered(True, [*STEPS[:4], error])
    assert received == [[PromptProcessed(input_tokens=9)], error]


def test_merging_keeps_the_order_and_every_character() -> None:
    events: list[BackendEvent] = [TextChunk(c) for c in "abc"]
    assert merged(events) == [TextChunk("abc")]
    assert merged([]) == []
