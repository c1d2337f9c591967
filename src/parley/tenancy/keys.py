"""API keys and admin keys: issuing, verifying, updating.

A key reads ``sk-parley-api01-<lookup><secret>`` (admin keys ``sk-parley-admin01-…``).
``lookup`` (12 random characters, not secret) finds the row; the whole key is checked
against a salted SHA-256 hash with a constant-time comparison. A fast hash is the
right tool here: keys carry 256 random bits, so there is nothing for a slow password
hash to protect. The secret is shown once, at creation, and never stored.

Verification goes through a short in-process cache (``cache_ttl`` seconds, default 10)
so the request path does not touch the database; updating a key through this service
drops its cache entry at once, and other processes see the change within the TTL.
The cache holds at most ``cache_entries`` known keys and, separately, as many lookups
that found no key (so a flood of made-up keys can neither grow memory nor push the
real keys out); past that the least recently used entries go first.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from cachetools import TTLCache

from parley.errors import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
)
from parley.ids import new_id
from parley.protocol import ApiVersion
from parley.storage import tenancy
from parley.storage.db import Database, utc
from parley.storage.tables import ApiKey
from parley.tenancy.principal import Principal
from parley.wire import admin as wire

KeyKind = Literal["api", "admin"]
PREFIXES: dict[str, str] = {"api": "sk-parley-api01-", "admin": "sk-parley-admin01-"}
LOOKUP_LENGTH = 12
_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class _CachedKey:
    id: str
    kind: str
    salt: str
    secret_hash: str
    status: str
    expires_at: datetime | None
    workspace_id: str | None
    created_by: str | None


@dataclass(frozen=True)
class IssuedKey:
    record: ApiKey
    secret: str


def new_secret(kind: KeyKind) -> str:
    body = "".join(secrets.choice(_ALPHABET) for _ in range(LOOKUP_LENGTH + 43))
    return PREFIXES[kind] + body


def split_secret(secret: str) -> tuple[KeyKind, str] | None:
    for kind, prefix in PREFIXES.items():
        rest = secret.removeprefix(prefix)
        if rest != secret and len(rest) > LOOKUP_LENGTH:
            return kind, rest[:LOOKUP_LENGTH]  # type: ignore[return-value]
    return None


def hash_secret(salt: str, secret: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


def hint(secret: str) -> str:
    kind_prefix = next(p for p in PREFIXES.values() if secret.startswith(p))
    body = secret.removeprefix(kind_prefix)
    return f"{kind_prefix}{body[:4]}...{body[-4:]}"


class KeyService:
    def __init__(
        self,
        db: Database,
        *,
        open_access: bool = False,
        cache_ttl: float = 10.0,
        cache_entries: int = 10_000,
    ) -> None:
        self.db = db
        self.open_access = open_access
        self.cache_ttl = cache_ttl
        self.default_workspace_id: str | None = None
        self._known: TTLCache[str, _CachedKey] = TTLCache(cache_entries, cache_ttl)
        self._unknown: TTLCache[str, bool] = TTLCache(cache_entries, cache_ttl)

    # --- verification (hot path) ------------------------------------------------------

    async def verify(
        self, presented: str | None, *, admin: bool, header: str = "x-api-key"
    ) -> Principal:
        """The caller behind ``presented`` (sent in ``header``), or AuthenticationError."""
        if presented is None:
            if self.open_access and not admin:
                return Principal("open", None, self.default_workspace_id)
            raise AuthenticationError("x-api-key header is required")
        parsed = split_secret(presented)
        cached = await self._cached(parsed[1]) if parsed else None
        if cached is None or not hmac.compare_digest(
            hash_secret(cached.salt, presented), cached.secret_hash
        ):
            # The hosted API's wording for x-api-key; SDK 2.x sends the key as a bearer token.
            raise AuthenticationError(
                "invalid x-api-key" if header == "x-api-key" else "invalid bearer token"
            )
        _check_usable(cached)
        if cached.kind == "admin" and not admin:
            raise AuthenticationError(
                "This is an Admin API key, which is accepted only on /v1/organizations "
                "endpoints; use a workspace API key for this request."
            )
        if cached.kind == "api" and admin:
            raise _not_admin()
        return Principal(cached.kind, cached.id, cached.workspace_id, cached.created_by)  # type: ignore[arg-type]

    async def _cached(self, lookup: str) -> _CachedKey | None:
        hit = self._known.get(lookup)
        if hit is not None or lookup in self._unknown:
            return hit
        async with self.db.read() as session:
            row = await tenancy.api_key_by_lookup(session, lookup)
        if self.cache_ttl <= 0:
            return None if row is None else _snapshot(row, self.default_workspace_id)
        if row is None:
            self._unknown[lookup] = True
            return None
        value = self._known[lookup] = _snapshot(row, self.default_workspace_id)
        return value

    def invalidate(self, lookup: str) -> None:
        self._known.pop(lookup, None)
        self._unknown.pop(lookup, None)

    @property
    def cached_entries(self) -> int:
        """Keys and failed lookups held in the cache now (for tests and /metrics)."""
        return len(self._known) + len(self._unknown)

    # --- management -------------------------------------------------------------------

    async def create(
        self,
        *,
        kind: KeyKind,
        name: str,
        workspace_id: str | None,
        created_by: str | None,
        expires_at: datetime | None = None,
        secret: str | None = None,
    ) -> IssuedKey:
        if secret is not None and (split_secret(secret) or ("", ""))[0] != kind:
            raise InvalidRequestError(f"a {kind} key must start with {PREFIXES[kind]}")
        secret = secret or new_secret(kind)
        salt = secrets.token_hex(16)
        record = ApiKey(
            id=new_id("apikey"),
            kind=kind,
            name=name,
            lookup=split_secret(secret)[1],  # type: ignore[index]
            salt=salt,
            secret_hash=hash_secret(salt, secret),
            hint=hint(secret),
            status="active",
            workspace_id=workspace_id if kind == "api" else None,
            created_by=created_by,
            created_at=datetime.now(UTC),
            expires_at=expires_at,
        )
        async with self.db.write() as session:
            if workspace_id is not None:
                workspace = await tenancy.workspace(session, workspace_id)
                if workspace is None:
                    raise NotFoundError(f"Workspace `{workspace_id}` not found.")
                if workspace.archived_at is not None:
                    raise InvalidRequestError(f"Workspace `{workspace_id}` is archived.")
            session.add(record)
        self.invalidate(record.lookup)
        return IssuedKey(record=record, secret=secret)

    async def get(self, key_id: str) -> ApiKey:
        async with self.db.read() as session:
            record = await tenancy.api_key(session, key_id)
        if record is None or record.kind != "api":
            raise NotFoundError(f"API key `{key_id}` not found.")
        return record

    async def usable(self, key_id: str) -> ApiKey:
        """The key ``key_id`` read now (no cache), or AuthenticationError when it is
        gone, inactive, archived or expired: a Console session opened with it ends then."""
        async with self.db.read() as session:
            record = await tenancy.api_key(session, key_id)
        if record is None:
            raise AuthenticationError("The key this session was opened with no longer exists.")
        _check_usable(_snapshot(record, self.default_workspace_id))
        return record

    async def page(
        self,
        *,
        limit: int,
        before_id: str | None = None,
        after_id: str | None = None,
        status: str | None = None,
        workspace_id: str | None = None,
        created_by: str | None = None,
    ) -> tuple[list[ApiKey], bool]:
        """Workspace API keys, newest first; ``status`` may be ``expired`` (active keys
        past their expiry)."""
        statuses, expired_before = _status_filter(status)
        async with self.db.read() as session:
            return await tenancy.api_keys_page(
                session,
                limit=limit,
                before_id=before_id,
                after_id=after_id,
                statuses=statuses,
                expired_before=expired_before,
                workspace_id=workspace_id,
                created_by=created_by,
            )

    async def update(self, key_id: str, *, name: str | None, status: str | None) -> ApiKey:
        async with self.db.write() as session:
            record = await tenancy.api_key(session, key_id)
            if record is None or record.kind != "api":
                raise NotFoundError(f"API key `{key_id}` not found.")
            if record.status == "archived" and status is not None and status != "archived":
                raise InvalidRequestError("An archived API key cannot be reactivated.")
            if name is not None:
                record.name = name
            if status is not None:
                record.status = status
        self.invalidate(record.lookup)
        return record

    async def forget_workspace_keys(self, lookups: list[str]) -> None:
        for lookup in lookups:
            self.invalidate(lookup)


def _snapshot(row: ApiKey, default_workspace_id: str | None) -> _CachedKey:
    return _CachedKey(
        id=row.id,
        kind=row.kind,
        salt=row.salt,
        secret_hash=row.secret_hash,
        status=row.status,
        expires_at=utc(row.expires_at),
        workspace_id=row.workspace_id or (default_workspace_id if row.kind == "api" else None),
        created_by=row.created_by,
    )


def _check_usable(key: _CachedKey) -> None:
    if key.status != "active":
        raise AuthenticationError(f"This API key is {key.status}; use an active key.")
    if key.expires_at is not None and key.expires_at <= datetime.now(UTC):
        raise AuthenticationError("This API key has expired; use an active key.")


def _not_admin() -> Exception:
    return PermissionDeniedError(
        "This endpoint needs an Admin API key (sk-parley-admin01-…); workspace API keys "
        "cannot manage the organization."
    )


def _status_filter(status: str | None) -> tuple[list[str] | None, datetime | None]:
    if status is None:
        return None, None
    if status == "expired":
        return ["active"], datetime.now(UTC)
    if status not in ("active", "inactive", "archived"):
        raise InvalidRequestError(
            "status: Input should be 'active', 'inactive', 'archived' or 'expired'"
        )
    return [status], None


def shown_status(row: ApiKey) -> str:
    """The key's status as the API shows it: an active key past its expiry is expired."""
    expires = utc(row.expires_at)
    if row.status == "active" and expires is not None and expires <= datetime.now(UTC):
        return "expired"
    return row.status


def key_out(row: ApiKey, version: ApiVersion, default_workspace: str) -> dict[str, Any]:
    """A key as the Admin API shows it. ``2023-06-01`` also carries the deprecated
    ``workspace_id`` (null for the default workspace), which ``2026-10-21`` removed."""
    workspace = row.workspace_id or default_workspace
    expires = utc(row.expires_at)
    status = shown_status(row)
    key = wire.APIKey(
        id=row.id,
        name=row.name,
        status=status,
        created_at=utc(row.created_at),
        created_by=wire.CreatedBy(id=row.created_by) if row.created_by else None,
        expires_at=expires,
        partial_key_hint=row.hint,
        scope=wire.WorkspaceScope(workspace_id=workspace),
        workspace_id=None if workspace == default_workspace else workspace,
    )
    data = key.model_dump(mode="json")
    if version is ApiVersion.V2026_10_21:
        del data["workspace_id"]
    return data
