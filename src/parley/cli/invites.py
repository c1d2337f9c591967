"""``parley invites``: create an invite and redeem one (Parley sends no mail, so the
person invited, or their administrator, redeems the token on the server)."""

from __future__ import annotations

from pathlib import Path

import click

from parley.cli.options import config_option, open_organization, run_or_fail, settings_from
from parley.tenancy.invites import Invites


@click.group()
def invites() -> None:
    """Invite people to the organization (the Admin API does the same over HTTP)."""


@invites.command()
@config_option
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice(["user", "developer", "billing", "claude_code_user"]),
    default="user",
    show_default=True,
)
def create(config_file: Path | None, email: str, role: str) -> None:
    """Invite EMAIL; prints the token that redeems the invite (only now)."""
    settings = settings_from(config_file)

    async def run() -> str:
        db, _, org = await open_organization(settings)
        try:
            issued = await Invites(db).create(email=email, role=role, invited_by=org.owner_id)
            return issued.token
        finally:
            await db.aclose()

    click.echo(run_or_fail(run))


@invites.command()
@config_option
@click.argument("token")
@click.option("--name", required=True, help="The new member's name.")
def accept(config_file: Path | None, token: str, name: str) -> None:
    """Redeem an invite TOKEN: its person joins with the invite's role. Prints the user id."""
    settings = settings_from(config_file)

    async def run() -> str:
        db, _, _ = await open_organization(settings)
        try:
            user = await Invites(db).accept(token, name=name)
            return f"{user.id}  {user.email}  {user.role}"
        finally:
            await db.aclose()

    click.echo(run_or_fail(run))
