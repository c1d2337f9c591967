"""``parley serve``: run the API server (uvicorn) on the configured models."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import click
import uvicorn

from parley.app import create_app
from parley.cli.options import announce_admin_key, config_option, open_organization, settings_from


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
    logging.basicConfig(
        level=settings.server.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

    async def prepare() -> None:
        db, _, org = await open_organization(settings)
        await db.aclose()
        announce_admin_key(org)

    asyncio.run(prepare())
    uvicorn.run(
        create_app(settings),
        host=settings.server.host,
        port=settings.server.port,
        log_level=settings.server.log_level,
        timeout_graceful_shutdown=30,
    )
