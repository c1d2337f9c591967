"""Response objects: ``Message``, its content blocks and usage, and the SSE events.

Field order and optionality follow the SDK's generated types. ``Message.to_wire()``
leaves out the optional members the API only sends when asked for
(``diagnostics``, ``context_management``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

StopReason = Literal[
    "end_turn",
    "max_tokens",
    "stop_sequence",
    "tool_use",
    "pause_turn",
    "refusal",
    "model_context_window_exceeded",
    "compaction",  # beta: paused after a compaction block
]


class TextBlock(BaseModel):
    type: Literal["text"] = "text"
    text: str
    citations: list[dict[str, Any]] | None = None


class ToolUseBlock(BaseModel):
    type: Literal["tool_use"] = "tool_use"
    id: str
    name: str
    input: dict[str, Any]


class ThinkingBlock(BaseModel):
    type: Literal["thinking"] = "thinking"
    thinking: str
    signature: str


class CompactionBlock(BaseModel):
    """Beta: the summary that stands for the conversation before it."""

    type: Literal["compaction"] = "compaction"
    content: str | None
    encrypted_content: str | None = None
    signature: str | None = None


ContentBlock = TextBlock | ToolUseBlock | ThinkingBlock | CompactionBlock


class CacheCreation(BaseModel):
    ephemeral_5m_input_tokens: int = 0
    ephemeral_1h_input_tokens: int = 0


class Usage(BaseModel):
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation: CacheCreation = Field(default_factory=CacheCreation)
    server_tool_use: dict[str, int] | None = None
    service_tier: Literal["standard", "priority", "batch"] = "standard"
    inference_geo: str | None = None
    # Of output_tokens, how many were thinking; only for a model that can think.
    output_tokens_details: dict[str, int] | None = None
    # Beta: one entry per sampling step when there was more than one (a compaction).
    iterations: list[dict[str, Any]] | None = None


class Message(BaseModel):
    id: str
    type: Literal["message"] = "message"
    role: Literal["assistant"] = "assistant"
    content: list[ContentBlock] = Field(default_factory=list)
    model: str
    stop_reason: StopReason | None = None
    stop_sequence: str | None = None
    stop_details: dict[str, Any] | None = None
    container: dict[str, Any] | None = None
    usage: Usage
    diagnostics: dict[str, Any] | None = None
    context_management: dict[str, Any] | None = None

    def to_wire(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        for optional in ("diagnostics", "context_management"):
            if data[optional] is None:
                del data[optional]
        for optional in ("output_tokens_details", "iterations"):
            if data["usage"][optional] is None:
                del data["usage"][optional]
        return data


class MessageTokensCount(BaseModel):
    input_tokens: int
    context_management: dict[str, Any] | None = None  # beta: when edits were asked for

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


# --- stream events (reference §3) -------------------------------------------------


class TextDelta(BaseModel):
    type: Literal["text_delta"] = "text_delta"
    text: str


class InputJSONDelta(BaseModel):
    type: Literal["input_json_delta"] = "input_json_delta"
    partial_json: str


class ThinkingDelta(BaseModel):
    type: Literal["thinking_delta"] = "thinking_delta"
    thinking: str


class SignatureDelta(BaseModel):
    type: Literal["signature_delta"] = "signature_delta"
    signature: str


class CitationsDelta(BaseModel):
    type: Literal["citations_delta"] = "citations_delta"
    citation: dict[str, Any]


class CompactionDelta(BaseModel):
    """Beta: a compaction block's whole summary, in one delta."""

    type: Literal["compaction_delta"] = "compaction_delta"
    content: str | None
    encrypted_content: str | None = None


RawContentBlockDelta = (
    TextDelta | InputJSONDelta | ThinkingDelta | SignatureDelta | CitationsDelta | CompactionDelta
)


class RawMessageStartEvent(BaseModel):
    type: Literal["message_start"] = "message_start"
    message: Message


class RawContentBlockStartEvent(BaseModel):
    type: Literal["content_block_start"] = "content_block_start"
    index: int
    content_block: ContentBlock


class RawContentBlockDeltaEvent(BaseModel):
    type: Literal["content_block_delta"] = "content_block_delta"
    index: int
    delta: RawContentBlockDelta


class RawContentBlockStopEvent(BaseModel):
    type: Literal["content_block_stop"] = "content_block_stop"
    index: int


class MessageDeltaFields(BaseModel):
    stop_reason: StopReason | None = None
    stop_sequence: str | None = None
    stop_details: dict[str, Any] | None = None


class MessageDeltaUsage(BaseModel):
    output_tokens: int
    input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    output_tokens_details: dict[str, int] | None = None  # left out when None
    iterations: list[dict[str, Any]] | None = None  # beta: left out when None


class RawMessageDeltaEvent(BaseModel):
    type: Literal["message_delta"] = "message_delta"
    delta: MessageDeltaFields
    usage: MessageDeltaUsage
    context_management: dict[str, Any] | None = None  # beta: left out when None


class RawMessageStopEvent(BaseModel):
    type: Literal["message_stop"] = "message_stop"


RawMessageStreamEvent = (
    RawMessageStartEvent
    | RawContentBlockStartEvent
    | RawContentBlockDeltaEvent
    | RawContentBlockStopEvent
    | RawMessageDeltaEvent
    | RawMessageStopEvent
)
