"""Files API and Skills API objects (GA shapes of SDK 2.14, reference §7, §8)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel


class FileMetadata(BaseModel):
    id: str
    type: Literal["file"] = "file"
    filename: str
    mime_type: str
    size_bytes: int
    created_at: datetime
    downloadable: bool = False
    expires_at: datetime | None = None


class DeletedFile(BaseModel):
    id: str
    type: Literal["file_deleted"] = "file_deleted"


class SkillSource(BaseModel):
    type: Literal["custom", "anthropic", "anthropic_example", "plugin"] = "custom"


class Skill(BaseModel):
    id: str
    type: Literal["skill"] = "skill"
    display_name: str
    latest_version_id: str
    source: SkillSource
    created_at: datetime
    updated_at: datetime


class SkillVersion(BaseModel):
    id: str
    type: Literal["skill_version"] = "skill_version"
    skill_id: str
    name: str
    description: str
    created_at: datetime


class BetaSkill(BaseModel):
    """The shape clients sending ``anthropic-beta: skills-2025-10-02`` expect."""

    id: str
    type: Literal["skill"] = "skill"
    display_title: str | None
    latest_version: str | None
    source: Literal["custom", "anthropic"] = "custom"
    created_at: datetime
    updated_at: datetime


class BetaSkillVersion(BaseModel):
    id: str
    type: Literal["skill_version"] = "skill_version"
    skill_id: str
    version: str
    name: str
    description: str
    directory: str
    created_at: datetime
