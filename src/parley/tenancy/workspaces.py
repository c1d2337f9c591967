"""Workspaces: create, list, read, update, archive (with every key in them).

The default workspace is not one of them to the Admin API: it is listed only when
asked for (``include_default``, as SDK 2.15 can) and its id is otherwise "not found":
it cannot be archived, renamed, given members or limits of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from parley.errors import InvalidRequestError, NotFoundError
from parley.ids import new_id
from parley.storage import tenancy
from parley.storage.db import Database, utc
from parley.storage.tables import ApiKey
from parley.storage.tables import Workspace as Workspace  # the row type, for callers
from parley.tenancy.keys import KeyService
from parley.wire import admin as wire

MAX_WORKSPACES = 100
DEFAULT_COLOR = "#6C5BB9"
DEFAULT_RESIDENCY: dict[str, Any] = {
    "workspace_geo": "us",
    "allowed_inference_geos": "unrestricted",
    "default_inference_geo": "global",
}


def workspace_out(row: Workspace) -> wire.Workspace:
    """A workspace as the Admin API shows it."""
    return wire.Workspace(
        id=row.id,
        name=row.name,
        created_at=utc(row.created_at),
        archived_at=utc(row.archived_at),
        display_color=row.display_color,
        data_residency=wire.DataResidency(**row.data_residency),
        tags=row.tags,
        compartment_id=row.id,
    )


class Workspaces:
    """Workspace management for the Admin API."""

    def __init__(self, db: Database, keys: KeyService) -> None:
        self.db = db
        self.keys = keys

    async def create(
        self,
        *,
        name: str,
        tags: dict[str, str],
        display_color: str | None,
        data_residency: dict[str, Any] | None,
    ) -> Workspace:
        now = datetime.now(UTC)
        workspace = Workspace(
            id=new_id("wrkspc"),
            name=name,
            is_default=False,
            display_color=display_color or DEFAULT_COLOR,
            tags=tags,
            data_residency={**DEFAULT_RESIDENCY, **(data_residency or {})},
            created_at=now,
            archived_at=None,
        )
        async with self.db.write() as session:
            if await tenancy.count_workspaces(session) >= MAX_WORKSPACES:
                raise InvalidRequestError(
                    f"An organization can have at most {MAX_WORKSPACES} workspaces; "
                    "archive one first."
                )
            session.add(workspace)
        return workspace

    async def page(
        self,
        *,
        limit: int,
        before_id: str | None = None,
        after_id: str | None = None,
        include_archived: bool = False,
        include_default: bool = False,
        ids: Sequence[str] = (),
    ) -> tuple[list[Workspace], bool]:
        """Workspaces (the default one only when asked for), newest first."""
        if len(ids) > 100:
            raise InvalidRequestError("ids: at most 100 workspace ids")
        async with self.db.read() as session:
            return await tenancy.workspaces_page(
                session,
                limit=limit,
                before_id=before_id,
                after_id=after_id,
                include_archived=include_archived,
                include_default=include_default,
                ids=ids,
            )

    async def get(self, workspace_id: str) -> Workspace:
        async with self.db.read() as session:
            workspace = await tenancy.workspace(session, workspace_id)
        if workspace is None or workspace.is_default:
            raise NotFoundError(f"Workspace `{workspace_id}` not found.")
        return workspace

    async def update(self, workspace_id: str, changes: dict[str, Any]) -> Workspace:
        async with self.db.write() as session:
            workspace = await tenancy.workspace(session, workspace_id)
            if workspace is None or workspace.is_default:
                raise NotFoundError(f"Workspace `{workspace_id}` not found.")
            if "name" in changes:
                workspace.name = changes["name"]
            if "display_color" in changes:
                workspace.display_color = changes["display_color"]
            if "tags" in changes:
                merged = {**workspace.tags, **changes["tags"]}
                workspace.tags = {k: v for k, v in merged.items() if v is not None}
            if "data_residency" in changes:
                workspace.data_residency = {**workspace.data_residency, **changes["data_residency"]}
        return workspace

    async def archive(self, workspace_id: str) -> Workspace:
        """Archive a workspace and every key in it."""
        async with self.db.write() as session:
            workspace = await tenancy.workspace(session, workspace_id)
            if workspace is None or workspace.is_default:
                raise NotFoundError(f"Workspace `{workspace_id}` not found.")
            if workspace.archived_at is None:
                workspace.archived_at = datetime.now(UTC)
            archived = await tenancy.archive_workspace_keys(session, workspace_id)
            lookups = [k.lookup for k in [await session.get(ApiKey, i) for i in archived] if k]
        await self.keys.forget_workspace_keys(lookups)
        return workspace
