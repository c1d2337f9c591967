"""The organization's users, as the Admin API lists them."""

from __future__ import annotations

from parley.errors import NotFoundError
from parley.storage import tenancy
from parley.storage.db import Database, utc
from parley.storage.tables import User
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
        self, *, limit: int, before_id: str | None = None, after_id: str | None = None
    ) -> tuple[list[User], bool]:
        async with self.db.read() as session:
            return await tenancy.users_page(
                session, limit=limit, before_id=before_id, after_id=after_id
            )

    async def get(self, user_id: str) -> User:
        async with self.db.read() as session:
            row = await tenancy.user(session, user_id)
        if row is None:
            raise NotFoundError(f"User `{user_id}` not found.")
        return row
