"""Queries for stored files, skills and skill versions."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from parley.storage.pagination import id_page
from parley.storage.tables import Skill, SkillVersion, StoredFile


async def file(session: AsyncSession, file_id: str, workspace_id: str | None) -> StoredFile | None:
    row = await session.get(StoredFile, file_id)
    return row if row is not None and row.workspace_id == workspace_id else None


async def files_page(
    session: AsyncSession,
    workspace_id: str | None,
    *,
    limit: int,
    before_id: str | None,
    after_id: str | None,
    ids: Sequence[str] | None = None,
) -> tuple[list[StoredFile], bool]:
    query = select(StoredFile).where(StoredFile.workspace_id == workspace_id)
    if ids:
        query = query.where(StoredFile.id.in_(ids))
    return await id_page(
        session, query, StoredFile.id, limit=limit, before_id=before_id, after_id=after_id
    )


async def stored_bytes(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.coalesce(func.sum(StoredFile.size_bytes), 0))) or 0)


async def skill(session: AsyncSession, skill_id: str, workspace_id: str | None) -> Skill | None:
    row = await session.get(Skill, skill_id)
    return row if row is not None and row.workspace_id == workspace_id else None


async def skills_page(
    session: AsyncSession, workspace_id: str | None, *, limit: int, after_id: str | None
) -> tuple[list[Skill], bool]:
    query = select(Skill).where(Skill.workspace_id == workspace_id)
    return await id_page(session, query, Skill.id, limit=limit, before_id=None, after_id=after_id)


async def versions(session: AsyncSession, skill_id: str) -> list[SkillVersion]:
    query = (
        select(SkillVersion)
        .where(SkillVersion.skill_id == skill_id)
        .order_by(SkillVersion.id.desc())
    )
    return list((await session.scalars(query)).all())


async def version(session: AsyncSession, skill_id: str, version: str) -> SkillVersion | None:
    query = select(SkillVersion).where(
        SkillVersion.skill_id == skill_id,
        (SkillVersion.id == version) | (SkillVersion.version == version),
    )
    return (await session.scalars(query)).first()
