"""Tool definitions (``ToolUnionParam``) and ``tool_choice``.

A custom tool has no ``type`` (or ``"custom"``); every other tool is one Anthropic
defines by a dated ``type``. The client-executed ones (bash, the text editor, memory,
computer use) are parsed strictly with their documented fields: the client runs them,
so Parley serves them with the input schemas in ``messages/client_tools.py``. The rest
(server tools, toolsets, MCP) are parsed leniently here and refused by name in
``messages/rules.py``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import ConfigDict, Discriminator, Field, Tag

from parley.wire.common import CacheControlEphemeral, LenientWireModel, WireModel

TOOL_NAME_PATTERN = r"^[a-zA-Z0-9_-]{1,64}$"

BashType = Literal["bash_20241022", "bash_20250124"]
TextEditorType = Literal[
    "text_editor_20241022", "text_editor_20250124", "text_editor_20250429", "text_editor_20250728"
]
MemoryType = Literal["memory_20250818"]
ComputerType = Literal["computer_20241022", "computer_20250124", "computer_20251124"]
# Each client-executed tool type and the family of wire model that parses it.
CLIENT_TOOL_FAMILIES: dict[str, str] = {
    **{t: "bash" for t in get_args(BashType)},
    **{t: "text_editor" for t in get_args(TextEditorType)},
    **{t: "memory" for t in get_args(MemoryType)},
    **{t: "computer" for t in get_args(ComputerType)},
}
# The Anthropic-defined tools Parley accepts only to refuse them by name.
ANTHROPIC_TOOL_TYPES = frozenset(
    {
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


Caller = Literal[
    "direct", "code_execution_20250825", "code_execution_20260120", "code_execution_20260521"
]


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
    allowed_callers: list[Caller] | None = None


class _ClientToolParam(WireModel):
    """The fields every client-executed Anthropic tool takes besides its name and type."""

    cache_control: CacheControlEphemeral | None = None
    strict: bool | None = None
    defer_loading: bool | None = None
    input_examples: list[dict[str, Any]] | None = None
    allowed_callers: list[Caller] | None = None


class BashToolParam(_ClientToolParam):
    type: BashType
    name: Literal["bash"]


class TextEditorToolParam(_ClientToolParam):
    """``str_replace_editor`` up to ``text_editor_20250124``, then
    ``str_replace_based_edit_tool`` (which version takes which name is a rule)."""

    type: TextEditorType
    name: Literal["str_replace_editor", "str_replace_based_edit_tool"]
    max_characters: int | None = Field(default=None, ge=1)


class MemoryToolParam(_ClientToolParam):
    type: MemoryType
    name: Literal["memory"]


class ComputerToolParam(_ClientToolParam):
    type: ComputerType
    name: Literal["computer"]
    display_width_px: int = Field(ge=1)
    display_height_px: int = Field(ge=1)
    display_number: int | None = Field(default=None, ge=0)
    enable_zoom: bool | None = None


ClientToolParam = BashToolParam | TextEditorToolParam | MemoryToolParam | ComputerToolParam


class AnthropicToolParam(LenientWireModel):
    """A tool Anthropic defines (``bash_20250124``, ``web_search_20250305``…)."""

    type: str
    name: str | None = None


def _tool_tag(value: Any) -> str | None:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    if kind in (None, "custom"):
        return "custom"
    if isinstance(kind, str) and kind in CLIENT_TOOL_FAMILIES:
        return CLIENT_TOOL_FAMILIES[kind]
    if kind in ANTHROPIC_TOOL_TYPES:
        return "anthropic"
    return None


ToolUnionParam = Annotated[
    Annotated[ToolParam, Tag("custom")]
    | Annotated[BashToolParam, Tag("bash")]
    | Annotated[TextEditorToolParam, Tag("text_editor")]
    | Annotated[MemoryToolParam, Tag("memory")]
    | Annotated[ComputerToolParam, Tag("computer")]
    | Annotated[AnthropicToolParam, Tag("anthropic")],
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
