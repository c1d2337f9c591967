"""``parley worker``: a batch worker process (several may share a database)."""

from __future__ import annotations

import asyncio
import signal
from contextlib import AsyncExitStack
from pathlib import Path

import click

from parley.app import build_services
from parley.catalog import Catalog
from parley.cli.options import (
    config_option,
    configure_logging,
    freeze_startup_heap,
    settings_from,
)
from parley.metrics import Metrics


@click.command()
@config_option
def worker(config_file: Path | None) -> None:
    """Process message batches until stopped (SIGTERM or Ctrl-C)."""
    settings = settings_from(config_file)
    settings = settings.model_copy(
        update={"batches": settings.batches.model_copy(update={"worker_in_server": True})}
    )
    configure_logging(settings.server.log_level)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        async with AsyncExitStack() as stack:
            await build_services(settings, Catalog.from_settings(settings), stack, Metrics())
            freeze_startup_heap()
            click.echo("parley worker: processing message batches", err=True)
            await stop.wait()
        click.echo("parley worker: stopped", err=True)

    asyncio.run(run())
