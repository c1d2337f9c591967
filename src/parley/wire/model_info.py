"""``ModelInfo`` and its capabilities, as ``GET /v1/models`` returns them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel


class CapabilitySupport(BaseModel):
    supported: bool


class ThinkingTypes(BaseModel):
    adaptive: CapabilitySupport
    between_tools: CapabilitySupport
    disabled: CapabilitySupport
    enabled: CapabilitySupport


class ThinkingCapability(BaseModel):
    supported: bool
    types: ThinkingTypes


class ContextManagementCapability(BaseModel):
    supported: bool
    clear_thinking_20251015: CapabilitySupport | None = None
    clear_tool_uses_20250919: CapabilitySupport | None = None
    compact_20260112: CapabilitySupport | None = None


class EffortCapability(BaseModel):
    supported: bool
    low: CapabilitySupport
    medium: CapabilitySupport
    high: CapabilitySupport
    max: CapabilitySupport
    xhigh: CapabilitySupport | None = None


class ServerToolsCapability(BaseModel):
    supported: bool
    code_execution: CapabilitySupport
    web_search: CapabilitySupport


class ModelCapabilities(BaseModel):
    batch: CapabilitySupport
    citations: CapabilitySupport
    code_execution: CapabilitySupport
    context_management: ContextManagementCapability
    effort: EffortCapability
    image_input: CapabilitySupport
    pdf_input: CapabilitySupport
    server_tools: ServerToolsCapability
    structured_outputs: CapabilitySupport
    thinking: ThinkingCapability


class ModelInfo(BaseModel):
    type: Literal["model"] = "model"
    id: str
    display_name: str
    created_at: datetime
    lifecycle: Literal["active", "deprecated", "retired"] = "active"
    deprecated_at: datetime | None = None
    retires_at: datetime | None = None
    line: Literal["haiku", "sonnet", "opus", "fable", "mythos"] | None = None
    max_input_tokens: int | None = None
    max_tokens: int | None = None
    capabilities: ModelCapabilities | None = None
