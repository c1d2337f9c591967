"""Queries for Message Batches and their requests, including the worker's claim path.

Claiming is one short write transaction: pick up to ``limit`` requests that are
pending, or running under an expired lease (a worker that died), of batches still in
progress, and stamp them with this worker's lease. PostgreSQL locks the picked rows
``FOR UPDATE SKIP LOCKED``, so concurrent workers pick disjoint rows without waiting;
SQLite runs the same statements inside its single-writer ``BEGIN IMMEDIATE``
transaction. Finishing a request is conditional on still holding its lease, so each
request gets exactly one result even if a lease ran out while it was being processed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from parley.storage.pagination import id_page
from parley.storage.tables import BatchRequest, MessageBatch

OPEN_STATES = ("pending", "running")
FINAL_STATES = ("succeeded", "errored", "canceled", "expired")


async def insert_batch(
    session: AsyncSession, batch: MessageBatch, rows: Sequence[dict[str, Any]]
) -> None:
    session.add(batch)
    await session.flush()
    for start in range(0, len(rows), 5000):
        await session.execute(
            insert(BatchRequest), [{**r, "batch_id": batch.id} for r in rows[start : start + 5000]]
        )


async def batch(session: AsyncSession, batch_id: str) -> MessageBatch | None:
    return await session.get(MessageBatch, batch_id)


async def batches_page(
    session: AsyncSession,
    workspace_id: str | None,
    *,
    limit: int,
    before_id: str | None,
    after_id: str | None,
) -> tuple[list[MessageBatch], bool]:
    query = select(MessageBatch).where(MessageBatch.workspace_id == workspace_id)
    return await id_page(
        session, query, MessageBatch.id, limit=limit, before_id=before_id, after_id=after_id
    )


async def state_counts(
    session: AsyncSession, batch_ids: Sequence[str]
) -> dict[str, dict[str, int]]:
    query = (
        select(BatchRequest.batch_id, BatchRequest.state, func.count())
        .where(BatchRequest.batch_id.in_(batch_ids))
        .group_by(BatchRequest.batch_id, BatchRequest.state)
    )
    counts: dict[str, dict[str, int]] = {b: {} for b in batch_ids}
    for batch_id, state, n in await session.execute(query):
        counts[batch_id][state] = int(n)
    return counts


async def queued_requests(session: AsyncSession) -> int:
    query = (
        select(func.count()).select_from(BatchRequest).where(BatchRequest.state.in_(OPEN_STATES))
    )
    return int(await session.scalar(query) or 0)


async def claim(
    session: AsyncSession,
    owner: str,
    limit: int,
    *,
    now: datetime,
    lease_until: datetime,
    postgres: bool,
) -> list[BatchRequest]:
    live = select(MessageBatch.id).where(
        MessageBatch.processing_status == "in_progress", MessageBatch.expires_at > now
    )
    query = (
        select(BatchRequest)
        .where(
            BatchRequest.batch_id.in_(live),
            or_(
                BatchRequest.state == "pending",
                and_(BatchRequest.state == "running", BatchRequest.lease_expires_at < now),
            ),
        )
        .order_by(BatchRequest.id)
        .limit(limit)
    )
    if postgres:
        query = query.with_for_update(skip_locked=True)
    rows = list((await session.scalars(query)).all())
    for row in rows:
        row.state = "running"
        row.lease_owner = owner
        row.lease_expires_at = lease_until
        row.claims += 1
    return rows


async def extend_leases(
    session: AsyncSession, owner: str, ids: Sequence[int], lease_until: datetime
) -> None:
    await session.execute(
        update(BatchRequest)
        .where(
            BatchRequest.id.in_(ids),
            BatchRequest.lease_owner == owner,
            BatchRequest.state == "running",
        )
        .values(lease_expires_at=lease_until)
    )


async def finish(
    session: AsyncSession, owner: str, request_id: int, state: str, result: str, now: datetime
) -> bool:
    done = await session.execute(
        update(BatchRequest)
        .where(
            BatchRequest.id == request_id,
            BatchRequest.lease_owner == owner,
            BatchRequest.state == "running",
        )
        .values(
            state=state,
            result=result,
            finished_at=now,
            finished_by=owner,
            lease_owner=None,
            lease_expires_at=None,
        )
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]


async def release(session: AsyncSession, owner: str, request_id: int) -> None:
    await session.execute(
        update(BatchRequest)
        .where(
            BatchRequest.id == request_id,
            BatchRequest.lease_owner == owner,
            BatchRequest.state == "running",
        )
        .values(state="pending", lease_owner=None, lease_expires_at=None)
    )


async def cancel_pending(session: AsyncSession, batch_id: str, result: str, now: datetime) -> None:
    await session.execute(
        update(BatchRequest)
        .where(BatchRequest.batch_id == batch_id, BatchRequest.state == "pending")
        .values(state="canceled", result=result, finished_at=now)
    )


async def expire(session: AsyncSession, now: datetime, result: str) -> None:
    """Requests of batches past ``expires_at`` that never ran (or whose worker died)."""
    overdue = select(MessageBatch.id).where(
        MessageBatch.expires_at <= now, MessageBatch.processing_status != "ended"
    )
    await session.execute(
        update(BatchRequest)
        .where(
            BatchRequest.batch_id.in_(overdue),
            or_(
                BatchRequest.state == "pending",
                and_(BatchRequest.state == "running", BatchRequest.lease_expires_at < now),
            ),
        )
        .values(
            state="expired", result=result, finished_at=now, lease_owner=None, lease_expires_at=None
        )
    )


async def finalize(session: AsyncSession, now: datetime, batch_id: str | None = None) -> None:
    """End every unfinished batch (or only ``batch_id``) whose requests all have results."""
    open_request = exists().where(
        BatchRequest.batch_id == MessageBatch.id, BatchRequest.state.in_(OPEN_STATES)
    )
    which = MessageBatch.processing_status != "ended"
    if batch_id is not None:
        which = which & (MessageBatch.id == batch_id)
    await session.execute(
        update(MessageBatch)
        .where(which, ~open_request)
        .values(processing_status="ended", ended_at=now)
    )


async def archive(session: AsyncSession, created_before: datetime, now: datetime) -> None:
    """Results past retention are deleted; the batch stays, with ``archived_at``."""
    old = select(MessageBatch.id).where(
        MessageBatch.created_at < created_before,
        MessageBatch.processing_status == "ended",
        MessageBatch.archived_at.is_(None),
    )
    ids = list((await session.scalars(old)).all())
    if ids:
        await session.execute(delete(BatchRequest).where(BatchRequest.batch_id.in_(ids)))
        await session.execute(
            update(MessageBatch).where(MessageBatch.id.in_(ids)).values(archived_at=now)
        )


async def results(
    session: AsyncSession, batch_id: str, chunk: int = 1000
) -> AsyncIterator[tuple[str, str]]:
    """``(custom_id, result JSON)`` of every request, in submission order, read in chunks."""
    last = 0
    while True:
        query = (
            select(BatchRequest.id, BatchRequest.custom_id, BatchRequest.result)
            .where(BatchRequest.batch_id == batch_id, BatchRequest.id > last)
            .order_by(BatchRequest.id)
            .limit(chunk)
        )
        rows = list(await session.execute(query))
        for row_id, custom_id, result in rows:
            last = row_id
            yield custom_id, result or ""
        if len(rows) < chunk:
            return
