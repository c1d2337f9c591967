"""Queries for administrator-set rate-limit overrides and spend limits."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, func, select
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
    session: AsyncSession, scope: str, scope_id: str, amount_cents: int | None, new_id: str
) -> SpendLimit:
    """Upsert on (scope, scope_id): an existing limit keeps its id and creation time."""
    query = select(SpendLimit).where(SpendLimit.scope == scope, SpendLimit.scope_id == scope_id)
    row = (await session.scalars(query)).first()
    now = datetime.now(UTC)
    if row is None:
        row = SpendLimit(public_id=new_id, scope=scope, scope_id=scope_id, created_at=now)
        session.add(row)
    row.amount_cents = amount_cents
    row.updated_at = now
    return row


async def spend_limit(session: AsyncSession, public_id: str) -> SpendLimit | None:
    query = select(SpendLimit).where(SpendLimit.public_id == public_id)
    return (await session.scalars(query)).first()


async def delete_spend_limit(session: AsyncSession, public_id: str) -> bool:
    result = await session.execute(delete(SpendLimit).where(SpendLimit.public_id == public_id))
    return bool(getattr(result, "rowcount", 0))


async def tokens_since(
    session: AsyncSession, start: datetime | None, *, before: datetime | None = None
) -> list[dict[str, object]]:
    """Token sums from ``start`` (None: the beginning) to ``before`` (None: now) per
    workspace, key, model and batch flag (for spend)."""
    columns = (
        "input_tokens",
        "output_tokens",
        "cache_read_input_tokens",
        "cache_creation_5m_input_tokens",
        "cache_creation_1h_input_tokens",
    )
    sums = [func.sum(getattr(UsageRecord, c)).label(c) for c in columns]
    dims = (
        UsageRecord.workspace_id,
        UsageRecord.api_key_id,
        UsageRecord.model,
        UsageRecord.is_batch,
    )
    query = select(*dims, *sums).group_by(*dims)
    if start is not None:
        query = query.where(UsageRecord.minute >= start)
    if before is not None:
        query = query.where(UsageRecord.minute < before)
    return [dict(row._mapping) for row in await session.execute(query)]


async def first_usage(session: AsyncSession) -> datetime | None:
    """The minute of the organization's first recorded usage."""
    return (await session.execute(select(func.min(UsageRecord.minute)))).scalar()
