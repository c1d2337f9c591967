"""Console sessions: signing in with a key, and who a signed-in browser is.

A person signs in with an admin key (the whole organization, with the role of the
key's user) or a workspace API key (that workspace's Workbench, usage, files and
batches). The session lives in the database, so any ``parley serve`` process behind a
load balancer recognises it. The browser holds a random token; the database holds only
its SHA-256, the key's id (never the key) and a CSRF token for the pages.

A session ends when its user signs out, when it has been idle longer than
``idle`` or open longer than ``absolute``, when the key it was opened with stops being
usable (archived, inactive, expired), or when an admin key's user leaves the
organization. Every check runs on every request: nothing here is cached.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from parley.errors import AuthenticationError, NotFoundError, PermissionDeniedError
from parley.storage import console as store
from parley.storage import tenancy
from parley.storage.db import Database, utc
from parley.storage.tables import ConsoleSession
from parley.tenancy.keys import KeyService, split_secret
from parley.tenancy.principal import Principal
from parley.tenancy.roles import Authorizer

# A session's last_seen_at is written at most this often (not on every request).
TOUCH_EVERY = timedelta(seconds=60)
ENDED = "Your Console session has ended; sign in again."


@dataclass(frozen=True)
class SessionView:
    """A live session, as the Console and the API routes see it."""

    kind: Literal["admin", "api"]
    api_key_id: str
    user_id: str | None
    # An API-key session's workspace; None for an admin session (it picks one per page).
    workspace_id: str | None
    csrf_token: str
    expires_at: datetime

    def csrf_ok(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(
            presented.encode(), self.csrf_token.encode()
        )


@dataclass(frozen=True)
class OpenedSession:
    token: str
    view: SessionView


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Sessions:
    def __init__(
        self,
        db: Database,
        keys: KeyService,
        authorizer: Authorizer,
        *,
        idle: timedelta,
        absolute: timedelta,
    ) -> None:
        self.db = db
        self.keys = keys
        self.authorizer = authorizer
        self.idle = idle
        self.absolute = absolute

    async def sign_in(self, presented: str) -> OpenedSession:
        """A new session for the holder of ``presented``; AuthenticationError (or 403
        for an admin key whose user left) when the key cannot sign in."""
        presented = presented.strip()
        parsed = split_secret(presented)
        if parsed is None:
            raise AuthenticationError(
                "That is not a Parley key: paste an admin key (sk-parley-admin01-…) or an "
                "API key (sk-parley-api01-…)."
            )
        admin = parsed[0] == "admin"
        who = await self.keys.verify(presented, admin=admin)
        if admin:
            await self._still_member(who.user_id)
        now = datetime.now(UTC)
        token = secrets.token_urlsafe(32)
        row = ConsoleSession(
            id=token_hash(token),
            kind="admin" if admin else "api",
            api_key_id=who.api_key_id or "",
            user_id=who.user_id,
            workspace_id=None if admin else who.workspace_id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + self.absolute,
            ended_at=None,
        )
        async with self.db.write() as session:
            await store.drop_dead_sessions(session, now)
            session.add(row)
        return OpenedSession(token, _view(row, who.workspace_id))

    async def resolve(self, token: str | None) -> SessionView:
        """The live session of ``token``, or AuthenticationError saying it ended."""
        if not token:
            raise AuthenticationError("Sign in to the Console first.")
        now = datetime.now(UTC)
        async with self.db.read() as session:
            row = await store.console_session(session, token_hash(token))
        if row is None or row.ended_at is not None or _expired(row, now, self.idle):
            raise AuthenticationError(ENDED)
        key = await self.keys.usable(row.api_key_id)
        if row.kind == "admin":
            await self._still_member(row.user_id)
        if now - (utc(row.last_seen_at) or now) >= TOUCH_EVERY:
            await self._touch(row.id, now)
        workspace = key.workspace_id or self.keys.default_workspace_id
        return _view(row, None if row.kind == "admin" else workspace)

    async def end(self, token: str | None) -> None:
        """Sign out: the session stops working in every process at once."""
        if not token:
            return
        async with self.db.write() as session:
            row = await store.console_session(session, token_hash(token))
            if row is not None and row.ended_at is None:
                row.ended_at = datetime.now(UTC)

    async def principal(self, view: SessionView, workspace_id: str | None) -> Principal:
        """Who the session acts as on the data plane (the Workbench, files, batches),
        in ``workspace_id`` (an admin session's choice; default: the default workspace)."""
        if view.kind == "api":
            if workspace_id and workspace_id != view.workspace_id:
                raise PermissionDeniedError(
                    f"This session's API key belongs to workspace {view.workspace_id}, not "
                    f"{workspace_id}."
                )
            return Principal("api", view.api_key_id, view.workspace_id, view.user_id)
        chosen = workspace_id or self.keys.default_workspace_id or ""
        await self._usable_workspace(chosen)
        await self.authorizer.require(view.user_id, "use", chosen)
        # Usage of an admin's Workbench belongs to the workspace and no API key.
        return Principal("console", None, chosen, view.user_id)

    async def _usable_workspace(self, workspace_id: str) -> None:
        async with self.db.read() as session:
            found = await tenancy.workspace(session, workspace_id)
        if found is None:
            raise NotFoundError(f"Workspace `{workspace_id}` not found.")
        if found.archived_at is not None:
            raise PermissionDeniedError(f"Workspace `{workspace_id}` is archived.")

    async def _still_member(self, user_id: str | None) -> None:
        role, _ = await self.authorizer.roles(user_id, None)
        if role is None:
            raise PermissionDeniedError(
                "This admin key's user is no longer a member of the organization; use a key "
                "of a current member."
            )

    async def _touch(self, row_id: str, now: datetime) -> None:
        async with self.db.write() as session:
            row = await store.console_session(session, row_id)
            if row is not None:
                row.last_seen_at = now


def _expired(row: ConsoleSession, now: datetime, idle: timedelta) -> bool:
    expires = utc(row.expires_at) or now
    seen = utc(row.last_seen_at) or now
    return now >= expires or now - seen >= idle


def _view(row: ConsoleSession, workspace_id: str | None) -> SessionView:
    return SessionView(
        kind="admin" if row.kind == "admin" else "api",
        api_key_id=row.api_key_id,
        user_id=row.user_id,
        workspace_id=workspace_id,
        csrf_token=row.csrf_token,
        expires_at=utc(row.expires_at) or row.expires_at,
    )
