"""One assembler: backend events → the API's stream events, and the final ``Message``.

A streaming response sends the events as SSE; a non-streaming response is the same
stream drained, returning ``assembler.message``. So both forms always agree.

Block rules (reference §3): blocks are opened in index order and never interleave;
text opens lazily, so whitespace the model writes before or between tool calls does
not become an empty-looking text block; each tool call is a ``tool_use`` block whose
``input_json_delta`` fragments concatenate to its final ``input``. A thinking block is
signed when it closes; with ``display: "omitted"`` it streams no text, only its
signature. A compaction block (``compacted``) comes first, whole: its start carries the
signature and one ``compaction_delta`` the summary.
"""

from __future__ import annotations

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
from parley.messages.signatures import BlockSigner
from parley.wire.responses import (
    CitationsDelta,
    CompactionBlock,
    CompactionDelta,
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
        signer: BlockSigner | None = None,
        omit_thinking: bool = False,
    ) -> None:
        self.message = Message(id=message_id, model=model, usage=usage)
        self._citer = citer
        # Known before the answer starts, reported at its end (``message_delta``).
        self._context_management = context_management
        self._signer = signer
        self._omit_thinking = omit_thinking
        self._compaction: CompactionBlock | None = None
        # Beta usage ``iterations``: the compaction's, before the answer's own.
        self.iterations: list[dict[str, Any]] = []
        self._open: TextBlock | ToolUseBlock | ThinkingBlock | None = None
        self._pending_space = ""
        self._partial_json: list[str] = []
        self._text_parts: list[str] = []
        # Everything the model has said so far, as text: to count an answer cut short.
        self.generated: list[str] = []
        self.started = False
        self.finished = False

    def compacted(self, block: CompactionBlock, iteration: dict[str, Any]) -> None:
        """A compaction block to send first, right after ``message_start``."""
        self._compaction = block
        self.iterations = [iteration]

    def start(self) -> list[RawMessageStreamEvent]:
        self.started = True
        snapshot = self.message.model_copy(deep=True)
        events: list[RawMessageStreamEvent] = [RawMessageStartEvent(message=snapshot)]
        if self._compaction is not None:
            events += self._compaction_block(self._compaction)
        return events

    def paused(self) -> list[RawMessageStreamEvent]:
        """The whole answer when it stops after its compaction block."""
        return [*self.start(), *self._finish(Finished("end_turn", 0), "compaction")]

    def _compaction_block(self, block: CompactionBlock) -> list[RawMessageStreamEvent]:
        index = len(self.message.content)
        self.message.content.append(block)
        start = block.model_copy(update={"content": None})
        delta = CompactionDelta(content=block.content, encrypted_content=block.encrypted_content)
        return [
            RawContentBlockStartEvent(index=index, content_block=start),
            RawContentBlockDeltaEvent(index=index, delta=delta),
            RawContentBlockStopEvent(index=index),
        ]

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
        if not self._omit_thinking:
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

    def _finish(
        self, event: Finished, stop_reason: StopReason | None = None
    ) -> list[RawMessageStreamEvent]:
        events = self._close_block()
        message = self.message
        message.stop_reason = stop_reason or _STOP_REASONS[event.reason]
        message.stop_sequence = event.stop_sequence
        message.usage.output_tokens = event.output_tokens
        if event.thinking_tokens is not None:
            message.usage.output_tokens_details = {"thinking_tokens": event.thinking_tokens}
        message.context_management = self._context_management
        usage = message.usage
        if self.iterations:
            answered = [] if stop_reason == "compaction" else [iteration_usage("message", usage)]
            usage.iterations = [*self.iterations, *answered]
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
                    iterations=usage.iterations,
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
            events.append(self._sign_thinking(self._open))
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

    def _sign_thinking(self, block: ThinkingBlock) -> RawContentBlockDeltaEvent:
        """Signed by this deployment (``signatures.py``), so it can be sent back."""
        thinking = "".join(self._text_parts)
        signer = self._signer
        if self._omit_thinking:
            block.thinking = ""
            block.signature = signer.sign_omitted(thinking) if signer else ""
        else:
            block.thinking = thinking
            block.signature = signer.sign(thinking) if signer else ""
        delta = SignatureDelta(signature=block.signature)
        return RawContentBlockDeltaEvent(index=self._index, delta=delta)


def iteration_usage(kind: str, usage: Usage) -> dict[str, Any]:
    """One entry of the beta usage ``iterations``: a sampling step's own tokens."""
    return {
        "type": kind,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_read_input_tokens": usage.cache_read_input_tokens,
        "cache_creation_input_tokens": usage.cache_creation_input_tokens,
        "cache_creation": usage.cache_creation.model_dump(),
    }
