"""The ``parley`` command: a click group, one module per command group."""

from __future__ import annotations

import click

from parley import __version__
from parley.cli.batches import batches
from parley.cli.config import config
from parley.cli.db import db
from parley.cli.invites import invites
from parley.cli.keys import keys
from parley.cli.limits import limits
from parley.cli.models import models
from parley.cli.serve import serve
from parley.cli.usage import cost, usage
from parley.cli.users import users
from parley.cli.worker import worker
from parley.cli.workspaces import workspaces


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
main.add_command(models)
main.add_command(workspaces)
main.add_command(limits)
main.add_command(usage)
main.add_command(cost)
