"""``parley keys``: create, list, rename, deactivate, activate and archive API keys from
the command line, through the service the Admin API and the Console use. A running
server sees a change within ``auth.key_cache_ttl`` seconds."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from parley.cli.options import announce_admin_key, config_option, open_organization, settings_from
from parley.cli.output import emit, json_option, run
from parley.cli.services import Offline, offline
from parley.http.routes.body import validated
from parley.storage.tables import ApiKey
from parley.tenancy.keys import shown_status
from parley.wire import admin as wire


@click.group()
def keys() -> None:
    """Manage API keys (the Admin API does the same over HTTP)."""


@keys.command()
@config_option
@click.option("--name", default="cli key", show_default=True, help="Display name.")
@click.option(
    "--workspace",
    "workspace_id",
    default=None,
    help="Workspace id (default: the default workspace).",
)
@click.option("--admin", is_flag=True, help="Create an admin key for /v1/organizations instead.")
@click.option(
    "--expires-in-days", type=int, default=None, help="Expire the key after this many days."
)
def create(
    config_file: Path | None,
    name: str,
    workspace_id: str | None,
    admin: bool,
    expires_in_days: int | None,
) -> None:
    """Create a key and print it (only now; it is stored hashed). Stdout is just the key."""
    settings = settings_from(config_file)

    async def run() -> str:
        db, service, org = await open_organization(settings)
        try:
            announce_admin_key(org)
            expires = (
                datetime.now(UTC) + timedelta(days=expires_in_days) if expires_in_days else None
            )
            issued = await service.create(
                kind="admin" if admin else "api",
                name=name,
                workspace_id=None if admin else workspace_id or org.default_workspace_id,
                created_by=org.owner_id,
                expires_at=expires,
            )
            return issued.secret
        finally:
            await db.aclose()

    click.echo(asyncio.run(run()))


COLUMNS = [
    ("id", "ID"),
    ("name", "Name"),
    ("workspace", "Workspace"),
    ("status", "Status"),
    ("hint", "Key"),
    ("created_at", "Created"),
]


def row_of(key: ApiKey, names: dict[str, str], default: str) -> dict[str, Any]:
    workspace = key.workspace_id or default
    return {
        "id": key.id,
        "name": key.name,
        "workspace_id": workspace,
        "workspace": names.get(workspace, workspace),
        "status": shown_status(key),
        "hint": key.hint,
        "created_at": key.created_at.strftime("%Y-%m-%d %H:%M"),
        "expires_at": key.expires_at.isoformat() if key.expires_at else None,
    }


async def _names(svc: Offline) -> dict[str, str]:
    rows, _ = await svc.workspaces.page(limit=1000, include_default=True, include_archived=True)
    return {w.id: w.name for w in rows}


@keys.command(name="list")
@config_option
@click.option("--workspace", "workspace_id", default=None, help="Only this workspace's keys.")
@click.option(
    "--status",
    type=click.Choice(["active", "inactive", "archived", "expired"]),
    default=None,
    help="Only keys with this status.",
)
@json_option
def list_keys(
    config_file: Path | None, workspace_id: str | None, status: str | None, as_json: bool
) -> None:
    """List workspace API keys (newest first); secrets are never shown, only hints."""
    settings = settings_from(config_file)

    async def work() -> list[dict[str, Any]]:
        async with offline(settings) as svc:
            announce_admin_key(svc.organization)
            rows, _ = await svc.keys.page(limit=1000, status=status, workspace_id=workspace_id)
            names, default = await _names(svc), svc.organization.default_workspace_id
            return [row_of(k, names, default) for k in rows]

    emit(run(work), COLUMNS, as_json=as_json, title="API keys")


def _change(key_id: str, config_file: Path | None, as_json: bool, **change: str | None) -> None:
    settings = settings_from(config_file)

    async def work() -> dict[str, Any]:
        if "name" in change:
            validated(wire.APIKeyUpdateParams, {"name": change["name"]})
        async with offline(settings) as svc:
            row = await svc.keys.update(
                key_id, name=change.get("name"), status=change.get("status")
            )
            return row_of(row, await _names(svc), svc.organization.default_workspace_id)

    emit([run(work)], COLUMNS, as_json=as_json)


@keys.command()
@config_option
@click.argument("key_id")
@click.argument("name")
@json_option
def rename(config_file: Path | None, key_id: str, name: str, as_json: bool) -> None:
    """Rename the API key KEY_ID."""
    _change(key_id, config_file, as_json, name=name)


@keys.command()
@config_option
@click.argument("key_id")
@json_option
def deactivate(config_file: Path | None, key_id: str, as_json: bool) -> None:
    """Deactivate KEY_ID: requests with it get 401 until it is activated again."""
    _change(key_id, config_file, as_json, status="inactive")


@keys.command()
@config_option
@click.argument("key_id")
@json_option
def activate(config_file: Path | None, key_id: str, as_json: bool) -> None:
    """Activate KEY_ID again (an archived key cannot be)."""
    _change(key_id, config_file, as_json, status="active")


@keys.command()
@config_option
@click.argument("key_id")
@json_option
def archive(config_file: Path | None, key_id: str, as_json: bool) -> None:
    """Archive KEY_ID for good: requests with it get 401."""
    _change(key_id, config_file, as_json, status="archived")
