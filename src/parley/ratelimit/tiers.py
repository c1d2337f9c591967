"""Usage tiers, and the organization climbing them as its cumulative spend grows.

The built-in tiers follow the hosted API: Start, Build and Scale with today's per-model
limits and monthly spend caps ($500, $1,000, $200,000). The hosted API no longer
publishes what moves an organization up; the thresholds built in are the last it did
publish (2025), for the tiers with the same spend caps: $200 of cumulative spend and 7
days after the first usage for Build (then Tier 3), $400 and 14 days for Scale (then
Tier 4). A deployment sets its own in ``rate_limits.tiers`` and ``rate_limits.ladder``.

The organization's tier is the configured one (``rate_limits.tier``) until it moves;
then it is the one recorded in the database, as long as that stands higher on the
ladder than the configured one (so raising the configured tier still takes effect,
and a move is never undone by itself). Only a tier on the ladder advances.

``maybe_advance`` runs on the request path at most every ``check_every`` seconds (the
spend cache's refresh): it sums the organization's spend since its first usage and
moves it up as far as it qualifies, one recorded step per tier, with a
compare-and-set on the organization row, so two processes evaluating at once record
each move once. A move is published on the change bus, so every process applies the
new tier's limits at once; each process also rereads the tier every ``ttl`` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from parley.config import LimitValues, ModelPricing, RateLimitSettings, TierConfig
from parley.metering.pricing import row_cents
from parley.metering.usage import UsageRecorder
from parley.ratelimit.bus import ChangeBus
from parley.storage import limits as limits_store
from parley.storage import plans
from parley.storage.db import Database, utc
from parley.storage.tables import TierChange
from parley.wire import plans as wire

_MODEL_LIMITS = {
    "start": LimitValues(
        requests_per_minute=1_000,
        input_tokens_per_minute=2_000_000,
        output_tokens_per_minute=400_000,
    ),
    "build": LimitValues(
        requests_per_minute=5_000,
        input_tokens_per_minute=5_000_000,
        output_tokens_per_minute=1_000_000,
    ),
    "scale": LimitValues(
        requests_per_minute=10_000,
        input_tokens_per_minute=10_000_000,
        output_tokens_per_minute=2_000_000,
    ),
}
BUILT_IN_TIERS: dict[str, TierConfig] = {
    "unlimited": TierConfig(),
    "start": TierConfig(
        default=_MODEL_LIMITS["start"],
        count_tokens_requests_per_minute=2_000,
        batch_queue_limit=200_000,
        monthly_spend_cap_usd=500,
    ),
    "build": TierConfig(
        default=_MODEL_LIMITS["build"],
        count_tokens_requests_per_minute=4_000,
        batch_queue_limit=300_000,
        monthly_spend_cap_usd=1_000,
        advance_at_usd=200,
        advance_after_days=7,
    ),
    "scale": TierConfig(
        default=_MODEL_LIMITS["scale"],
        count_tokens_requests_per_minute=8_000,
        batch_queue_limit=500_000,
        monthly_spend_cap_usd=200_000,
        advance_at_usd=400,
        advance_after_days=14,
    ),
}


@dataclass(frozen=True)
class Standing:
    """Where the organization stands: its tier, what it has spent since its first usage
    (cents), when that was, and the next tier on the ladder, if any."""

    tier: str
    spend_cents: Decimal
    first_usage: datetime | None
    next_tier: str | None


class Tiers:
    def __init__(
        self,
        db: Database,
        settings: RateLimitSettings,
        recorder: UsageRecorder,
        bus: ChangeBus,
        *,
        pricing: Mapping[str, ModelPricing],
        check_every: float = 5.0,
    ) -> None:
        self.catalog = {**BUILT_IN_TIERS, **settings.tiers}
        for name in [settings.tier, *settings.ladder]:
            if name not in self.catalog:
                raise ValueError(
                    f"rate_limits: tier {name!r} is not defined; use one of {sorted(self.catalog)}"
                )
        self.configured = settings.tier
        self.ladder = list(settings.ladder)
        self.db = db
        self.recorder = recorder
        self.bus = bus
        self.pricing = pricing
        self.ttl = settings.override_cache_ttl
        self.check_every = check_every
        self._cached: tuple[float, str | None] | None = None
        self._next_check = 0.0
        # (month, hour it was summed, spend before that month)
        self._earlier: tuple[datetime, int, Decimal] | None = None
        bus.subscribe("tier", self.forget)

    def forget(self) -> None:
        self._cached = None

    # --- the current tier ----------------------------------------------------------

    async def name(self) -> str:
        return self.effective(await self._recorded())

    async def config(self) -> TierConfig:
        return self.catalog[await self.name()]

    def effective(self, recorded: str | None) -> str:
        """The tier in force when the database records ``recorded``."""
        if recorded is None or recorded not in self.catalog:
            return self.configured
        if self.configured in self.ladder and recorded in self.ladder:
            rank = self.ladder.index
            return recorded if rank(recorded) > rank(self.configured) else self.configured
        return self.configured

    async def _recorded(self) -> str | None:
        now = time.monotonic()
        if self._cached is not None and self._cached[0] > now:
            return self._cached[1]
        async with self.db.read() as session:
            recorded = await plans.recorded_tier(session)
        self._cached = (now + self.ttl, recorded)
        return recorded

    # --- advancement ---------------------------------------------------------------

    async def maybe_advance(self) -> None:
        """Evaluate the organization's standing, at most every ``check_every`` seconds."""
        now = time.monotonic()
        if now < self._next_check:
            return
        self._next_check = now + self.check_every
        if self._next(await self.name()) is not None:  # at the top, or off the ladder
            await self.advance()

    async def advance(self) -> list[str]:
        """Move the organization up as far as it qualifies; the tiers it entered."""
        entered: list[str] = []
        standing = await self.standing()
        while standing.next_tier is not None and self._qualifies(standing):
            async with self.db.write() as session:
                moved = await plans.move_tier(
                    session,
                    expected=await plans.recorded_tier(session),
                    from_tier=standing.tier,
                    to=standing.next_tier,
                    reason=self._reason(standing),
                    spend_cents=format(standing.spend_cents.normalize(), "f"),
                )
            if moved:
                entered.append(standing.next_tier)
            self.forget()
            standing = await self.standing(flush=False)
        if entered:
            await self.bus.publish("tier")
        return entered

    async def standing(self, *, flush: bool = True) -> Standing:
        """Where the organization stands now. Spend before this month is summed once an
        hour per process (usage of the month just ended may still be arriving); this
        month's on every evaluation."""
        if flush:
            await self.recorder.flush()
        month = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        async with self.db.read() as session:
            if self._earlier is None or self._earlier[:2] != (month, _hour()):
                rows = await limits_store.tokens_since(session, None, before=month)
                self._earlier = (month, _hour(), self._priced(rows))
            current = await limits_store.tokens_since(session, month)
            spend = self._earlier[2] + self._priced(current)
            first = utc(await limits_store.first_usage(session))
            recorded = await plans.recorded_tier(session)
        self._cached = (time.monotonic() + self.ttl, recorded)
        tier = self.effective(recorded)
        return Standing(tier, spend, first, self._next(tier))

    def _priced(self, rows: list[dict[str, object]]) -> Decimal:
        return sum((row_cents(self.pricing, row) for row in rows), Decimal(0))

    def _next(self, tier: str) -> str | None:
        if tier not in self.ladder or tier == self.ladder[-1]:
            return None
        return self.ladder[self.ladder.index(tier) + 1]

    def _qualifies(self, standing: Standing) -> bool:
        assert standing.next_tier is not None
        target = self.catalog[standing.next_tier]
        if target.advance_at_usd is None:
            return False
        if standing.spend_cents < Decimal(str(target.advance_at_usd)) * 100:
            return False
        if target.advance_after_days and standing.first_usage is None:
            return False
        waited = datetime.now(UTC) - (standing.first_usage or datetime.now(UTC))
        return waited >= timedelta(days=target.advance_after_days)

    def _reason(self, standing: Standing) -> str:
        assert standing.next_tier is not None
        target = self.catalog[standing.next_tier]
        spent = standing.spend_cents / 100
        reason = (
            f"cumulative spend ${spent:,.2f} reached the {standing.next_tier} tier's "
            f"${target.advance_at_usd:,.2f}"
        )
        if target.advance_after_days:
            reason += f", {target.advance_after_days:g} days after the first usage"
        return reason

    async def history(self) -> list[TierChange]:
        async with self.db.read() as session:
            return await plans.tier_changes(session)

    async def report(self) -> wire.UsageTier:
        """The Admin API's view, after evaluating the organization's standing."""
        await self.advance()
        standing = await self.standing(flush=False)
        following = None
        if standing.next_tier is not None:
            target = self.catalog[standing.next_tier]
            following = wire.NextTier(
                tier=standing.next_tier,
                advance_at=_cents(target.advance_at_usd),
                advance_after_days=target.advance_after_days,
            )
        history = [
            wire.TierMove(
                from_tier=m.from_tier,
                to_tier=m.to_tier,
                reason=m.reason,
                changed_at=utc(m.changed_at) or m.changed_at,
                cumulative_spend=m.spend_cents,
            )
            for m in await self.history()
        ]
        return wire.UsageTier(
            tier=standing.tier,
            configured_tier=self.configured,
            ladder=self.ladder,
            cumulative_spend=format(standing.spend_cents.normalize(), "f"),
            first_usage_at=standing.first_usage,
            monthly_spend_cap=_cents(self.catalog[standing.tier].monthly_spend_cap_usd),
            next_tier=following,
            history=history,
        )


def _hour() -> int:
    return int(time.time() // 3600)


def _cents(usd: float | None) -> str | None:
    return None if usd is None else format((Decimal(str(usd)) * 100).normalize(), "f")
