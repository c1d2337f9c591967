"""Queries for the organization's usage tier, its history, and Priority Tier capacity."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from parley.storage.tables import Organization, PriorityCommitment, TierChange


async def recorded_tier(session: AsyncSession) -> str | None:
    return (await session.execute(select(Organization.tier).limit(1))).scalar()


async def move_tier(
    session: AsyncSession,
    *,
    expected: str | None,
    from_tier: str,
    to: str,
    reason: str,
    spend_cents: str,
) -> bool:
    """Compare-and-set the organization's tier and record the move. False (nothing
    written) when another process moved it first, so each move is recorded once."""
    current = Organization.tier.is_(None) if expected is None else Organization.tier == expected
    result = await session.execute(update(Organization).where(current).values(tier=to))
    if not getattr(result, "rowcount", 0):
        return False
    session.add(
        TierChange(
            from_tier=from_tier,
            to_tier=to,
            reason=reason,
            spend_cents=spend_cents,
            changed_at=datetime.now(UTC),
        )
    )
    return True


async def tier_changes(session: AsyncSession) -> list[TierChange]:
    query = select(TierChange).order_by(TierChange.changed_at, TierChange.id)
    return list((await session.scalars(query)).all())


async def commitments(session: AsyncSession) -> list[PriorityCommitment]:
    return list((await session.scalars(select(PriorityCommitment))).all())


async def set_commitment(
    session: AsyncSession, scope: str, scope_id: str, input_tpm: int, output_tpm: int
) -> PriorityCommitment:
    query = select(PriorityCommitment).where(
        PriorityCommitment.scope == scope, PriorityCommitment.scope_id == scope_id
    )
    row = (await session.scalars(query)).first()
    if row is None:
        row = PriorityCommitment(scope=scope, scope_id=scope_id)
        session.add(row)
    row.input_tokens_per_minute = input_tpm
    row.output_tokens_per_minute = output_tpm
    row.updated_at = datetime.now(UTC)
    return row


async def drop_commitment(session: AsyncSession, scope: str, scope_id: str) -> None:
    await session.execute(
        delete(PriorityCommitment).where(
            PriorityCommitment.scope == scope, PriorityCommitment.scope_id == scope_id
        )
    )
