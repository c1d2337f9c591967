"""Invites: asking someone to join the organization, and their accepting.

Parley sends no mail. Creating an invite returns, once, a token
(``parley-invite-…``, 256 random bits) that the administrator hands to the person
invited, who redeems it with ``parley invites accept`` (or the Console's page for it):
that adds them as a user with the invite's role and email. Only the token's SHA-256 is
stored. An invite expires after 21 days, as on the hosted API; one pending invite per
email; a member's email cannot be invited again; a removed member's can, and
accepting brings their user back.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from parley.errors import InvalidRequestError, NotFoundError
from parley.ids import new_id
from parley.storage import members as member_store
from parley.storage import tenancy
from parley.storage.db import Database, utc
from parley.storage.tables import Invite, User
from parley.tenancy.roles import ASSIGNABLE_ORG_ROLES
from parley.wire import admin as wire

LIFETIME = timedelta(days=21)
TOKEN_PREFIX = "parley-invite-"
STATUSES = ("accepted", "expired", "pending")


def _hash(token: str) -> str:
    return hashlib.sha256(token.strip().encode()).hexdigest()


def invite_out(row: Invite) -> wire.Invite:
    return wire.Invite(
        id=row.id,
        email=row.email,
        role=row.role,
        status=_status(row, datetime.now(UTC)),
        invited_at=utc(row.invited_at) or row.invited_at,
        expires_at=utc(row.expires_at) or row.expires_at,
        accepted_at=utc(row.accepted_at),
    )


def _status(row: Invite, now: datetime) -> str:
    if row.deleted_at is not None:
        return "deleted"
    if row.accepted_at is not None:
        return "accepted"
    expires = utc(row.expires_at) or row.expires_at
    return "expired" if expires <= now else "pending"


async def _may_invite(session: AsyncSession, email: str, now: datetime) -> None:
    """Refuse an invite for a member, or for an email with a pending invite."""
    member = await tenancy.user_by_email(session, email)
    if member is not None and member.removed_at is None:
        raise InvalidRequestError(f"{email} is already a member of the organization.")
    pending = await member_store.pending_invite_for(session, email, now)
    if pending is not None:
        raise InvalidRequestError(
            f"A pending invite for {email} already exists: {pending.id}.",
            details={"error_code": "invite_already_exists"},
        )


@dataclass(frozen=True)
class IssuedInvite:
    invite: Invite
    token: str


class Invites:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self,
        *,
        email: str,
        role: str,
        invited_by: str | None,
        rbac_group_ids: Sequence[str] = (),
    ) -> IssuedInvite:
        if rbac_group_ids:
            raise InvalidRequestError(
                "rbac_group_ids: RBAC groups are for Claude Enterprise organizations; send []"
            )
        if role not in ASSIGNABLE_ORG_ROLES:
            raise InvalidRequestError(
                f"role: {role!r} cannot be given by invite; use one of "
                f"{', '.join(ASSIGNABLE_ORG_ROLES)}"
            )
        now = datetime.now(UTC)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = Invite(
            id=new_id("invite"),
            email=email.strip(),
            role=role,
            token_hash=_hash(token),
            invited_by=invited_by,
            invited_at=now,
            expires_at=now + LIFETIME,
            accepted_at=None,
            deleted_at=None,
        )
        async with self.db.write() as session:
            await _may_invite(session, email, now)
            session.add(row)
        return IssuedInvite(row, token)

    async def get(self, invite_id: str) -> Invite:
        async with self.db.read() as session:
            row = await member_store.invite(session, invite_id)
        if row is None:
            raise NotFoundError(f"Invite `{invite_id}` not found.")
        return row

    async def page(
        self,
        *,
        limit: int,
        before_id: str | None = None,
        after_id: str | None = None,
        email: str | None = None,
        roles: Sequence[str] = (),
        statuses: Sequence[str] = (),
    ) -> tuple[list[Invite], bool]:
        for status in statuses:
            if status not in STATUSES:
                raise InvalidRequestError(f"statuses: use any of {', '.join(STATUSES)}")
        async with self.db.read() as session:
            return await member_store.invites_page(
                session,
                limit=limit,
                before_id=before_id,
                after_id=after_id,
                email=email,
                roles=roles,
                statuses=statuses,
                now=datetime.now(UTC),
            )

    async def delete(self, invite_id: str) -> wire.DeletedInvite:
        async with self.db.write() as session:
            row = await member_store.invite(session, invite_id)
            if row is None:
                raise NotFoundError(f"Invite `{invite_id}` not found.")
            row.deleted_at = datetime.now(UTC)
        return wire.DeletedInvite(id=invite_id)

    async def accept(self, token: str, *, name: str) -> User:
        """Redeem ``token``: its person joins with the invite's role."""
        now = datetime.now(UTC)
        async with self.db.write() as session:
            row = await member_store.invite_by_token(session, _hash(token))
            if row is None:
                raise NotFoundError("This invite token is not valid (or the invite was deleted).")
            status = _status(row, now)
            if status != "pending":
                raise InvalidRequestError(f"This invite is {status}; ask for a new one.")
            user = await tenancy.user_by_email(session, row.email)
            if user is None:
                user = User(id=new_id("user"), email=row.email, added_at=now, removed_at=None)
                session.add(user)
            elif user.removed_at is None:
                raise InvalidRequestError(f"{row.email} is already a member of the organization.")
            user.name = name.strip() or row.email.split("@")[0]
            user.role = row.role
            user.removed_at = None
            user.added_at = now
            row.accepted_at = now
        return user
