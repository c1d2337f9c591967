"""Monthly spend limits: what they are, and refusing requests that would pass them.

Three limits can stop a request, checked in this order:

- the **usage tier's** monthly spend cap (``TierConfig.monthly_spend_cap_usd``, the
  Admin API's read-only ``usage_tier`` limit): the hosted API's 429
  ``rate_limit_error`` "You have reached your API usage limits…", with
  ``details.error_code = "enforced_spend_limit_reached"`` and no ``retry-after``
  (waiting a minute does not help);
- the **organization's** own limit (set through the Admin API, else
  ``spend_limits.organization_monthly_usd``) and a **workspace's**: the API's 400
  "You have reached your specified (workspace) API usage limits…".

Each gives the date access returns (the first of next month, UTC). Amounts are whole
US cents. This month's spend is priced from recorded usage (``pricing.py``) and summed
from the database at most every ``refresh`` seconds (so every process sees the others'
usage), after flushing this process's own buffer; at the same moment the organization
is checked for a higher usage tier (``Tiers.maybe_advance``). Limits themselves are
cached like rate-limit overrides and dropped on the change bus's ``spend`` topic.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from parley.config import ModelPricing
from parley.errors import InvalidRequestError, RateLimitError
from parley.metering.pricing import row_cents
from parley.metering.usage import UsageRecorder
from parley.ratelimit.bus import ChangeBus
from parley.ratelimit.tiers import Tiers
from parley.storage import limits as limits_store
from parley.storage.db import Database, utc
from parley.tenancy.principal import Principal


def month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month(now: datetime) -> datetime:
    start = month_start(now)
    return (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )


def usd_to_cents(usd: float | None) -> int | None:
    """Whole cents, halves rounded up (a configured $0.005 is half a cent: 1)."""
    if usd is None:
        return None
    return int((Decimal(str(usd)) * 100).to_integral_value(rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Limit:
    """A self-set limit: ``cents`` None is an explicit "no limit" at its scope."""

    id: str
    scope: str
    scope_id: str
    cents: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class MonthSpend:
    """This month's spend in cents: in all, per workspace, and per API key."""

    total: Decimal
    per_workspace: dict[str | None, Decimal]
    per_key: dict[str | None, Decimal]


class SpendGuard:
    def __init__(
        self,
        db: Database,
        recorder: UsageRecorder,
        tiers: Tiers,
        bus: ChangeBus,
        *,
        pricing: Mapping[str, ModelPricing],
        organization_id: str,
        organization_limit_usd: float | None,
        refresh: float = 5.0,
        ttl: float = 5.0,
    ) -> None:
        self.db = db
        self.recorder = recorder
        self.tiers = tiers
        self.bus = bus
        self.pricing = pricing
        self.organization_id = organization_id
        self.configured_org_cents = usd_to_cents(organization_limit_usd)
        self.refresh = refresh
        self.ttl = ttl
        self._spend: tuple[float, MonthSpend] | None = None
        self._limits: tuple[float, dict[tuple[str, str], Limit]] | None = None
        bus.subscribe("spend", self.forget)

    def forget(self) -> None:
        self._limits = None

    async def check(self, principal: Principal) -> None:
        """Refuse ``principal``'s request when a limit it falls under is reached."""
        await self.tiers.maybe_advance()
        cap = await self.tier_cap_cents()
        org = await self.organization_cents()
        limits = await self.limits()
        own = limits.get(("workspace", principal.workspace_id or ""))
        workspace = own.cents if own is not None else None
        if cap is None and org is None and workspace is None:
            return
        spend = await self.month()
        again = next_month(datetime.now(UTC)).strftime("%Y-%m-%d")
        if cap is not None and spend.total >= cap:
            raise RateLimitError(
                "You have reached your API usage limits: your organization has crossed its "
                "monthly API usage threshold, set based on your organization's API tier. You "
                f"will regain access on {again} at 00:00 UTC.",
                details={"error_code": "enforced_spend_limit_reached"},
                # Waiting does not help until the month turns; the SDKs would retry.
                headers={"x-should-retry": "false"},
            )
        if org is not None and spend.total >= org:
            raise InvalidRequestError(
                f"You have reached your specified API usage limits. You will regain access on "
                f"{again} at 00:00 UTC."
            )
        spent = spend.per_workspace.get(principal.workspace_id, Decimal(0))
        if workspace is not None and spent >= workspace:
            raise InvalidRequestError(
                f"You have reached your specified workspace API usage limits. You will regain "
                f"access on {again} at 00:00 UTC."
            )

    async def tier_cap_cents(self) -> int | None:
        """The current usage tier's monthly spend cap, in cents."""
        return usd_to_cents((await self.tiers.config()).monthly_spend_cap_usd)

    async def organization_cents(self) -> int | None:
        """The organization's own limit: the Admin API's, else the configured one."""
        row = (await self.limits()).get(("organization", self.organization_id))
        return row.cents if row is not None else self.configured_org_cents

    async def limits(self) -> dict[tuple[str, str], Limit]:
        now = time.monotonic()
        if self._limits is not None and self._limits[0] > now:
            return self._limits[1]
        async with self.db.read() as session:
            rows = await limits_store.spend_limits(session)
        table = {
            (r.scope, r.scope_id): Limit(
                r.public_id,
                r.scope,
                r.scope_id,
                r.amount_cents,
                utc(r.created_at) or r.created_at,
                utc(r.updated_at) or r.updated_at,
            )
            for r in rows
        }
        self._limits = (now + self.ttl, table)
        return table

    async def month(self, *, fresh: bool = False) -> MonthSpend:
        """This month's spend, at most ``refresh`` seconds old (summed now if ``fresh``)."""
        now = time.monotonic()
        if not fresh and self._spend is not None and self._spend[0] > now:
            return self._spend[1]
        await self.recorder.flush()
        async with self.db.read() as session:
            rows = await limits_store.tokens_since(session, month_start(datetime.now(UTC)))
        per_workspace: dict[str | None, Decimal] = defaultdict(Decimal)
        per_key: dict[str | None, Decimal] = defaultdict(Decimal)
        for row in rows:
            cents = row_cents(self.pricing, row)
            per_workspace[row["workspace_id"]] += cents  # type: ignore[index]
            per_key[row["api_key_id"]] += cents  # type: ignore[index]
        spend = MonthSpend(
            sum(per_workspace.values(), Decimal(0)), dict(per_workspace), dict(per_key)
        )
        self._spend = (now + self.refresh, spend)
        return spend
