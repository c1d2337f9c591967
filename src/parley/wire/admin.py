"""Admin API objects and request bodies (reference §9), as SDK 2.14 names them.

``APIKey`` carries ``scope``; under ``anthropic-version: 2023-06-01`` it also carries
the deprecated ``workspace_id`` (null for the default workspace), which
``2026-10-21`` removed. ``APIKeyCreateParams`` and ``CreatedAPIKey`` are Parley's
addition: the hosted API creates keys only in its console.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from parley.wire.common import WireModel


class Organization(BaseModel):
    id: str
    type: Literal["organization"] = "organization"
    name: str


class User(BaseModel):
    id: str
    type: Literal["user"] = "user"
    email: str
    name: str
    role: str
    added_at: datetime


class DataResidency(BaseModel):
    workspace_geo: str
    allowed_inference_geos: list[str] | Literal["unrestricted"]
    default_inference_geo: str


class Workspace(BaseModel):
    id: str
    type: Literal["workspace"] = "workspace"
    name: str
    created_at: datetime
    archived_at: datetime | None
    display_color: str
    data_residency: DataResidency
    tags: dict[str, str]
    compartment_id: str
    external_key_id: str | None = None
    user_profile_id: str | None = None


class WorkspaceScope(BaseModel):
    type: Literal["workspace"] = "workspace"
    workspace_id: str


class OrganizationScope(BaseModel):
    type: Literal["organization"] = "organization"


class CreatedBy(BaseModel):
    id: str
    type: Literal["user", "service_account"] = "user"


class APIKey(BaseModel):
    id: str
    type: Literal["api_key"] = "api_key"
    name: str
    status: Literal["active", "inactive", "archived", "expired"]
    created_at: datetime
    created_by: CreatedBy | None
    expires_at: datetime | None
    partial_key_hint: str
    scope: WorkspaceScope | OrganizationScope
    workspace_id: str | None = None


class CreatedAPIKey(APIKey):
    """What key creation returns: the key object plus its secret, shown only here."""

    api_key: str


class DataResidencyParams(WireModel):
    workspace_geo: str | None = None
    allowed_inference_geos: list[str] | Literal["unrestricted"] | None = None
    default_inference_geo: str | None = None


class WorkspaceCreateParams(WireModel):
    name: str = Field(min_length=1, max_length=40)
    data_residency: DataResidencyParams | None = None
    display_color: str | None = None
    tags: dict[str, str] | None = None


class WorkspaceUpdateParams(WireModel):
    name: str | None = Field(None, min_length=1, max_length=40)
    data_residency: DataResidencyParams | None = None
    display_color: str | None = None
    tags: dict[str, str | None] | None = None


class APIKeyUpdateParams(WireModel):
    name: str | None = Field(None, min_length=1, max_length=500)
    status: Literal["active", "inactive", "archived"] | None = None


class APIKeyCreateParams(WireModel):
    name: str = Field(min_length=1, max_length=500)
    workspace_id: str | None = None
    expires_at: datetime | None = None


class UserUpdateParams(WireModel):
    # ``admin`` cannot be given through the API, as on the hosted API.
    role: Literal["user", "developer", "billing", "claude_code_user", "managed"]


class DeletedUser(BaseModel):
    id: str
    type: Literal["user_deleted"] = "user_deleted"


class Invite(BaseModel):
    id: str
    type: Literal["invite"] = "invite"
    email: str
    role: str
    status: Literal["accepted", "deleted", "expired", "pending"]
    invited_at: datetime
    expires_at: datetime
    accepted_at: datetime | None = None
    rbac_group_ids: list[str] = Field(default_factory=list)


class CreatedInvite(Invite):
    """What invite creation returns: the invite plus the token that redeems it, shown
    only here (Parley sends no mail; hand it to the person you invited)."""

    accept_token: str


class InviteCreateParams(WireModel):
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    role: Literal["user", "developer", "billing", "claude_code_user", "managed"]
    rbac_group_ids: list[str] | None = None


class DeletedInvite(BaseModel):
    id: str
    type: Literal["invite_deleted"] = "invite_deleted"


WorkspaceRole = Literal[
    "workspace_admin",
    "workspace_billing",
    "workspace_developer",
    "workspace_restricted_developer",
    "workspace_user",
]


class WorkspaceMember(BaseModel):
    type: Literal["workspace_member"] = "workspace_member"
    user_id: str
    workspace_id: str
    workspace_role: WorkspaceRole


class MemberAddParams(WireModel):
    user_id: str = Field(min_length=1)
    workspace_role: WorkspaceRole


class MemberUpdateParams(WireModel):
    workspace_role: WorkspaceRole


class DeletedWorkspaceMember(BaseModel):
    type: Literal["workspace_member_deleted"] = "workspace_member_deleted"
    user_id: str
    workspace_id: str
