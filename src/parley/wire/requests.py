"""Request bodies: ``MessageCreateParams`` and ``MessageCountTokensParams``.

Both share one base; count_tokens simply lacks the generation fields, so sending
``max_tokens`` there is refused as an unknown field, as the API does. Fields that the
API only accepts under a beta header are declared here and gated by
``BETA_GATED_FIELDS`` (checked in ``conversation.py``), and the three sampling fields
are gated by ``anthropic-version`` the same way.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from parley.wire.common import (
    CacheControlEphemeral,
    LenientWireModel,
    MetadataParam,
    WireModel,
)
from parley.wire.content import MessageParam, SystemParam
from parley.wire.tools import ToolChoiceParam, ToolUnionParam

MAX_MESSAGES = 100_000


# "updates" (beta thinking-display-updates-2026-08-18) is what Claude Code 2.1.332 sends.
ThinkingDisplay = Literal["summarized", "omitted", "updates"]


class ThinkingConfigEnabledParam(WireModel):
    type: Literal["enabled"]
    budget_tokens: int
    display: ThinkingDisplay | None = None


class ThinkingConfigDisabledParam(WireModel):
    type: Literal["disabled"]


class ThinkingConfigAdaptiveParam(WireModel):
    type: Literal["adaptive"]
    display: ThinkingDisplay | None = None


class ThinkingConfigBetweenToolsParam(WireModel):
    type: Literal["between_tools"]


ThinkingConfigParam = Annotated[
    ThinkingConfigEnabledParam
    | ThinkingConfigDisabledParam
    | ThinkingConfigAdaptiveParam
    | ThinkingConfigBetweenToolsParam,
    Field(discriminator="type"),
]


class JSONOutputFormatParam(WireModel):
    type: Literal["json_schema"]
    schema_: dict[str, Any] = Field(alias="schema")


class TaskBudgetParam(WireModel):
    type: Literal["tokens"]
    total: int
    remaining: int | None = None


class OutputConfigParam(WireModel):
    effort: Literal["low", "medium", "high", "xhigh", "max"] | None = None
    format: JSONOutputFormatParam | None = None
    task_budget: TaskBudgetParam | None = None


class SkillParams(WireModel):
    type: Literal["anthropic", "custom"]
    skill_id: str
    version: str | None = None


class ContainerParams(WireModel):
    id: str | None = None
    skills: list[SkillParams] | None = None


class DiagnosticsParam(WireModel):
    previous_message_id: str | None = None


class InputTokensParam(WireModel):
    type: Literal["input_tokens"]
    value: int = Field(ge=0)


class ToolUsesParam(WireModel):
    type: Literal["tool_uses"]
    value: int = Field(ge=0)


class ClearToolUsesEditParam(WireModel):
    """``clear_tool_uses_20250919``: older tool results (and optionally inputs) replaced by
    a placeholder once the conversation passes ``trigger``."""

    type: Literal["clear_tool_uses_20250919"]
    trigger: Annotated[InputTokensParam | ToolUsesParam, Field(discriminator="type")] | None = None
    keep: ToolUsesParam | None = None
    clear_at_least: InputTokensParam | None = None
    exclude_tools: list[str] | None = None
    clear_tool_inputs: bool | list[str] | None = None


class CompactEditParam(WireModel):
    """``compact_20260112``: once the conversation passes ``trigger``, the serving model
    summarizes it and the answer goes on from the summary (``messages/compaction.py``)."""

    type: Literal["compact_20260112"]
    trigger: InputTokensParam | None = None
    instructions: str | None = None
    pause_after_compaction: bool | None = None


class OtherContextEditParam(LenientWireModel):
    """The edits Parley accepts only to apply as documented elsewhere, or to refuse."""

    type: Literal["clear_thinking_20251015"]


ContextManagementEdit = Annotated[
    ClearToolUsesEditParam | CompactEditParam | OtherContextEditParam,
    Field(discriminator="type"),
]


class ContextManagementConfigParam(WireModel):
    edits: list[ContextManagementEdit] | None = None


class CompactionConfigParam(WireModel):
    """The ``compaction`` parameter: the request summarizes its whole conversation and
    the answer is that one ``compaction`` block."""

    type: Literal["summarize"]
    instructions: str | None = None


class _MessageInputParams(WireModel):
    """Fields shared by message creation and token counting."""

    model: str = Field(min_length=1)
    messages: list[MessageParam] = Field(max_length=MAX_MESSAGES)
    system: SystemParam | None = None
    tools: list[ToolUnionParam] | None = None
    tool_choice: ToolChoiceParam | None = None
    thinking: ThinkingConfigParam | None = None
    output_config: OutputConfigParam | None = None
    cache_control: CacheControlEphemeral | None = None
    speed: Literal["standard", "fast"] | None = None
    # Beta fields (see BETA_GATED_FIELDS).
    context_management: ContextManagementConfigParam | None = None
    compaction: CompactionConfigParam | None = None
    mcp_servers: list[dict[str, Any]] | None = None
    output_format: JSONOutputFormatParam | None = None


class MessageCountTokensParams(_MessageInputParams):
    pass


class MessageCreateParams(_MessageInputParams):
    max_tokens: int = Field(ge=0)
    stop_sequences: list[str] | None = None
    stream: bool | None = None
    temperature: float | None = Field(None, ge=0.0, le=1.0)
    top_p: float | None = Field(None, ge=0.0, le=1.0)
    top_k: int | None = Field(None, ge=0)
    metadata: MetadataParam | None = None
    service_tier: Literal["auto", "standard_only"] | None = None
    container: str | ContainerParams | None = None
    diagnostics: DiagnosticsParam | None = None
    inference_geo: str | None = None


SAMPLING_FIELDS = ("temperature", "top_p", "top_k")

# Body fields the API accepts only when one of these betas is sent.
BETA_GATED_FIELDS: dict[str, tuple[str, ...]] = {
    "context_management": ("context-management-2025-06-27", "compact-2026-01-12"),
    "compaction": ("compact-2026-09-04", "compact-2026-01-12"),
    "mcp_servers": ("mcp-client-2025-04-04", "mcp-client-2025-11-20"),
    "output_format": ("structured-outputs-2025-11-13",),
}
