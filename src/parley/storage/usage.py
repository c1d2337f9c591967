"""Queries for token usage: append pre-aggregated rows, read them back by minute."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from parley.storage.tables import UsageRecord

TOKEN_COLUMNS = (
    "requests",
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_5m_input_tokens",
    "cache_creation_1h_input_tokens",
)
DIMENSIONS = ("api_key_id", "workspace_id", "model", "service_tier", "is_batch")


async def append(session: AsyncSession, records: Iterable[UsageRecord]) -> None:
    session.add_all(list(records))


async def minute_totals(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    api_key_ids: Sequence[str] | None = None,
    workspace_ids: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
) -> list[dict[str, object]]:
    """Sums per minute and per attribution in ``[start, end)``, filters applied."""
    dims = [getattr(UsageRecord, d) for d in DIMENSIONS]
    sums = [func.sum(getattr(UsageRecord, c)).label(c) for c in TOKEN_COLUMNS]
    query = (
        select(UsageRecord.minute, *dims, *sums)
        .where(UsageRecord.minute >= start, UsageRecord.minute < end)
        .group_by(UsageRecord.minute, *dims)
    )
    if api_key_ids:
        query = query.where(UsageRecord.api_key_id.in_(api_key_ids))
    if workspace_ids:
        query = query.where(UsageRecord.workspace_id.in_(workspace_ids))
    if models:
        query = query.where(UsageRecord.model.in_(models))
    return [dict(row._mapping) for row in await session.execute(query)]
