"""The Skills API: skills and their versions, stored as zip archives in blob storage.

An upload is either several parts named ``files[]`` (or ``files``) whose filenames are
paths inside the skill (``my-skill/SKILL.md``, ``my-skill/scripts/run.py``) or a single
zip. Either way it must hold one top-level directory with ``SKILL.md`` at its root,
whose YAML front matter names the skill (``name``: at most 64 characters of a-z, 0-9
and hyphens, without "anthropic" or "claude") and describes it (``description``:
1 to 1024 characters); no XML tags in either. Everything together stays under 30 MB.
Later versions must keep the skill's name. Skills belong to their workspace.
"""

from __future__ import annotations

import io
import posixpath
import re
import time
import zipfile
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import yaml

from parley.blobs import BlobStore
from parley.errors import InvalidRequestError, NotFoundError, RequestTooLargeError
from parley.ids import new_id
from parley.storage import files as store
from parley.storage.db import Database, utc
from parley.storage.tables import Skill, SkillVersion
from parley.wire import files as wire

MAX_BYTES = 30 * 1024 * 1024
MAX_FILES = 1000
NAME = re.compile(r"^[a-z0-9-]{1,64}$")
XML_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Manifest:
    name: str
    description: str
    directory: str
    archive: bytes


def _clean_path(raw: str) -> str:
    path = raw.replace("\\", "/")
    normal = posixpath.normpath(path) if path else ""
    unsafe = any(ord(c) < 32 for c in path)
    if unsafe or path.startswith("/") or normal.startswith("..") or normal in (".", ""):
        raise InvalidRequestError(f"files: {raw!r} is not a relative path inside the skill")
    return normal


def _entries(parts: list[tuple[str, bytes]]) -> dict[str, bytes]:
    if len(parts) > MAX_FILES:
        raise InvalidRequestError(f"files: a skill holds at most {MAX_FILES} files")
    if len(parts) == 1 and zipfile.is_zipfile(io.BytesIO(parts[0][1])):
        return _unzipped(parts[0][1])
    return {_clean_path(name): data for name, data in parts}


def _unzipped(data: bytes) -> dict[str, bytes]:
    """A zip archive's files; the archive's own word on sizes is checked, and a
    damaged, encrypted or oversized one is the client's 400."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = [i for i in archive.infolist() if not i.filename.endswith("/")]
            if len(members) > MAX_FILES:
                raise InvalidRequestError(f"files: a skill holds at most {MAX_FILES} files")
            if sum(i.file_size for i in members) > MAX_BYTES:
                raise RequestTooLargeError("The skill exceeds 30 MB uncompressed.")
            return {_clean_path(i.filename): archive.read(i) for i in members}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError) as exc:
        raise InvalidRequestError(f"files: the zip archive could not be read ({exc})") from None
    except (EOFError, zlib.error, ValueError) as exc:
        raise InvalidRequestError(f"files: the zip archive is damaged ({exc})") from None


def parse_front_matter(text: str) -> dict[str, object]:
    if not text.startswith("---"):
        raise InvalidRequestError("SKILL.md must start with YAML front matter between --- lines")
    try:
        _, header, _ = text.split("---", 2)
        data = yaml.safe_load(header)
    except (ValueError, yaml.YAMLError) as exc:
        raise InvalidRequestError(f"SKILL.md front matter is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidRequestError(
            "SKILL.md front matter must be a YAML mapping with name and description"
        )
    return data


def validate(parts: list[tuple[str, bytes]]) -> Manifest:
    if not parts:
        raise InvalidRequestError("files: upload at least SKILL.md")
    entries = _entries(parts)
    tops = {path.split("/", 1)[0] for path in entries}
    if len(tops) != 1 or any("/" not in path for path in entries):
        raise InvalidRequestError(
            "files: a skill is one top-level directory (e.g. my-skill/SKILL.md, my-skill/...)"
        )
    directory = tops.pop()
    skill_md = entries.get(f"{directory}/SKILL.md")
    if skill_md is None:
        raise InvalidRequestError(f"files: SKILL.md is missing at the root of {directory}/")
    front = parse_front_matter(skill_md.decode("utf-8", errors="replace"))
    name, description = front.get("name"), front.get("description")
    if not isinstance(name, str) or not NAME.match(name):
        raise InvalidRequestError(
            "SKILL.md name: must be 1-64 characters of lowercase letters, digits and hyphens"
        )
    if "anthropic" in name or "claude" in name:
        raise InvalidRequestError('SKILL.md name: must not contain "anthropic" or "claude"')
    if not isinstance(description, str) or not description.strip() or len(description) > 1024:
        raise InvalidRequestError("SKILL.md description: must be 1-1024 characters")
    if XML_TAG.search(name) or XML_TAG.search(description):
        raise InvalidRequestError("SKILL.md name and description must not contain XML tags")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in sorted(entries.items()):
            archive.writestr(path, data)
    return Manifest(name, description.strip(), directory, buffer.getvalue())


class SkillService:
    def __init__(self, db: Database, blobs: BlobStore) -> None:
        self.db = db
        self.blobs = blobs

    async def create(
        self, parts: list[tuple[str, bytes]], workspace_id: str | None, display_title: str | None
    ) -> tuple[Skill, SkillVersion]:
        manifest = validate(parts)
        now = datetime.now(UTC)
        skill = Skill(
            id=new_id("skill"),
            workspace_id=workspace_id,
            display_title=display_title or manifest.name,
            name=manifest.name,
            latest_version=None,
            created_at=now,
            updated_at=now,
        )
        version = await self._store(skill, manifest, now)
        skill.latest_version = version.version
        try:
            async with self.db.write() as session:
                session.add(skill)
                await session.flush()
                session.add(version)
        except BaseException:
            await self.blobs.delete(version.blob_key)
            raise
        return skill, version

    async def add_version(
        self, skill_id: str, parts: list[tuple[str, bytes]], workspace_id: str | None
    ) -> SkillVersion:
        skill = await self.get(skill_id, workspace_id)
        manifest = validate(parts)
        if manifest.name != skill.name:
            raise InvalidRequestError(
                f"SKILL.md name: a new version must keep the skill's name {skill.name!r}, "
                f"not {manifest.name!r}"
            )
        now = datetime.now(UTC)
        version = await self._store(skill, manifest, now)
        try:
            async with self.db.write() as session:
                session.add(version)
                row = await store.skill(session, skill_id, workspace_id)
                if row is None:
                    raise NotFoundError(f"Skill `{skill_id}` not found.")
                row.latest_version = version.version
                row.updated_at = now
        except BaseException:
            await self.blobs.delete(version.blob_key)
            raise
        return version

    async def _store(self, skill: Skill, manifest: Manifest, now: datetime) -> SkillVersion:
        stamp = str(time.time_ns() // 1000)
        key = f"skills/{skill.id}/{stamp}.zip"

        async def one_chunk() -> AsyncIterator[bytes]:
            yield manifest.archive

        size = await self.blobs.put(key, one_chunk(), max_bytes=MAX_BYTES)
        return SkillVersion(
            id=new_id("skver"),
            skill_id=skill.id,
            version=stamp,
            name=manifest.name,
            description=manifest.description,
            directory=manifest.directory,
            blob_key=key,
            size_bytes=size,
            created_at=now,
        )

    async def get(self, skill_id: str, workspace_id: str | None) -> Skill:
        async with self.db.read() as session:
            skill = await store.skill(session, skill_id, workspace_id)
        if skill is None:
            raise NotFoundError(f"Skill `{skill_id}` not found.")
        return skill

    async def latest(self, skill: Skill) -> SkillVersion | None:
        if skill.latest_version is None:
            return None
        async with self.db.read() as session:
            return await store.version(session, skill.id, skill.latest_version)

    async def page(
        self, workspace_id: str | None, *, limit: int, after_id: str | None
    ) -> tuple[list[Skill], bool]:
        async with self.db.read() as session:
            return await store.skills_page(session, workspace_id, limit=limit, after_id=after_id)

    async def versions(self, skill_id: str, workspace_id: str | None) -> list[SkillVersion]:
        await self.get(skill_id, workspace_id)
        async with self.db.read() as session:
            return await store.versions(session, skill_id)

    async def version(self, skill_id: str, version: str, workspace_id: str | None) -> SkillVersion:
        await self.get(skill_id, workspace_id)
        async with self.db.read() as session:
            row = await store.version(session, skill_id, version)
        if row is None:
            raise NotFoundError(f"Version `{version}` of skill `{skill_id}` not found.")
        return row

    async def delete(self, skill_id: str, workspace_id: str | None) -> None:
        versions = await self.versions(skill_id, workspace_id)
        async with self.db.write() as session:
            skill = await store.skill(session, skill_id, workspace_id)
            if skill is not None:
                await session.delete(skill)
        for version in versions:
            await self.blobs.delete(version.blob_key)

    async def delete_version(
        self, skill_id: str, version: str, workspace_id: str | None
    ) -> SkillVersion:
        row = await self.version(skill_id, version, workspace_id)
        async with self.db.write() as session:
            await session.delete(await session.merge(row))
            await session.flush()
            skill = await store.skill(session, skill_id, workspace_id)
            if skill is not None and skill.latest_version == row.version:
                remaining = await store.versions(session, skill_id)
                skill.latest_version = remaining[0].version if remaining else None
                skill.updated_at = datetime.now(UTC)
        await self.blobs.delete(row.blob_key)
        return row

    def content(self, version: SkillVersion) -> AsyncIterator[bytes]:
        return self.blobs.get(version.blob_key)


def skill_out(skill: Skill, latest: SkillVersion | None, *, beta: bool) -> dict[str, Any]:
    """A skill as the API shows it: the old beta shape (``skills-2025-10-02``) or GA's."""
    if beta:
        return wire.BetaSkill(
            id=skill.id,
            display_title=skill.display_title,
            latest_version=skill.latest_version,
            created_at=utc(skill.created_at),
            updated_at=utc(skill.updated_at),
        ).model_dump(mode="json")
    return wire.Skill(
        id=skill.id,
        display_name=skill.display_title,
        latest_version_id=latest.id if latest else "",
        source=wire.SkillSource(),
        created_at=utc(skill.created_at),
        updated_at=utc(skill.updated_at),
    ).model_dump(mode="json")


def version_out(row: SkillVersion, *, beta: bool) -> dict[str, Any]:
    """A skill version in the old beta shape or GA's, as ``skill_out``."""
    if beta:
        return wire.BetaSkillVersion(
            id=row.version,
            skill_id=row.skill_id,
            version=row.version,
            name=row.name,
            description=row.description,
            directory=row.directory,
            created_at=utc(row.created_at),
        ).model_dump(mode="json")
    return wire.SkillVersion(
        id=row.id,
        skill_id=row.skill_id,
        name=row.name,
        description=row.description,
        created_at=utc(row.created_at),
    ).model_dump(mode="json")
