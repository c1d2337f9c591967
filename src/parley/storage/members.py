"""Queries for workspace memberships and invites."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from parley.storage.pagination import id_page
from parley.storage.tables import Invite, WorkspaceMember


async def membership(
    session: AsyncSession, workspace_id: str, user_id: str
) -> WorkspaceMember | None:
    return await session.get(WorkspaceMember, (workspace_id, user_id))


async def workspace_memberships(session: AsyncSession, workspace_id: str) -> list[WorkspaceMember]:
    query = select(WorkspaceMember).where(WorkspaceMember.workspace_id == workspace_id)
    return list((await session.scalars(query)).all())


async def user_memberships(session: AsyncSession, user_id: str) -> list[WorkspaceMember]:
    query = select(WorkspaceMember).where(WorkspaceMember.user_id == user_id)
    return list((await session.scalars(query)).all())


async def drop_user_memberships(session: AsyncSession, user_id: str) -> None:
    await session.execute(delete(WorkspaceMember).where(WorkspaceMember.user_id == user_id))


async def invite(session: AsyncSession, invite_id: str) -> Invite | None:
    found = await session.get(Invite, invite_id)
    return None if found is None or found.deleted_at is not None else found


async def invite_by_token(session: AsyncSession, token_hash: str) -> Invite | None:
    query = select(Invite).where(Invite.token_hash == token_hash, Invite.deleted_at.is_(None))
    return (await session.scalars(query)).first()


async def pending_invite_for(session: AsyncSession, email: str, now: datetime) -> Invite | None:
    query = select(Invite).where(
        func.lower(Invite.email) == email.strip().lower(),
        Invite.deleted_at.is_(None),
        Invite.accepted_at.is_(None),
        Invite.expires_at > now,
    )
    return (await session.scalars(query)).first()


async def invites_page(
    session: AsyncSession,
    *,
    limit: int,
    before_id: str | None,
    after_id: str | None,
    email: str | None,
    roles: Sequence[str],
    statuses: Sequence[str],
    now: datetime,
) -> tuple[list[Invite], bool]:
    """Invites not deleted, newest first; ``statuses`` among accepted/expired/pending."""
    query = select(Invite).where(Invite.deleted_at.is_(None))
    if email is not None:
        query = query.where(func.lower(Invite.email) == email.strip().lower())
    if roles:
        query = query.where(Invite.role.in_(roles))
    if statuses:
        unanswered = Invite.accepted_at.is_(None)
        conditions = {
            "accepted": Invite.accepted_at.is_not(None),
            "expired": and_(unanswered, Invite.expires_at <= now),
            "pending": and_(unanswered, Invite.expires_at > now),
        }
        query = query.where(or_(*(conditions[s] for s in statuses if s in conditions)))
    return await id_page(
        session, query, Invite.id, limit=limit, before_id=before_id, after_id=after_id
    )
