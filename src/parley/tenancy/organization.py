"""The organization: created on the first start, read on every later one.

One organization per deployment. The first start creates it together with the
default workspace, an owner user and an admin key (from ``auth.bootstrap_admin_key``
or generated; a generated one is returned so ``parley serve`` can print it once). If
``auth.bootstrap_api_key`` is set, that key is registered in the default workspace
too. A unique column on the organizations table makes concurrent first starts safe:
the loser of the race finds the winner's organization.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from parley.config import Settings
from parley.ids import new_id
from parley.storage import tenancy
from parley.storage.db import Database, utc
from parley.storage.tables import Organization, User, Workspace
from parley.tenancy.keys import KeyService, new_secret
from parley.tenancy.workspaces import DEFAULT_COLOR, DEFAULT_RESIDENCY


@dataclass(frozen=True)
class Bootstrap:
    organization_id: str
    default_workspace_id: str
    owner_id: str
    # Secrets created by this start, to print once; None when they already existed.
    admin_key: str | None = None
    created_at: datetime | None = None


async def bootstrap(db: Database, keys: KeyService, settings: Settings) -> Bootstrap:
    """Create the organization on a fresh database; otherwise read what exists."""
    existing = await _existing(db)
    if existing is not None:
        keys.default_workspace_id = existing.default_workspace_id
        return existing
    now = datetime.now(UTC)
    org = Organization(id=str(uuid.uuid4()), name=settings.organization_name, created_at=now)
    workspace = Workspace(
        id=new_id("wrkspc"),
        name="Default Workspace",
        is_default=True,
        display_color=DEFAULT_COLOR,
        tags={},
        data_residency=dict(DEFAULT_RESIDENCY),
        created_at=now,
        archived_at=None,
    )
    owner = User(
        id=new_id("user"),
        email=settings.auth.owner_email,
        name="Owner",
        role="admin",
        added_at=now,
        removed_at=None,
    )
    try:
        async with db.write() as session:
            session.add_all([org, workspace, owner])
    except IntegrityError:
        raced = await _existing(db)
        assert raced is not None
        keys.default_workspace_id = raced.default_workspace_id
        return raced
    keys.default_workspace_id = workspace.id
    given_admin = settings.auth.bootstrap_admin_key
    admin_secret = given_admin.get_secret_value() if given_admin else new_secret("admin")
    await keys.create(
        kind="admin",
        name="Bootstrap admin key",
        workspace_id=None,
        created_by=owner.id,
        secret=admin_secret,
    )
    if settings.auth.bootstrap_api_key is not None:
        await keys.create(
            kind="api",
            name="Bootstrap API key",
            workspace_id=workspace.id,
            created_by=owner.id,
            secret=settings.auth.bootstrap_api_key.get_secret_value(),
        )
    return Bootstrap(
        org.id, workspace.id, owner.id, None if given_admin else admin_secret, created_at=now
    )


async def _existing(db: Database) -> Bootstrap | None:
    async with db.read() as session:
        org = await tenancy.organization(session)
        if org is None:
            return None
        workspace = await tenancy.default_workspace(session)
        owner = await tenancy.owner(session)
    assert workspace is not None and owner is not None
    return Bootstrap(org.id, workspace.id, owner.id, created_at=utc(org.created_at))
