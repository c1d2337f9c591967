"""Monthly spend limits for the organization and its workspaces.

Spend this month is priced from recorded usage (``pricing.py``), refreshed from the
database at most every ``refresh`` seconds (so every process sees the others' usage)
after flushing this process's own buffer. Reaching a limit gives the API's error for
self-set limits: 400 ``invalid_request_error``, "You have reached your specified API
usage limits…", with the date access returns (the first of next month, UTC).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal

from parley.config import ModelPricing
from parley.errors import InvalidRequestError
from parley.metering.pricing import row_cents
from parley.metering.usage import UsageRecorder
from parley.storage import limits as limits_store
from parley.storage.db import Database
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


class SpendGuard:
    def __init__(
        self,
        db: Database,
        recorder: UsageRecorder,
        *,
        pricing: Mapping[str, ModelPricing],
        organization_id: str,
        organization_limit_usd: float | None,
        refresh: float = 5.0,
    ) -> None:
        self.db = db
        self.recorder = recorder
        self.pricing = pricing
        self.organization_id = organization_id
        self.configured_org_limit = organization_limit_usd
        self.refresh = refresh
        self._spend: tuple[float, Decimal, dict[str | None, Decimal]] | None = None
        self._limits: dict[tuple[str, str], float | None] | None = None

    async def check(self, principal: Principal) -> None:
        limits = await self.limits()
        org_limit = limits.get(("organization", self.organization_id), self.configured_org_limit)
        ws_limit = limits.get(("workspace", principal.workspace_id or ""))
        if org_limit is None and ws_limit is None:
            return
        total, per_workspace = await self._current()
        again = next_month(datetime.now(UTC)).strftime("%Y-%m-%d")
        if org_limit is not None and total >= Decimal(str(org_limit)) * 100:
            raise InvalidRequestError(
                f"You have reached your specified API usage limits. You will regain access on "
                f"{again} at 00:00 UTC."
            )
        spent = per_workspace.get(principal.workspace_id, Decimal(0))
        if ws_limit is not None and spent >= Decimal(str(ws_limit)) * 100:
            raise InvalidRequestError(
                f"You have reached your specified workspace API usage limits. You will regain "
                f"access on {again} at 00:00 UTC."
            )

    async def limits(self) -> dict[tuple[str, str], float | None]:
        if self._limits is None:
            async with self.db.read() as session:
                rows = await limits_store.spend_limits(session)
            self._limits = {(r.scope, r.scope_id): r.monthly_usd for r in rows}
        return self._limits

    async def set_limit(self, scope: str, scope_id: str, monthly_usd: float | None) -> None:
        async with self.db.write() as session:
            await limits_store.set_spend_limit(session, scope, scope_id, monthly_usd)
        self._limits = None

    async def spent_cents(self) -> tuple[Decimal, dict[str | None, Decimal]]:
        return await self._current()

    async def _current(self) -> tuple[Decimal, dict[str | None, Decimal]]:
        now = time.monotonic()
        if self._spend is not None and self._spend[0] > now:
            return self._spend[1], self._spend[2]
        await self.recorder.flush()
        async with self.db.read() as session:
            rows = await limits_store.tokens_since(session, month_start(datetime.now(UTC)))
        per_workspace: dict[str | None, Decimal] = defaultdict(Decimal)
        for row in rows:
            per_workspace[row["workspace_id"]] += row_cents(self.pricing, row)  # type: ignore[index]
        total = sum(per_workspace.values(), Decimal(0))
        self._spend = (now + self.refresh, total, dict(per_workspace))
        return total, dict(per_workspace)
