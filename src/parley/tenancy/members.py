"""Workspace members: who belongs to a workspace, with which role.

Organization admins are ``workspace_admin`` and billing users ``workspace_billing`` of
every workspace without being added, as on the hosted API: they are listed, and their
roles there cannot be changed nor they removed. Anyone else is added with one of the
roles ``roles.ADDABLE_WORKSPACE_ROLES`` (never ``workspace_billing``, which comes only
with the billing role). Lists are in user-id order (newest user first), cursors are
user ids; the default workspace has no members of its own (it is "not found" to the
Admin API, like every other use of its id there).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from parley.errors import InvalidRequestError, NotFoundError
from parley.storage import members as member_store
from parley.storage import tenancy
from parley.storage.db import Database
from parley.storage.tables import User, WorkspaceMember
from parley.tenancy.roles import ADDABLE_WORKSPACE_ROLES, implicit_workspace_role
from parley.tenancy.workspaces import Workspaces
from parley.wire import admin as wire

_FIXED = ("admin", "billing")  # organization roles that carry a workspace role everywhere


class Members:
    def __init__(self, db: Database, workspaces: Workspaces) -> None:
        self.db = db
        self.workspaces = workspaces

    async def everyone(self, workspace_id: str) -> list[wire.WorkspaceMember]:
        """The workspace's members, newest user first."""
        await self.workspaces.get(workspace_id)
        async with self.db.read() as session:
            users = {u.id: u for u in await tenancy.active_users(session)}
            explicit = await member_store.workspace_memberships(session, workspace_id)
        roles = {m.user_id: m.role for m in explicit if m.user_id in users}
        for user in users.values():
            implied = implicit_workspace_role(user.role, default_workspace=False)
            if user.role in _FIXED and implied is not None:
                roles[user.id] = implied
        return [
            wire.WorkspaceMember.model_validate(
                {"user_id": uid, "workspace_id": workspace_id, "workspace_role": role}
            )
            for uid, role in sorted(roles.items(), reverse=True)
        ]

    async def page(
        self, workspace_id: str, *, limit: int, before_id: str | None, after_id: str | None
    ) -> tuple[list[wire.WorkspaceMember], bool]:
        if before_id and after_id:
            raise InvalidRequestError("before_id and after_id cannot both be set")
        found = await self.everyone(workspace_id)
        if after_id:
            found = [m for m in found if m.user_id < after_id]
        if before_id:
            earlier = [m for m in found if m.user_id > before_id]
            return earlier[-limit:], len(earlier) > limit
        return found[:limit], len(found) > limit

    async def get(self, workspace_id: str, user_id: str) -> wire.WorkspaceMember:
        for member in await self.everyone(workspace_id):
            if member.user_id == user_id:
                return member
        raise NotFoundError(f"User `{user_id}` is not a member of workspace `{workspace_id}`.")

    async def add(self, workspace_id: str, user_id: str, role: str) -> wire.WorkspaceMember:
        _addable(role)
        await self.workspaces.get(workspace_id)
        async with self.db.write() as session:
            user = await self._user(session, user_id)
            _not_fixed(user, workspace_id)
            if await member_store.membership(session, workspace_id, user_id) is not None:
                raise InvalidRequestError(
                    f"User `{user_id}` is already a member of workspace `{workspace_id}`; "
                    "update their role instead."
                )
            session.add(
                WorkspaceMember(
                    workspace_id=workspace_id,
                    user_id=user_id,
                    role=role,
                    added_at=datetime.now(UTC),
                )
            )
        return await self.get(workspace_id, user_id)

    async def update(self, workspace_id: str, user_id: str, role: str) -> wire.WorkspaceMember:
        _addable(role)
        await self.workspaces.get(workspace_id)
        async with self.db.write() as session:
            _not_fixed(await self._user(session, user_id), workspace_id)
            row = await member_store.membership(session, workspace_id, user_id)
            if row is None:
                raise NotFoundError(
                    f"User `{user_id}` is not a member of workspace `{workspace_id}`."
                )
            row.role = role
        return await self.get(workspace_id, user_id)

    async def remove(self, workspace_id: str, user_id: str) -> wire.DeletedWorkspaceMember:
        await self.workspaces.get(workspace_id)
        async with self.db.write() as session:
            _not_fixed(await self._user(session, user_id), workspace_id)
            row = await member_store.membership(session, workspace_id, user_id)
            if row is None:
                raise NotFoundError(
                    f"User `{user_id}` is not a member of workspace `{workspace_id}`."
                )
            await session.delete(row)
        return wire.DeletedWorkspaceMember(user_id=user_id, workspace_id=workspace_id)

    @staticmethod
    async def _user(session: AsyncSession, user_id: str) -> User:
        user = await tenancy.user(session, user_id)
        if user is None or user.removed_at is not None:
            raise NotFoundError(f"User `{user_id}` not found.")
        return user


def _addable(role: str) -> None:
    if role not in ADDABLE_WORKSPACE_ROLES:
        raise InvalidRequestError(
            f"workspace_role: {role!r} cannot be given to a member; use one of "
            f"{', '.join(ADDABLE_WORKSPACE_ROLES)} (workspace_billing comes with the "
            "organization's billing role)"
        )


def _not_fixed(user: User, workspace_id: str) -> None:
    if user.role in _FIXED:
        implied = implicit_workspace_role(user.role, default_workspace=False)
        raise InvalidRequestError(
            f"User `{user.id}` is an organization {user.role} and so {implied} of every "
            f"workspace, {workspace_id} included; change their organization role instead."
        )
