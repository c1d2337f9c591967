"""Request content blocks (``ContentBlockParam``) and the message param.

Blocks are a discriminated union on ``type``, so error paths carry the tag as a
segment, as the API's do. Blocks of server tools (web search, code execution, MCP…)
are parsed leniently so that ``rules.py`` can refuse them by name instead of
reporting a confusing schema error.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BeforeValidator, Field

from parley.wire.common import (
    CacheControlEphemeral,
    CitationsConfigParam,
    LenientWireModel,
    WireModel,
)


def _text_shorthand(value: Any) -> Any:
    """``"hi"`` is shorthand for ``[{"type": "text", "text": "hi"}]``."""
    if isinstance(value, str):
        return [{"type": "text", "text": value}]
    return value


# --- citations echoed back in text blocks -------------------------------------------


class CitationCharLocationParam(WireModel):
    type: Literal["char_location"]
    cited_text: str
    document_index: int
    document_title: str | None
    start_char_index: int
    end_char_index: int


class CitationPageLocationParam(WireModel):
    type: Literal["page_location"]
    cited_text: str
    document_index: int
    document_title: str | None
    start_page_number: int
    end_page_number: int


class CitationContentBlockLocationParam(WireModel):
    type: Literal["content_block_location"]
    cited_text: str
    document_index: int
    document_title: str | None
    start_block_index: int
    end_block_index: int


class CitationSearchResultLocationParam(WireModel):
    type: Literal["search_result_location"]
    cited_text: str
    search_result_index: int
    source: str
    title: str | None
    start_block_index: int
    end_block_index: int


class CitationWebSearchResultLocationParam(WireModel):
    type: Literal["web_search_result_location"]
    cited_text: str
    encrypted_index: str
    title: str | None
    url: str


TextCitationParam = Annotated[
    CitationCharLocationParam
    | CitationPageLocationParam
    | CitationContentBlockLocationParam
    | CitationSearchResultLocationParam
    | CitationWebSearchResultLocationParam,
    Field(discriminator="type"),
]


# --- text, image, document ----------------------------------------------------------


class TextBlockParam(WireModel):
    type: Literal["text"]
    text: str
    cache_control: CacheControlEphemeral | None = None
    citations: list[TextCitationParam] | None = None


class Base64ImageSourceParam(WireModel):
    type: Literal["base64"]
    media_type: Literal["image/jpeg", "image/png", "image/gif", "image/webp"]
    data: str


class URLImageSourceParam(WireModel):
    type: Literal["url"]
    url: str


class FileSourceParam(WireModel):
    type: Literal["file"]
    file_id: str


class ImageTransformationsParam(WireModel):
    oversized_image: Literal["downsize", "error"] | None = None


class ImageBlockParam(WireModel):
    type: Literal["image"]
    source: Annotated[
        Base64ImageSourceParam | URLImageSourceParam | FileSourceParam,
        Field(discriminator="type"),
    ]
    cache_control: CacheControlEphemeral | None = None
    transformations: ImageTransformationsParam | None = None


class Base64PDFSourceParam(WireModel):
    type: Literal["base64"]
    media_type: Literal["application/pdf"]
    data: str


class PlainTextSourceParam(WireModel):
    type: Literal["text"]
    media_type: Literal["text/plain"]
    data: str


class ContentBlockSourceParam(WireModel):
    type: Literal["content"]
    content: Annotated[
        list[Annotated[TextBlockParam | ImageBlockParam, Field(discriminator="type")]],
        BeforeValidator(_text_shorthand),
    ]


class URLPDFSourceParam(WireModel):
    type: Literal["url"]
    url: str


class DocumentBlockParam(WireModel):
    type: Literal["document"]
    source: Annotated[
        Base64PDFSourceParam
        | PlainTextSourceParam
        | ContentBlockSourceParam
        | URLPDFSourceParam
        | FileSourceParam,
        Field(discriminator="type"),
    ]
    title: str | None = None
    context: str | None = None
    citations: CitationsConfigParam | None = None
    cache_control: CacheControlEphemeral | None = None


class SearchResultBlockParam(WireModel):
    type: Literal["search_result"]
    source: str
    title: str
    content: list[TextBlockParam]
    citations: CitationsConfigParam | None = None
    cache_control: CacheControlEphemeral | None = None


# --- thinking -----------------------------------------------------------------------


class ThinkingBlockParam(WireModel):
    type: Literal["thinking"]
    thinking: str
    signature: str


class RedactedThinkingBlockParam(WireModel):
    type: Literal["redacted_thinking"]
    data: str


# --- tools --------------------------------------------------------------------------


class DirectCallerParam(WireModel):
    type: Literal["direct"]


class ServerToolCallerParam(WireModel):
    type: Literal["code_execution_20250825", "code_execution_20260120"]
    tool_id: str


class ToolUseBlockParam(WireModel):
    type: Literal["tool_use"]
    id: str
    name: str
    input: dict[str, Any]
    cache_control: CacheControlEphemeral | None = None
    caller: (
        Annotated[DirectCallerParam | ServerToolCallerParam, Field(discriminator="type")] | None
    ) = None
    toolset_name: str | None = None


class ToolReferenceBlockParam(WireModel):
    type: Literal["tool_reference"]
    tool_name: str
    cache_control: CacheControlEphemeral | None = None


class BrowserStateBlockParam(LenientWireModel):
    type: Literal["browser_state"]


ToolResultContentParam = Annotated[
    TextBlockParam
    | ImageBlockParam
    | SearchResultBlockParam
    | DocumentBlockParam
    | ToolReferenceBlockParam
    | BrowserStateBlockParam,
    Field(discriminator="type"),
]


class ToolResultBlockParam(WireModel):
    type: Literal["tool_result"]
    tool_use_id: str
    content: Annotated[list[ToolResultContentParam], BeforeValidator(_text_shorthand)] | None = None
    is_error: bool | None = None
    cache_control: CacheControlEphemeral | None = None
    toolset_name: str | None = None


class ServerBlockParam(LenientWireModel):
    """A block belonging to a server-side feature (server tools, MCP, compaction)."""

    type: Literal[
        "server_tool_use",
        "web_search_tool_result",
        "web_fetch_tool_result",
        "code_execution_tool_result",
        "bash_code_execution_tool_result",
        "text_editor_code_execution_tool_result",
        "tool_search_tool_result",
        "container_upload",
        "mcp_tool_use",
        "mcp_tool_result",
        "mcp_tool_listing",
        "advisor_tool_result",
        "fallback",
        "tool_addition",
        "tool_removal",
    ]


SERVER_BLOCK_TYPES: tuple[str, ...] = get_args(ServerBlockParam.model_fields["type"].annotation)


class CompactionBlockParam(WireModel):
    """A summary of the conversation before it, as a response returned it (beta
    compaction). ``content`` None is a compaction that failed: a no-op."""

    type: Literal["compaction"]
    content: str | None = None
    encrypted_content: str | None = None
    signature: str | None = None
    tool_changes: list[dict[str, Any]] | None = None
    cache_control: CacheControlEphemeral | None = None


class MidConversationSystemBlockParam(WireModel):
    """SDK 0.121.0's form of a system-role message's content."""

    type: Literal["mid_conv_system"]
    content: list[TextBlockParam]
    cache_control: CacheControlEphemeral | None = None


ContentBlockParam = Annotated[
    TextBlockParam
    | ImageBlockParam
    | DocumentBlockParam
    | SearchResultBlockParam
    | ThinkingBlockParam
    | RedactedThinkingBlockParam
    | ToolUseBlockParam
    | ToolResultBlockParam
    | ServerBlockParam
    | CompactionBlockParam
    | MidConversationSystemBlockParam,
    Field(discriminator="type"),
]


class SystemMessageOutputConfigParam(WireModel):
    """Per-turn output settings on a ``role: "system"`` message (beta
    per-turn-control-2026-07-01; Claude Code 2.1.332 sends its effort so)."""

    effort: Literal["low", "medium", "high", "xhigh", "max"] | None = None


class MessageParam(WireModel):
    role: Literal["user", "assistant", "system"]
    content: Annotated[list[ContentBlockParam], BeforeValidator(_text_shorthand)]
    # Only on role "system" messages (checked in messages/rules.py).
    output_config: SystemMessageOutputConfigParam | None = None
    clear_at: Literal["next_user_message", "never"] | None = None


SystemParam = Annotated[list[TextBlockParam], BeforeValidator(_text_shorthand)]
