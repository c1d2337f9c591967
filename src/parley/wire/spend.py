"""Spend limits in the shapes of SDK 2.15's ``client.beta.organization.spend_limits``.

Amounts are non-negative integer decimal strings in US cents (``"50000"`` is $500.00);
``null`` is an explicit "no limit" at that scope. A Console organization's limits are
monthly. ``SpendLimitSetParams`` also takes Parley's earlier body
(``{"scope": …, "monthly_usd": 10}``), so scripts written for it keep working.
"""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from parley.wire.common import WireModel


class OrganizationScope(BaseModel):
    type: Literal["organization"] = "organization"


class WorkspaceScope(BaseModel):
    type: Literal["workspace"] = "workspace"
    workspace_id: str


class UsageTierScope(BaseModel):
    type: Literal["usage_tier"] = "usage_tier"


class UserScope(BaseModel):
    type: Literal["user"] = "user"
    user_id: str


Scope = Annotated[
    OrganizationScope | WorkspaceScope | UsageTierScope | UserScope, Field(discriminator="type")
]


class SpendLimit(BaseModel):
    id: str
    type: Literal["spend_limit"] = "spend_limit"
    amount: str | None
    currency: str = "USD"
    is_enabled: bool = True
    period: Literal["daily", "weekly", "monthly"] = "monthly"
    scope: Scope
    created_at: datetime
    updated_at: datetime


class DeletedSpendLimit(BaseModel):
    id: str
    type: Literal["spend_limit_deleted"] = "spend_limit_deleted"


class UserActor(BaseModel):
    type: Literal["user_actor"] = "user_actor"
    user_id: str
    email_address: str | None
    name: str | None
    deleted: bool = False


class SpendSummary(BaseModel):
    """One member's effective limit and this period's spend."""

    actor: UserActor
    amount: str | None
    currency: str = "USD"
    period: Literal["daily", "weekly", "monthly"] = "monthly"
    period_to_date_spend: str
    scope: Scope
    source: Scope
    spend_limit_id: str


class OrganizationScopeParam(WireModel):
    type: Literal["organization"]


class WorkspaceScopeParam(WireModel):
    type: Literal["workspace"]
    workspace_id: str | None = None


class UserScopeParam(WireModel):
    type: Literal["user"]
    user_id: str


class SpendLimitSetParams(WireModel):
    """The SDK's ``set`` body; ``monthly_usd`` instead of ``amount`` is Parley's older form."""

    scope: Annotated[
        OrganizationScopeParam | WorkspaceScopeParam | UserScopeParam,
        Field(discriminator="type"),
    ]
    amount: str | None = Field(None, pattern=r"^[0-9]{1,15}$")
    period: Literal["daily", "weekly", "monthly"] = "monthly"
    monthly_usd: float | None = Field(None, ge=0, le=1e13)

    @model_validator(mode="after")
    def _one_amount(self) -> SpendLimitSetParams:
        given = self.model_fields_set
        if "amount" not in given and "monthly_usd" not in given:
            raise ValueError("amount: Field required")
        if "amount" in given and "monthly_usd" in given:
            raise ValueError("send either amount (cents, as a string) or monthly_usd, not both")
        return self

    def cents(self) -> int | None:
        if "monthly_usd" in self.model_fields_set:
            if self.monthly_usd is None:
                return None
            # Whole cents, rounded up: a limit never allows more than was asked for.
            return math.ceil(Decimal(str(self.monthly_usd)) * 100)
        return None if self.amount is None else int(self.amount)
