"""``parley workspaces``: list, create, rename and archive workspaces from the command
line, through the service the Admin API and the Console use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from parley.cli.options import config_option, settings_from
from parley.cli.output import emit, json_option, run
from parley.cli.services import offline
from parley.http.routes.body import validated
from parley.storage.tables import Workspace
from parley.wire import admin as wire

COLUMNS = [("id", "ID"), ("name", "Name"), ("status", "Status"), ("created_at", "Created")]


def row_of(w: Workspace) -> dict[str, Any]:
    return {
        "id": w.id,
        "name": w.name,
        "default": w.is_default,
        "status": "archived" if w.archived_at else "default" if w.is_default else "active",
        "created_at": w.created_at.strftime("%Y-%m-%d %H:%M"),
        "archived_at": w.archived_at.isoformat() if w.archived_at else None,
    }


@click.group()
def workspaces() -> None:
    """Manage workspaces (the Admin API and the Console do the same)."""


@workspaces.command(name="list")
@config_option
@click.option("--archived", is_flag=True, help="Include archived workspaces.")
@json_option
def list_workspaces(config_file: Path | None, archived: bool, as_json: bool) -> None:
    """List workspaces, the default one first."""
    settings = settings_from(config_file)

    async def work() -> list[Workspace]:
        async with offline(settings) as svc:
            rows, _ = await svc.workspaces.page(
                limit=1000, include_default=True, include_archived=archived
            )
            return sorted(rows, key=lambda w: (not w.is_default, w.created_at))

    emit([row_of(w) for w in run(work)], COLUMNS, as_json=as_json, title="Workspaces")


@workspaces.command()
@config_option
@click.argument("name")
@json_option
def create(config_file: Path | None, name: str, as_json: bool) -> None:
    """Create a workspace called NAME."""
    settings = settings_from(config_file)

    async def work() -> Workspace:
        params = validated(wire.WorkspaceCreateParams, {"name": name})
        async with offline(settings) as svc:
            return await svc.workspaces.create(
                name=params.name, tags={}, display_color=None, data_residency=None
            )

    emit([row_of(run(work))], COLUMNS, as_json=as_json)


@workspaces.command()
@config_option
@click.argument("workspace_id")
@click.argument("name")
@json_option
def rename(config_file: Path | None, workspace_id: str, name: str, as_json: bool) -> None:
    """Rename WORKSPACE_ID to NAME."""
    settings = settings_from(config_file)

    async def work() -> Workspace:
        params = validated(wire.WorkspaceUpdateParams, {"name": name})
        async with offline(settings) as svc:
            return await svc.workspaces.update(workspace_id, {"name": params.name})

    emit([row_of(run(work))], COLUMNS, as_json=as_json)


@workspaces.command()
@config_option
@click.argument("workspace_id")
@json_option
def archive(config_file: Path | None, workspace_id: str, as_json: bool) -> None:
    """Archive WORKSPACE_ID and every key in it."""
    settings = settings_from(config_file)

    async def work() -> Workspace:
        async with offline(settings) as svc:
            return await svc.workspaces.archive(workspace_id)

    emit([row_of(run(work))], COLUMNS, as_json=as_json)
