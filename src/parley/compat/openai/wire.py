"""The body of ``POST /v1/chat/completions``, as the ``openai`` SDK's params types have it.

Nested models reject unknown fields. The top level keeps unknown fields so that
``convert`` can refuse each one by name: OpenAI parameters Parley does not honour
(``logprobs``, ``n`` > 1, penalties, audio, ...) get a 400 that says so, except at the
value that changes nothing (``n: 1``, ``logprobs: false``), which is accepted.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Refused(BaseModel):
    """A shape Parley recognises only to refuse it by name."""

    model_config = ConfigDict(extra="allow", frozen=True)


class TextPart(_Model):
    type: Literal["text"]
    text: str


class ImageURL(_Model):
    url: str
    detail: Literal["auto", "low", "high", "original"] | None = None


class ImagePart(_Model):
    type: Literal["image_url"]
    image_url: ImageURL


class FileRef(_Model):
    file_data: str | None = None
    file_id: str | None = None
    filename: str | None = None


class FilePart(_Model):
    type: Literal["file"]
    file: FileRef


class AudioPart(_Refused):
    type: Literal["input_audio"]


class RefusalPart(_Model):
    type: Literal["refusal"]
    refusal: str


UserPart = Annotated[TextPart | ImagePart | FilePart | AudioPart, Field(discriminator="type")]
AssistantPart = Annotated[TextPart | RefusalPart, Field(discriminator="type")]


class SystemMessage(_Model):
    role: Literal["system", "developer"]
    content: str | list[TextPart]
    name: str | None = None


class UserMessage(_Model):
    role: Literal["user"]
    content: str | list[UserPart]
    name: str | None = None


class FunctionCall(_Model):
    name: str
    arguments: str


class ToolCall(_Model):
    id: str
    type: Literal["function"]
    function: FunctionCall


class AssistantMessage(_Model):
    role: Literal["assistant"]
    content: str | list[AssistantPart] | None = None
    tool_calls: list[ToolCall] | None = None
    refusal: str | None = None
    name: str | None = None
    audio: dict[str, Any] | None = None
    function_call: dict[str, Any] | None = None


class ToolMessage(_Model):
    role: Literal["tool"]
    content: str | list[TextPart]
    tool_call_id: str


class FunctionMessage(_Refused):
    role: Literal["function"]


ChatMessage = Annotated[
    SystemMessage | UserMessage | AssistantMessage | ToolMessage | FunctionMessage,
    Field(discriminator="role"),
]


class FunctionDefinition(_Model):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class FunctionTool(_Model):
    type: Literal["function"]
    function: FunctionDefinition


class CustomTool(_Refused):
    type: Literal["custom"]


Tool = Annotated[FunctionTool | CustomTool, Field(discriminator="type")]


class NamedFunction(_Model):
    name: str


class NamedToolChoice(_Model):
    type: Literal["function"]
    function: NamedFunction


class OtherToolChoice(_Refused):
    type: Literal["allowed_tools", "custom"]


ToolChoice = (
    Literal["none", "auto", "required"]
    | Annotated[NamedToolChoice | OtherToolChoice, Field(discriminator="type")]
)


class TextFormat(_Model):
    type: Literal["text"]


class JSONObjectFormat(_Model):
    type: Literal["json_object"]


class JSONSchemaSpec(_Model):
    name: str
    description: str | None = None
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    strict: bool | None = None


class JSONSchemaFormat(_Model):
    type: Literal["json_schema"]
    json_schema: JSONSchemaSpec


ResponseFormat = Annotated[
    TextFormat | JSONObjectFormat | JSONSchemaFormat, Field(discriminator="type")
]


class StreamOptions(_Model):
    include_usage: bool | None = None
    # Padding against length side channels; Parley's chunks carry none, which the
    # client cannot tell from padding it strips.
    include_obfuscation: bool | None = None


class ChatCompletionCreateParams(BaseModel):
    """The request body; unknown top-level fields are kept for ``convert`` to refuse."""

    model_config = ConfigDict(extra="allow", frozen=True)

    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, ge=0.0, le=1.0)
    stop: str | list[str] | None = None
    seed: int | None = Field(None, ge=-(2**63), le=2**63 - 1)
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    user: str | None = None
    safety_identifier: str | None = None
