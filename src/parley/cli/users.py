"""``parley users``: the organization's members, and changing a role from the server
(including ``admin``, which the Admin API cannot give)."""

from __future__ import annotations

from pathlib import Path

import click

from parley.cli.options import config_option, open_organization, run_or_fail, settings_from
from parley.tenancy.roles import ORG_ROLES
from parley.tenancy.users import Users


@click.group()
def users() -> None:
    """Manage the organization's users."""


@users.command(name="list")
@config_option
def list_users(config_file: Path | None) -> None:
    """List the organization's members (newest first)."""
    settings = settings_from(config_file)

    async def run() -> str:
        db, _, _ = await open_organization(settings)
        try:
            rows, _more = await Users(db).page(limit=1000)
            return "\n".join(f"{u.id}  {u.role:16}  {u.email}  {u.name}" for u in rows)
        finally:
            await db.aclose()

    click.echo(run_or_fail(run))


@users.command()
@config_option
@click.argument("user_id")
@click.argument("role", type=click.Choice(ORG_ROLES))
def role(config_file: Path | None, user_id: str, role: str) -> None:
    """Give USER_ID the organization role ROLE (the last admin keeps theirs)."""
    settings = settings_from(config_file)

    async def run() -> str:
        db, _, _ = await open_organization(settings)
        try:
            user = await Users(db).set_role(user_id, role, operator=True)
            return f"{user.id}  {user.role}"
        finally:
            await db.aclose()

    click.echo(run_or_fail(run))
