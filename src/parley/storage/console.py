"""Queries for Console sessions and saved Workbench prompts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from parley.storage.tables import ConsoleSession, SavedPrompt


async def console_session(session: AsyncSession, token_hash: str) -> ConsoleSession | None:
    return await session.get(ConsoleSession, token_hash)


async def drop_dead_sessions(session: AsyncSession, now: datetime) -> None:
    """Delete sessions that ended or expired (their rows only keep the table growing)."""
    query = delete(ConsoleSession).where(
        or_(ConsoleSession.expires_at <= now, ConsoleSession.ended_at.is_not(None))
    )
    await session.execute(query)


async def prompts(session: AsyncSession, workspace_id: str) -> list[SavedPrompt]:
    query = (
        select(SavedPrompt)
        .where(SavedPrompt.workspace_id == workspace_id)
        .order_by(SavedPrompt.updated_at.desc(), SavedPrompt.id.desc())
    )
    return list((await session.scalars(query)).all())


async def prompt(session: AsyncSession, prompt_id: str) -> SavedPrompt | None:
    return await session.get(SavedPrompt, prompt_id)
