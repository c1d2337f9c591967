"""``parley keys create`` and ``parley keys list``: API keys from the command line."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from parley.cli.options import announce_admin_key, config_option, open_organization, settings_from
from parley.storage import tenancy


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


@keys.command(name="list")
@config_option
def list_keys(config_file: Path | None) -> None:
    """List workspace API keys (newest first)."""
    settings = settings_from(config_file)

    async def run() -> None:
        db, _, org = await open_organization(settings)
        try:
            announce_admin_key(org)
            async with db.read() as session:
                rows, _more = await tenancy.api_keys_page(
                    session,
                    limit=1000,
                    before_id=None,
                    after_id=None,
                    statuses=None,
                    expired_before=None,
                    workspace_id=None,
                    created_by=None,
                )
            for row in rows:
                click.echo(f"{row.id}  {row.status:8}  {row.workspace_id}  {row.hint}  {row.name}")
        finally:
            await db.aclose()

    asyncio.run(run())
