"""``parley serve``: run the API server (uvicorn) on the configured models."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from pathlib import Path
from types import FrameType

import click
import uvicorn

from parley.app import create_app
from parley.cli.options import (
    announce_admin_key,
    config_option,
    configure_logging,
    freeze_startup_heap,
    open_organization,
    settings_from,
)
from parley.http.drain import Drain


@click.command()
@config_option
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port to listen on (default 8080).")
@click.option("--no-migrate", is_flag=True, help="Do not apply database migrations on start.")
def serve(config_file: Path | None, host: str | None, port: int | None, no_migrate: bool) -> None:
    """Start the server."""
    settings = settings_from(config_file)
    server = settings.server.model_copy(
        update={k: v for k, v in (("host", host), ("port", port)) if v is not None}
    )
    database = settings.database.model_copy(
        update={"migrate_on_start": False} if no_migrate else {}
    )
    settings = settings.model_copy(update={"server": server, "database": database})
    configure_logging(settings.server.log_level)

    async def prepare() -> None:
        db, _, org = await open_organization(settings)
        await db.aclose()
        announce_admin_key(org)

    asyncio.run(prepare())
    if settings.console.enabled:
        click.echo(f"Console: {settings.base_url()}/console (sign in with an admin key)", err=True)
    app = create_app(settings)
    drain = settings.server.shutdown_drain_seconds
    config = uvicorn.Config(
        app,
        host=settings.server.host,
        port=settings.server.port,
        log_level=settings.server.log_level,
        timeout_graceful_shutdown=int(drain) + SHUTDOWN_MARGIN,
    )
    _DrainingServer(config, app.state.drain, drain).run()


# Seconds uvicorn waits after streams were told to end, before it cancels what is left.
SHUTDOWN_MARGIN = 5


class _DrainingServer(uvicorn.Server):
    """uvicorn's server, telling the app's streams the deadline as a shutdown begins."""

    def __init__(self, config: uvicorn.Config, drain: Drain, seconds: float) -> None:
        super().__init__(config)
        self.drain = drain
        self.seconds = seconds

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        freeze_startup_heap()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        with contextlib.suppress(RuntimeError):  # no loop yet: nothing is streaming
            asyncio.get_running_loop().call_soon_threadsafe(self.drain.begin, self.seconds)
        super().handle_exit(sig, frame)
