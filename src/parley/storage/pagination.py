"""Id-cursor pagination (``before_id`` / ``after_id`` / ``limit``), newest first.

Parley's ids sort by creation time, so "newest first" is "id descending" and a cursor
is just an id. Returns one page and whether more exist beyond it in that direction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from parley.errors import InvalidRequestError


async def id_page(
    session: AsyncSession,
    query: Select[Any],
    id_column: InstrumentedAttribute[Any],
    *,
    limit: int,
    before_id: str | None,
    after_id: str | None,
) -> tuple[list[Any], bool]:
    if before_id and after_id:
        raise InvalidRequestError("before_id and after_id cannot both be set")
    if before_id:
        rows = list(
            (
                await session.scalars(
                    query.where(id_column > before_id).order_by(id_column.asc()).limit(limit + 1)
                )
            ).all()
        )
        has_more = len(rows) > limit
        return list(reversed(rows[:limit])), has_more
    if after_id:
        query = query.where(id_column < after_id)
    rows = list((await session.scalars(query.order_by(id_column.desc()).limit(limit + 1))).all())
    return rows[:limit], len(rows) > limit
