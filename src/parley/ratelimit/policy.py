"""Which limits apply to a request: tiers, model groups, and administrator overrides.

A tier (built in, or defined in ``rate_limits.tiers``; the organization's current one
comes from ``tiers.py``) gives per-minute limits for every model group, with per-group
exceptions. The organization's limits for a group are an administrator's override if
one is set, else the tier's. A workspace has limits only where an administrator set
them, and then both its own and the organization's buckets apply. Overrides are cached
for ``override_cache_ttl`` seconds and dropped at once when the change bus says
they changed.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from parley.config import LimitValues, RateLimitSettings, TierConfig
from parley.errors import InvalidRequestError
from parley.ratelimit.bus import ChangeBus
from parley.ratelimit.tiers import BUILT_IN_TIERS, Tiers
from parley.storage import limits as limits_store
from parley.storage.db import Database

__all__ = ["BUILT_IN_TIERS", "KINDS", "LimitPolicy", "ScopedLimits"]

KINDS = ("requests_per_minute", "input_tokens_per_minute", "output_tokens_per_minute")


@dataclass(frozen=True)
class ScopedLimits:
    """The limits one scope puts on one model group."""

    scope: str  # "org" or "workspace"
    scope_id: str
    group: str
    values: LimitValues


class LimitPolicy:
    def __init__(
        self, db: Database, settings: RateLimitSettings, tiers: Tiers, bus: ChangeBus
    ) -> None:
        self.tiers = tiers
        self.db = db
        self.bus = bus
        self.ttl = settings.override_cache_ttl
        self._cache: tuple[float, dict[tuple[str, str, str], LimitValues]] | None = None
        bus.subscribe("limits", self.forget)

    def forget(self) -> None:
        self._cache = None

    async def tier(self) -> TierConfig:
        """The organization's current usage tier."""
        return await self.tiers.config()

    async def tier_limits(self, group: str) -> LimitValues:
        tier = await self.tier()
        return tier.groups.get(group, tier.default)

    async def for_request(
        self, organization_id: str, workspace_id: str | None, group: str
    ) -> list[ScopedLimits]:
        overrides = await self._overrides()
        org = overrides.get(("organization", organization_id, group))
        if org is None:
            org = await self.tier_limits(group)
        found = [ScopedLimits("org", organization_id, group, org)]
        if workspace_id is not None and ("workspace", workspace_id, group) in overrides:
            found.append(
                ScopedLimits(
                    "workspace", workspace_id, group, overrides[("workspace", workspace_id, group)]
                )
            )
        return found

    async def overrides(self) -> dict[tuple[str, str, str], LimitValues]:
        return await self._overrides()

    async def organization_limits(self, organization_id: str, group: str) -> LimitValues:
        """The organization's limits on ``group``: an override, else its usage tier's."""
        found = (await self._overrides()).get(("organization", organization_id, group))
        return found if found is not None else await self.tier_limits(group)

    async def update(
        self, scope: str, scope_id: str, group: str, changes: Mapping[str, int | None]
    ) -> LimitValues:
        """Change some kinds of a scope's limits on ``group`` (None: no limit of that
        kind), keeping the others; the organization starts from its tier's."""
        if scope == "organization":
            base = await self.organization_limits(scope_id, group)
        else:
            base = (await self._overrides()).get((scope, scope_id, group)) or LimitValues()
        values = LimitValues(**{**base.model_dump(), **changes})
        await self.set(scope, scope_id, group, values)
        return values

    async def set(self, scope: str, scope_id: str, group: str, values: LimitValues) -> None:
        if scope == "workspace":
            org_limits = await self.tier_limits(group)
            for kind in KINDS:
                mine, cap = getattr(values, kind), getattr(org_limits, kind)
                if mine is not None and cap is not None and mine > cap:
                    raise InvalidRequestError(
                        f"limits.{kind}: a workspace limit cannot exceed the organization's ({cap})"
                    )
        async with self.db.write() as session:
            await limits_store.set_override(session, scope, scope_id, group, values.model_dump())
        await self.bus.publish("limits")

    async def _overrides(self) -> dict[tuple[str, str, str], LimitValues]:
        now = time.monotonic()
        if self._cache is not None and self._cache[0] > now:
            return self._cache[1]
        async with self.db.read() as session:
            rows = await limits_store.overrides(session)
        table = {
            (row.scope, row.scope_id, row.group_name): LimitValues(
                requests_per_minute=row.requests_per_minute,
                input_tokens_per_minute=row.input_tokens_per_minute,
                output_tokens_per_minute=row.output_tokens_per_minute,
            )
            for row in rows
        }
        self._cache = (now + self.ttl, table)
        return table
