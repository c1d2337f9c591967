"""Tool definitions (``ToolUnionParam``) and ``tool_choice``.

A custom tool has no ``type`` (or ``"custom"``); every other tool is one Anthropic
defines by a dated ``type``. Those are parsed leniently here and refused by name in
``conversation.py`` when the serving backend cannot run them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Discriminator, Field, Tag

from parley.wire.common import CacheControlEphemeral, LenientWireModel, WireModel

TOOL_NAME_PATTERN = r"^[a-zA-Z0-9_-]{1,64}$"

ANTHROPIC_TOOL_TYPES = frozenset(
    {
        "bash_20241022",
        "bash_20250124",
        "text_editor_20241022",
        "text_editor_20250124",
        "text_editor_20250429",
        "text_editor_20250728",
        "computer_20241022",
        "computer_20250124",
        "computer_20251124",
        "memory_20250818",
        "web_search_20250305",
        "web_search_20260209",
        "web_search_20260318",
        "web_fetch_20250910",
        "web_fetch_20260209",
        "web_fetch_20260309",
        "web_fetch_20260318",
        "code_execution_20250522",
        "code_execution_20250825",
        "code_execution_20260120",
        "code_execution_20260521",
        "tool_search_tool_regex",
        "tool_search_tool_regex_20251119",
        "tool_search_tool_bm25",
        "tool_search_tool_bm25_20251119",
        "advisor_20260301",
        "mcp_toolset",
        "browser_toolset_20260801",
        "computer_toolset_20260801",
    }
)


class InputSchema(WireModel):
    """A JSON Schema for a tool's input; only ``type: object`` is checked here."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)

    type: Literal["object"]
    properties: dict[str, Any] | None = None
    required: list[str] | None = None


class ToolParam(WireModel):
    name: str = Field(pattern=TOOL_NAME_PATTERN)
    input_schema: InputSchema
    description: str | None = None
    type: Literal["custom"] | None = None
    cache_control: CacheControlEphemeral | None = None
    strict: bool | None = None
    eager_input_streaming: bool | None = None
    defer_loading: bool | None = None
    input_examples: list[dict[str, Any]] | None = None
    allowed_callers: (
        list[
            Literal[
                "direct",
                "code_execution_20250825",
                "code_execution_20260120",
                "code_execution_20260521",
            ]
        ]
        | None
    ) = None


class AnthropicToolParam(LenientWireModel):
    """A tool Anthropic defines (``bash_20250124``, ``web_search_20250305``…)."""

    type: str
    name: str | None = None


def _tool_tag(value: Any) -> str | None:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    if kind in (None, "custom"):
        return "custom"
    if kind in ANTHROPIC_TOOL_TYPES:
        return "anthropic"
    return None


ToolUnionParam = Annotated[
    Annotated[ToolParam, Tag("custom")] | Annotated[AnthropicToolParam, Tag("anthropic")],
    Discriminator(
        _tool_tag,
        custom_error_type="invalid_tool_type",
        custom_error_message=(
            'tool type is not valid: leave `type` out (or set "custom") for a custom '
            "tool, or use one of the Anthropic-defined tool types"
        ),
    ),
]


class ToolChoiceAutoParam(WireModel):
    type: Literal["auto"]
    disable_parallel_tool_use: bool | None = None


class ToolChoiceAnyParam(WireModel):
    type: Literal["any"]
    disable_parallel_tool_use: bool | None = None


class ToolChoiceToolParam(WireModel):
    type: Literal["tool"]
    name: str
    disable_parallel_tool_use: bool | None = None


class ToolChoiceNoneParam(WireModel):
    type: Literal["none"]


ToolChoiceParam = Annotated[
    ToolChoiceAutoParam | ToolChoiceAnyParam | ToolChoiceToolParam | ToolChoiceNoneParam,
    Field(discriminator="type"),
]
