"""One assembler: backend events → the API's stream events, and the final ``Message``.

A streaming response sends the events as SSE; a non-streaming response is the same
stream drained, returning ``assembler.message``. So both forms always agree.

Block rules (reference §3): blocks are opened in index order and never interleave;
text opens lazily, so whitespace the model writes before or between tool calls does
not become an empty-looking text block; each tool call is a ``tool_use`` block whose
``input_json_delta`` fragments concatenate to its final ``input``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from parley.backends.base import (
    BackendEvent,
    Finished,
    TextChunk,
    ThinkingChunk,
    ToolCallChunk,
    ToolCallEnd,
    ToolCallStart,
)
from parley.ids import new_id
from parley.messages.citations import Citer
from parley.wire.responses import (
    CitationsDelta,
    InputJSONDelta,
    Message,
    MessageDeltaFields,
    MessageDeltaUsage,
    RawContentBlockDeltaEvent,
    RawContentBlockStartEvent,
    RawContentBlockStopEvent,
    RawMessageDeltaEvent,
    RawMessageStartEvent,
    RawMessageStopEvent,
    RawMessageStreamEvent,
    SignatureDelta,
    StopReason,
    TextBlock,
    TextDelta,
    ThinkingBlock,
    ThinkingDelta,
    ToolUseBlock,
    Usage,
)


class StreamAccepted:
    """Marker in a service stream: the backend accepted the request. Never sent."""


ACCEPTED = StreamAccepted()

_STOP_REASONS: dict[str, StopReason] = {
    "end_turn": "end_turn",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "tool_use": "tool_use",
    "context_window": "model_context_window_exceeded",
}


class MessageAssembler:
    def __init__(
        self,
        *,
        message_id: str,
        model: str,
        usage: Usage,
        citer: Citer | None = None,
        context_management: dict[str, Any] | None = None,
        sign: Callable[[str], str] | None = None,
    ) -> None:
        self.message = Message(id=message_id, model=model, usage=usage)
        self._citer = citer
        # Known before the answer starts, reported at its end (``message_delta``).
        self._context_management = context_management
        self._sign = sign
        self._open: TextBlock | ToolUseBlock | ThinkingBlock | None = None
        self._pending_space = ""
        self._partial_json: list[str] = []
        self._text_parts: list[str] = []
        # Everything the model has said so far, as text: to count an answer cut short.
        self.generated: list[str] = []
        self.started = False
        self.finished = False

    def start(self) -> list[RawMessageStreamEvent]:
        self.started = True
        snapshot = self.message.model_copy(deep=True)
        return [RawMessageStartEvent(message=snapshot)]

    def feed(self, event: BackendEvent) -> list[RawMessageStreamEvent]:
        if isinstance(event, TextChunk):
            self.generated.append(event.text)
            return self._text(event.text)
        if isinstance(event, ThinkingChunk):
            self.generated.append(event.text)
            return self._thinking(event.text)
        if isinstance(event, ToolCallStart):
            self.generated.append(event.name)
            return self._tool_start(event.name)
        if isinstance(event, ToolCallChunk):
            self.generated.append(event.json)
            return self._tool_chunk(event.json)
        if isinstance(event, ToolCallEnd):
            return self._tool_end(event)
        if isinstance(event, Finished):
            return self._finish(event)
        return []

    @property
    def _index(self) -> int:
        return len(self.message.content) - 1

    def _text(self, text: str) -> list[RawMessageStreamEvent]:
        events: list[RawMessageStreamEvent] = []
        if not isinstance(self._open, TextBlock):
            if not text.strip():
                self._pending_space += text
                return events
            text, self._pending_space = self._pending_space + text, ""
            events += self._open_block(TextBlock(text=""))
            self._text_parts = []
        self._text_parts.append(text)
        events.append(RawContentBlockDeltaEvent(index=self._index, delta=TextDelta(text=text)))
        return events

    def _thinking(self, text: str) -> list[RawMessageStreamEvent]:
        events: list[RawMessageStreamEvent] = []
        if not isinstance(self._open, ThinkingBlock):
            events += self._open_block(ThinkingBlock(thinking="", signature=""))
            self._text_parts = []
        self._text_parts.append(text)
        delta = ThinkingDelta(thinking=text)
        events.append(RawContentBlockDeltaEvent(index=self._index, delta=delta))
        return events

    def _tool_start(self, name: str) -> list[RawMessageStreamEvent]:
        self._pending_space = ""
        block = ToolUseBlock(id=new_id("toolu"), name=name, input={})
        self._partial_json = []
        return self._open_block(block)

    def _tool_chunk(self, fragment: str) -> list[RawMessageStreamEvent]:
        if not fragment:
            return []
        self._partial_json.append(fragment)
        delta = InputJSONDelta(partial_json=fragment)
        return [RawContentBlockDeltaEvent(index=self._index, delta=delta)]

    def _tool_end(self, event: ToolCallEnd) -> list[RawMessageStreamEvent]:
        assert isinstance(self._open, ToolUseBlock)
        self._open.input = event.arguments
        return self._close_block()

    def _finish(self, event: Finished) -> list[RawMessageStreamEvent]:
        events = self._close_block()
        message = self.message
        message.stop_reason = _STOP_REASONS[event.reason]
        message.stop_sequence = event.stop_sequence
        message.usage.output_tokens = event.output_tokens
        if event.thinking_tokens is not None:
            message.usage.output_tokens_details = {"thinking_tokens": event.thinking_tokens}
        message.context_management = self._context_management
        usage = message.usage
        events.append(
            RawMessageDeltaEvent(
                delta=MessageDeltaFields(
                    stop_reason=message.stop_reason, stop_sequence=message.stop_sequence
                ),
                usage=MessageDeltaUsage(
                    output_tokens=usage.output_tokens,
                    input_tokens=usage.input_tokens,
                    cache_creation_input_tokens=usage.cache_creation_input_tokens,
                    cache_read_input_tokens=usage.cache_read_input_tokens,
                    output_tokens_details=usage.output_tokens_details,
                ),
                context_management=message.context_management,
            )
        )
        events.append(RawMessageStopEvent())
        self.finished = True
        return events

    def _open_block(
        self, block: TextBlock | ToolUseBlock | ThinkingBlock
    ) -> list[RawMessageStreamEvent]:
        events = self._close_block()
        start = RawContentBlockStartEvent(
            index=len(self.message.content), content_block=block.model_copy(deep=True)
        )
        self.message.content.append(block)
        self._open = block
        events.append(start)
        return events

    def _close_block(self) -> list[RawMessageStreamEvent]:
        if self._open is None:
            return []
        events: list[RawMessageStreamEvent] = []
        if isinstance(self._open, ThinkingBlock):
            # Signed by this deployment (``signatures.py``), so it can be sent back.
            self._open.thinking = "".join(self._text_parts)
            self._open.signature = self._sign(self._open.thinking) if self._sign else ""
            delta = SignatureDelta(signature=self._open.signature)
            events.append(RawContentBlockDeltaEvent(index=self._index, delta=delta))
        if isinstance(self._open, TextBlock):
            self._open.text = "".join(self._text_parts)
            if self._citer is not None:
                citations = self._citer.cite(self._open.text)
                self._open.citations = citations or None
                events += [
                    RawContentBlockDeltaEvent(index=self._index, delta=CitationsDelta(citation=c))
                    for c in citations
                ]
        self._open = None
        return [*events, RawContentBlockStopEvent(index=self._index)]
