"""Parley's additions to the Admin API for plans: the usage tier and Priority Tier
capacity (the hosted API shows both only in its console). Amounts are US cents as
decimal strings, as the SDK's spend shapes have them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from parley.wire.common import WireModel


class TierMove(BaseModel):
    from_tier: str
    to_tier: str
    reason: str
    changed_at: datetime
    cumulative_spend: str


class NextTier(BaseModel):
    tier: str
    advance_at: str | None
    advance_after_days: float


class UsageTier(BaseModel):
    type: Literal["usage_tier"] = "usage_tier"
    tier: str
    configured_tier: str
    ladder: list[str]
    cumulative_spend: str
    first_usage_at: datetime | None
    monthly_spend_cap: str | None
    next_tier: NextTier | None
    history: list[TierMove]


class OrganizationScope(WireModel):
    type: Literal["organization"]


class WorkspaceScope(WireModel):
    type: Literal["workspace"]
    workspace_id: str = Field(min_length=1)


class PriorityCapacity(BaseModel):
    type: Literal["priority_capacity"] = "priority_capacity"
    scope: dict[str, str]
    input_tokens_per_minute: int
    output_tokens_per_minute: int


class PriorityCapacitySetParams(WireModel):
    """Zero for both removes the commitment."""

    scope: Annotated[OrganizationScope | WorkspaceScope, Field(discriminator="type")]
    input_tokens_per_minute: int = Field(ge=0, le=10**12)
    output_tokens_per_minute: int = Field(ge=0, le=10**12)
