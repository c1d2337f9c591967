"""Queries for the organization, its users, workspaces and API keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from parley.storage.pagination import id_page
from parley.storage.tables import ApiKey, Organization, User, Workspace


async def organization(session: AsyncSession) -> Organization | None:
    return (await session.scalars(select(Organization).limit(1))).first()


async def default_workspace(session: AsyncSession) -> Workspace | None:
    query = select(Workspace).where(Workspace.is_default.is_(True)).limit(1)
    return (await session.scalars(query)).first()


async def workspace(session: AsyncSession, workspace_id: str) -> Workspace | None:
    return await session.get(Workspace, workspace_id)


async def workspaces_page(
    session: AsyncSession,
    *,
    limit: int,
    before_id: str | None,
    after_id: str | None,
    include_archived: bool,
    include_default: bool = False,
    ids: Sequence[str] = (),
) -> tuple[list[Workspace], bool]:
    query = select(Workspace)
    if not include_default:
        query = query.where(Workspace.is_default.is_(False))
    if ids:
        query = query.where(Workspace.id.in_(ids))
    if not include_archived:
        query = query.where(Workspace.archived_at.is_(None))
    return await id_page(
        session, query, Workspace.id, limit=limit, before_id=before_id, after_id=after_id
    )


async def count_workspaces(session: AsyncSession) -> int:
    rows = await session.scalars(select(Workspace.id).where(Workspace.archived_at.is_(None)))
    return len(rows.all())


async def user(session: AsyncSession, user_id: str) -> User | None:
    return await session.get(User, user_id)


async def users_page(
    session: AsyncSession,
    *,
    limit: int,
    before_id: str | None,
    after_id: str | None,
    email: str | None = None,
    roles: Sequence[str] = (),
) -> tuple[list[User], bool]:
    """Members of the organization (removed users excluded), newest first."""
    query = select(User).where(User.removed_at.is_(None))
    if email is not None:
        query = query.where(func.lower(User.email) == email.strip().lower())
    if roles:
        query = query.where(User.role.in_(roles))
    return await id_page(
        session, query, User.id, limit=limit, before_id=before_id, after_id=after_id
    )


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    query = select(User).where(func.lower(User.email) == email.strip().lower())
    return (await session.scalars(query)).first()


async def owner(session: AsyncSession) -> User | None:
    """The first admin the organization had (the bootstrap's owner)."""
    query = select(User).where(User.role == "admin").order_by(User.added_at, User.id).limit(1)
    return (await session.scalars(query)).first()


async def active_users(session: AsyncSession) -> list[User]:
    query = select(User).where(User.removed_at.is_(None)).order_by(User.id)
    return list((await session.scalars(query)).all())


async def api_key(session: AsyncSession, key_id: str) -> ApiKey | None:
    return await session.get(ApiKey, key_id)


async def api_key_by_lookup(session: AsyncSession, lookup: str) -> ApiKey | None:
    return (await session.scalars(select(ApiKey).where(ApiKey.lookup == lookup))).first()


async def api_keys_page(
    session: AsyncSession,
    *,
    limit: int,
    before_id: str | None,
    after_id: str | None,
    statuses: Sequence[str] | None,
    expired_before: datetime | None,
    workspace_id: str | None,
    created_by: str | None,
) -> tuple[list[ApiKey], bool]:
    """Data-plane keys, filtered. ``expired_before`` selects keys past their expiry."""
    query = select(ApiKey).where(ApiKey.kind == "api")
    if statuses is not None:
        query = query.where(ApiKey.status.in_(statuses))
    if expired_before is not None:
        query = query.where(ApiKey.expires_at.is_not(None), ApiKey.expires_at <= expired_before)
    if workspace_id is not None:
        query = query.where(ApiKey.workspace_id == workspace_id)
    if created_by is not None:
        query = query.where(ApiKey.created_by == created_by)
    return await id_page(
        session, query, ApiKey.id, limit=limit, before_id=before_id, after_id=after_id
    )


async def archive_workspace_keys(session: AsyncSession, workspace_id: str) -> list[str]:
    ids = list(
        (await session.scalars(select(ApiKey.id).where(ApiKey.workspace_id == workspace_id))).all()
    )
    await session.execute(
        update(ApiKey).where(ApiKey.workspace_id == workspace_id).values(status="archived")
    )
    return ids


async def key_creators(session: AsyncSession) -> dict[str, str]:
    """Each API key's creating user, by key id."""
    query = select(ApiKey.id, ApiKey.created_by).where(ApiKey.created_by.is_not(None))
    rows = (await session.execute(query)).all()
    return {key_id: user_id for key_id, user_id in rows if user_id is not None}
