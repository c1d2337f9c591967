"""The organization's users: list, read, change a role, remove.

A removed user's row stays (API keys they created keep naming them) but no longer
lists, reads or acts; their workspace memberships go. Admins cannot be removed or
have their role changed through the API, nor can the last member be removed, as on
the hosted API (``parley users role`` changes any role from the command line).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from parley.errors import InvalidRequestError, NotFoundError
from parley.storage import members as member_store
from parley.storage import tenancy
from parley.storage.db import Database, utc
from parley.storage.tables import User
from parley.tenancy.roles import ASSIGNABLE_ORG_ROLES, ORG_ROLES
from parley.wire import admin as wire


def user_out(row: User) -> wire.User:
    return wire.User(
        id=row.id,
        email=row.email,
        name=row.name,
        role=row.role,
        added_at=utc(row.added_at),
    )


class Users:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def page(
        self,
        *,
        limit: int,
        before_id: str | None = None,
        after_id: str | None = None,
        email: str | None = None,
        roles: Sequence[str] = (),
    ) -> tuple[list[User], bool]:
        async with self.db.read() as session:
            return await tenancy.users_page(
                session,
                limit=limit,
                before_id=before_id,
                after_id=after_id,
                email=email,
                roles=roles,
            )

    async def get(self, user_id: str) -> User:
        async with self.db.read() as session:
            row = await tenancy.user(session, user_id)
        if row is None or row.removed_at is not None:
            raise NotFoundError(f"User `{user_id}` not found.")
        return row

    async def set_role(self, user_id: str, role: str, *, operator: bool = False) -> User:
        """Change a member's role. Through the API (``operator`` False) an admin's role
        stays and ``admin`` cannot be given; the command line may do both."""
        allowed = ORG_ROLES if operator else ASSIGNABLE_ORG_ROLES
        if role not in allowed:
            raise InvalidRequestError(
                f"role: {role!r} cannot be given here; use one of {', '.join(allowed)}"
            )
        async with self.db.write() as session:
            row = await tenancy.user(session, user_id)
            if row is None or row.removed_at is not None:
                raise NotFoundError(f"User `{user_id}` not found.")
            if not operator and row.role == "admin":
                raise InvalidRequestError(
                    "An admin's role cannot be changed through the API; use `parley users "
                    "role` on the server."
                )
            if operator and row.role == "admin" and role != "admin":
                await _keep_an_admin(session, row.id)
            row.role = role
        return row

    async def remove(self, user_id: str) -> wire.DeletedUser:
        async with self.db.write() as session:
            row = await tenancy.user(session, user_id)
            if row is None or row.removed_at is not None:
                raise NotFoundError(f"User `{user_id}` not found.")
            if row.role == "admin":
                raise InvalidRequestError("Admin users cannot be removed through the API.")
            others = await tenancy.active_users(session)
            if len(others) <= 1:
                raise InvalidRequestError(
                    "This user is the organization's only member; add another member before "
                    "removing this one.",
                    details={"error_code": "cannot_remove_last_member"},
                )
            row.removed_at = datetime.now(UTC)
            await member_store.drop_user_memberships(session, user_id)
        return wire.DeletedUser(id=user_id)


async def _keep_an_admin(session: AsyncSession, leaving: str) -> None:
    admins = [u for u in await tenancy.active_users(session) if u.role == "admin"]
    if all(u.id == leaving for u in admins):
        raise InvalidRequestError(
            "This is the organization's last admin; make another user an admin first."
        )
