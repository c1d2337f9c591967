"""Queries for administrator-set rate-limit overrides and spend limits."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from parley.storage.tables import RateLimitOverride, SpendLimit, UsageRecord


async def overrides(session: AsyncSession) -> list[RateLimitOverride]:
    return list((await session.scalars(select(RateLimitOverride))).all())


async def set_override(
    session: AsyncSession, scope: str, scope_id: str, group: str, values: dict[str, int | None]
) -> RateLimitOverride:
    query = select(RateLimitOverride).where(
        RateLimitOverride.scope == scope,
        RateLimitOverride.scope_id == scope_id,
        RateLimitOverride.group_name == group,
    )
    row = (await session.scalars(query)).first()
    if row is None:
        row = RateLimitOverride(scope=scope, scope_id=scope_id, group_name=group)
        session.add(row)
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_at = datetime.now(UTC)
    return row


async def spend_limits(session: AsyncSession) -> list[SpendLimit]:
    return list((await session.scalars(select(SpendLimit))).all())


async def set_spend_limit(
    session: AsyncSession, scope: str, scope_id: str, monthly_usd: float | None
) -> SpendLimit:
    query = select(SpendLimit).where(SpendLimit.scope == scope, SpendLimit.scope_id == scope_id)
    row = (await session.scalars(query)).first()
    if row is None:
        row = SpendLimit(scope=scope, scope_id=scope_id)
        session.add(row)
    row.monthly_usd = monthly_usd
    row.updated_at = datetime.now(UTC)
    return row


async def tokens_since(session: AsyncSession, start: datetime) -> list[dict[str, object]]:
    """Token sums since ``start`` per workspace, model and batch flag (for spend)."""
    columns = (
        "input_tokens",
        "output_tokens",
        "cache_read_input_tokens",
        "cache_creation_5m_input_tokens",
        "cache_creation_1h_input_tokens",
    )
    sums = [func.sum(getattr(UsageRecord, c)).label(c) for c in columns]
    query = (
        select(UsageRecord.workspace_id, UsageRecord.model, UsageRecord.is_batch, *sums)
        .where(UsageRecord.minute >= start)
        .group_by(UsageRecord.workspace_id, UsageRecord.model, UsageRecord.is_batch)
    )
    return [dict(row._mapping) for row in await session.execute(query)]
