"""Organization and workspace roles, and what each lets a user do.

The roles are the hosted API's. What they grant follows its Console:

| role | may |
|---|---|
| `admin` (organization) | everything; a `workspace_admin` of every workspace |
| `billing` | read usage and cost, manage spend limits; a `workspace_billing` of every workspace |
| `developer` | manage API keys in the default workspace and where a workspace role allows |
| `user`, `claude_code_user` | use the workspaces they are members of |
| `workspace_admin` | manage the workspace's members, settings, keys and limits; read its usage |
| `workspace_developer` | manage the workspace's API keys; read its usage |
| `workspace_restricted_developer`, `workspace_user` | use the workspace |
| `workspace_billing` | read the workspace's usage and cost |

An Admin API key acts for the user who created it and with that user's current role,
so a key of someone no longer an admin (or no longer a member) is refused with 403.
``admin`` cannot be given through the API (only ``parley users role`` can), and a
workspace member cannot be made ``workspace_billing`` directly: both as on the hosted
API. Services call ``Authorizer.require`` before changing anything; the Admin API, the
CLI and the Console all go through them.
"""

from __future__ import annotations

from typing import Literal

from parley.errors import PermissionDeniedError
from parley.storage import members as member_store
from parley.storage import tenancy
from parley.storage.db import Database

ORG_ROLES = ("admin", "billing", "developer", "user", "claude_code_user")
ASSIGNABLE_ORG_ROLES = ("billing", "developer", "user", "claude_code_user")
WORKSPACE_ROLES = (
    "workspace_admin",
    "workspace_developer",
    "workspace_restricted_developer",
    "workspace_user",
    "workspace_billing",
)
ADDABLE_WORKSPACE_ROLES = tuple(r for r in WORKSPACE_ROLES if r != "workspace_billing")

Action = Literal[
    "manage_organization",  # users, invites, workspaces, usage tiers, priority capacity
    "manage_members",  # a workspace's members
    "manage_keys",
    "manage_limits",  # rate and spend limits
    "read_usage",
    "use",
]
ACTIONS: tuple[Action, ...] = (
    "manage_organization",
    "manage_members",
    "manage_keys",
    "manage_limits",
    "read_usage",
    "use",
)
_ORG_GRANTS: dict[str, frozenset[str]] = {
    "admin": frozenset(ACTIONS),
    "billing": frozenset({"read_usage", "manage_limits"}),
    "developer": frozenset(),
    "user": frozenset(),
    "claude_code_user": frozenset(),
}
_WORKSPACE_GRANTS: dict[str, frozenset[str]] = {
    "workspace_admin": frozenset(
        {"manage_members", "manage_keys", "manage_limits", "read_usage", "use"}
    ),
    "workspace_developer": frozenset({"manage_keys", "read_usage", "use"}),
    "workspace_restricted_developer": frozenset({"use"}),
    "workspace_user": frozenset({"use"}),
    "workspace_billing": frozenset({"read_usage"}),
}


def implicit_workspace_role(org_role: str, *, default_workspace: bool) -> str | None:
    """The workspace role an organization role carries everywhere (or in the default
    workspace, which every member uses)."""
    if org_role == "admin":
        return "workspace_admin"
    if org_role == "billing":
        return "workspace_billing"
    if default_workspace:
        return "workspace_developer" if org_role == "developer" else "workspace_user"
    return None


def allows(org_role: str, workspace_role: str | None, action: Action, *, workspace: bool) -> bool:
    """Whether a user with these roles may do ``action`` (in a workspace, or to the
    organization as a whole)."""
    if action in _ORG_GRANTS.get(org_role, frozenset()):
        return True
    return workspace and action in _WORKSPACE_GRANTS.get(workspace_role or "", frozenset())


class Authorizer:
    """Checks a user's roles, as stored now, before a service acts for them."""

    def __init__(self, db: Database, *, default_workspace_id: str) -> None:
        self.db = db
        self.default_workspace_id = default_workspace_id

    async def require(
        self, user_id: str | None, action: Action, workspace_id: str | None = None
    ) -> None:
        """Raise 403 unless ``user_id`` may do ``action`` (in ``workspace_id``)."""
        org_role, workspace_role = await self.roles(user_id, workspace_id)
        if org_role is None or not allows(
            org_role, workspace_role, action, workspace=workspace_id is not None
        ):
            where = f" in workspace {workspace_id}" if workspace_id else ""
            raise PermissionDeniedError(
                f"This credential's user may not {action.replace('_', ' ')}{where}: their "
                f"role is {org_role or 'none (not a member of the organization)'}; an "
                "organization admin can change it."
            )

    async def roles(
        self, user_id: str | None, workspace_id: str | None
    ) -> tuple[str | None, str | None]:
        """The user's organization role (None: not a member) and workspace role."""
        if user_id is None:
            return None, None
        async with self.db.read() as session:
            user = await tenancy.user(session, user_id)
            if user is None or user.removed_at is not None:
                return None, None
            if workspace_id is None:
                return user.role, None
            explicit = await member_store.membership(session, workspace_id, user_id)
        implicit = implicit_workspace_role(
            user.role, default_workspace=workspace_id == self.default_workspace_id
        )
        if user.role in ("admin", "billing") or explicit is None:
            return user.role, implicit
        return user.role, explicit.role
