"""The database schema. Changes go through a new Alembic revision in ``migrations/``.

Ids are the API's prefixed strings (``wrkspc_…``, ``apikey_…``); timestamps are UTC.
API keys are stored only as a salted SHA-256 hash plus a display hint; ``lookup`` is a
random, non-secret part of the key that finds its row without scanning.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map = {
        datetime: DateTime(timezone=True),
        dict[str, Any]: JSON,
        list[str]: JSON,
    }


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    # Always 1: a unique column that makes a second organization impossible, so two
    # processes bootstrapping a fresh database at once cannot both succeed.
    singleton: Mapped[int] = mapped_column(Integer, unique=True, default=1)
    # The usage tier the organization has advanced to (None: the configured tier).
    tier: Mapped[str | None] = mapped_column(String(64))


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    added_at: Mapped[datetime]
    # Set when the user is removed from the organization. The row stays, because API
    # keys they created keep naming them; an invite for the same email brings them back.
    removed_at: Mapped[datetime | None]


class Workspace(Base):
    __tablename__ = "workspaces"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    display_color: Mapped[str] = mapped_column(String(16))
    tags: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    data_residency: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]
    archived_at: Mapped[datetime | None]


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "api" or "admin"
    name: Mapped[str] = mapped_column(String(255))
    lookup: Mapped[str] = mapped_column(String(32), unique=True)
    salt: Mapped[str] = mapped_column(String(64))
    secret_hash: Mapped[str] = mapped_column(String(128))
    hint: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="active")
    workspace_id: Mapped[str | None] = mapped_column(ForeignKey("workspaces.id"))
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_api_keys_workspace", "workspace_id"),)


class UsageRecord(Base):
    """Token usage, pre-aggregated per minute and attribution by the recorder."""

    __tablename__ = "usage_records"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    minute: Mapped[datetime]
    api_key_id: Mapped[str | None] = mapped_column(String(64))
    workspace_id: Mapped[str | None] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(256))
    service_tier: Mapped[str] = mapped_column(String(16))
    is_batch: Mapped[bool] = mapped_column(Boolean)
    requests: Mapped[int] = mapped_column(Integer)
    input_tokens: Mapped[int] = mapped_column(BigInteger)
    output_tokens: Mapped[int] = mapped_column(BigInteger)
    cache_read_input_tokens: Mapped[int] = mapped_column(BigInteger)
    cache_creation_5m_input_tokens: Mapped[int] = mapped_column(BigInteger)
    cache_creation_1h_input_tokens: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_usage_minute", "minute"),)


class RateLimitOverride(Base):
    """Limits an administrator set for the organization or a workspace, per model group."""

    __tablename__ = "rate_limit_overrides"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))  # "organization" or "workspace"
    scope_id: Mapped[str] = mapped_column(String(64))
    group_name: Mapped[str] = mapped_column(String(256))
    requests_per_minute: Mapped[int | None] = mapped_column(Integer)
    input_tokens_per_minute: Mapped[int | None] = mapped_column(BigInteger)
    output_tokens_per_minute: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("scope", "scope_id", "group_name"),)


class SpendLimit(Base):
    """A monthly spend limit for the organization or a workspace, in whole US cents
    (``amount_cents`` None: an explicit "no limit" at that scope)."""

    __tablename__ = "spend_limits"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    public_id: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(16))
    scope_id: Mapped[str] = mapped_column(String(64))
    amount_cents: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("scope", "scope_id"),)


class WorkspaceMember(Base):
    """A user's explicit role in a workspace (organization admins and billing users are
    members of every workspace without a row)."""

    __tablename__ = "workspace_members"

    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(40))
    added_at: Mapped[datetime]

    __table_args__ = (Index("ix_workspace_members_user", "user_id"),)


class Invite(Base):
    """An invitation to join the organization. Redeemed with a token shown once at
    creation (Parley sends no mail); only its SHA-256 is stored."""

    __tablename__ = "invites"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[str | None] = mapped_column(String(64))
    invited_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_invites_email", "email"),)


class TierChange(Base):
    """One move of the organization between usage tiers, with when and why."""

    __tablename__ = "tier_changes"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    from_tier: Mapped[str] = mapped_column(String(64))
    to_tier: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    # Cumulative spend when it moved, in US cents as a decimal string (exact).
    spend_cents: Mapped[str] = mapped_column(String(40))
    changed_at: Mapped[datetime]


class PriorityCommitment(Base):
    """Committed Priority Tier capacity of the organization or a workspace."""

    __tablename__ = "priority_commitments"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))
    scope_id: Mapped[str] = mapped_column(String(64))
    input_tokens_per_minute: Mapped[int] = mapped_column(BigInteger)
    output_tokens_per_minute: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("scope", "scope_id"),)


class MessageBatch(Base):
    """A Message Batch; its requests live in ``batch_requests``."""

    __tablename__ = "message_batches"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[str | None] = mapped_column(String(64))
    api_key_id: Mapped[str | None] = mapped_column(String(64))
    api_version: Mapped[str] = mapped_column(String(16))
    betas: Mapped[list[str]] = mapped_column(JSON, default=list)
    processing_status: Mapped[str] = mapped_column(String(16))
    total: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    cancel_initiated_at: Mapped[datetime | None]
    archived_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_batches_workspace", "workspace_id"),
        Index("ix_batches_status", "processing_status"),
    )


class BatchRequest(Base):
    """One request of a batch. ``state`` moves pending → running → one of succeeded,
    errored, canceled, expired; ``result`` is set exactly once, with the final state."""

    __tablename__ = "batch_requests"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("message_batches.id", ondelete="CASCADE"))
    custom_id: Mapped[str] = mapped_column(String(64))
    params: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    result: Mapped[str | None] = mapped_column(Text)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None]
    claims: Mapped[int] = mapped_column(Integer, default=0)
    finished_by: Mapped[str | None] = mapped_column(String(64))
    finished_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("batch_id", "custom_id"),
        Index("ix_batch_requests_claim", "state", "batch_id"),
    )


class StoredFile(Base):
    """A file uploaded through the Files API; its bytes are the blob ``blob_key``."""

    __tablename__ = "files"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[str | None] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    mime_type: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    downloadable: Mapped[bool] = mapped_column(Boolean, default=False)
    blob_key: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_files_workspace", "workspace_id"),)


class Skill(Base):
    __tablename__ = "skills"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[str | None] = mapped_column(String(64))
    display_title: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(64))
    latest_version: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (Index("ix_skills_workspace", "workspace_id"),)


class SkillVersion(Base):
    """One uploaded version of a skill; its files are one zip archive blob."""

    __tablename__ = "skill_versions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    skill_id: Mapped[str] = mapped_column(ForeignKey("skills.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text)
    directory: Mapped[str] = mapped_column(String(255))
    blob_key: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("skill_id", "version"),)


class ConsoleSession(Base):
    """A signed-in Console session. The cookie carries a random token; only its SHA-256
    is stored (``id``), so the table alone cannot be used to sign in. The session names
    the key it was opened with and is re-checked against it on every request."""

    __tablename__ = "console_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "admin" or "api": the key's kind
    api_key_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(String(64))
    workspace_id: Mapped[str | None] = mapped_column(String(64))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_console_sessions_expires", "expires_at"),)


class SavedPrompt(Base):
    """A Workbench prompt saved in a workspace: the Messages request it would send."""

    __tablename__ = "saved_prompts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (Index("ix_saved_prompts_workspace", "workspace_id"),)
