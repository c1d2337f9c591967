"""``parley serve``: run the API server (uvicorn) on the configured models."""

from __future__ import annotations

import logging
from pathlib import Path

import click
import uvicorn

from parley.app import create_app
from parley.config import load_settings
from parley.keys import INITIAL_KEY_FILE, ensure_initial_key


@click.command()
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path),
    default=None,
    help="TOML settings file (default: $PARLEY_CONFIG).",
)
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port to listen on (default 8080).")
def serve(config_file: Path | None, host: str | None, port: int | None) -> None:
    """Start the server."""
    overrides: dict[str, object] = {}
    settings = load_settings(config_file)
    if host is not None or port is not None:
        server = settings.server.model_copy(
            update={k: v for k, v in (("host", host), ("port", port)) if v is not None}
        )
        overrides["server"] = server
        settings = settings.model_copy(update=overrides)
    logging.basicConfig(
        level=settings.server.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    initial = ensure_initial_key(settings)
    if initial is not None and initial[1]:
        key_path = Path(settings.data_dir) / INITIAL_KEY_FILE
        click.echo(f"\nCreated an API key for this server (also saved in {key_path}):\n")
        click.echo(f"    {initial[0]}\n")
    app = create_app(settings)
    click.echo(f"Parley listening on {settings.base_url()}")
    uvicorn.run(
        app,
        host=settings.server.host,
        port=settings.server.port,
        log_level=settings.server.log_level,
        timeout_graceful_shutdown=30,
    )
