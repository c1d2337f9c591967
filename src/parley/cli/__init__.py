"""The ``parley`` command: a click group, one module per command group."""

from __future__ import annotations

import click

from parley import __version__
from parley.cli.batches import batches
from parley.cli.config import config
from parley.cli.db import db
from parley.cli.invites import invites
from parley.cli.keys import keys
from parley.cli.serve import serve
from parley.cli.users import users
from parley.cli.worker import worker


@click.group()
@click.version_option(__version__, prog_name="parley")
def main() -> None:
    """Parley: the Claude API, served by open-weights models on your own hardware."""


main.add_command(serve)
main.add_command(db)
main.add_command(keys)
main.add_command(worker)
main.add_command(batches)
main.add_command(config)
main.add_command(invites)
main.add_command(users)
