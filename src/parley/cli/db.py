"""``parley db upgrade``: apply database migrations."""

from __future__ import annotations

from pathlib import Path

import click

from parley.cli.options import config_option, settings_from
from parley.storage.db import upgrade as apply_migrations


@click.group()
def db() -> None:
    """Database maintenance."""


@db.command()
@config_option
def upgrade(config_file: Path | None) -> None:
    """Apply all pending migrations."""
    settings = settings_from(config_file)
    apply_migrations(settings.database_url())
    click.echo("database is up to date")
