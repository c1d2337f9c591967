"""Options and set-up shared by commands: the settings file, the database, logging."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import ValidationError

from parley.backends.registry import BackendConfigError, parse_options
from parley.config import Settings, load_settings
from parley.errors import ParleyError
from parley.storage.db import Database, upgrade
from parley.tenancy.keys import KeyService
from parley.tenancy.organization import Bootstrap, bootstrap

F = TypeVar("F", bound=Callable[..., Any])


def config_option(func: F) -> F:
    return click.option(
        "--config",
        "config_file",
        type=click.Path(path_type=Path),
        default=None,
        help="TOML settings file (default: $PARLEY_CONFIG).",
    )(func)


def settings_from(config_file: Path | None) -> Settings:
    """The settings, each model's backend options included, checked; a mistake ends the
    command with the message naming the field rather than a traceback."""
    try:
        settings = load_settings(config_file)
        for model in settings.models:
            parse_options(model.id, model.backend, model.options)
    except FileNotFoundError as exc:
        raise click.UsageError(str(exc)) from None
    except (ValidationError, BackendConfigError) as exc:
        raise click.ClickException(f"invalid settings: {exc}") from None
    return settings


async def open_organization(settings: Settings) -> tuple[Database, KeyService, Bootstrap]:
    """Migrate, connect and bootstrap, as the server would."""
    url = settings.database_url()
    if settings.database.migrate_on_start:
        await asyncio.to_thread(upgrade, url)
    db = Database(url)
    keys = KeyService(db, open_access=settings.auth.open_access, cache_ttl=0)
    return db, keys, await bootstrap(db, keys, settings)


def announce_admin_key(org: Bootstrap) -> None:
    if org.admin_key is not None:
        click.echo(
            "Created this deployment's organization. Its admin key, shown only now:", err=True
        )
        click.echo(f"\n    {org.admin_key}\n", err=True)


def run_or_fail(run: Callable[[], Coroutine[Any, Any, str]]) -> str:
    """``run()``'s result; a Parley error ends the command with its message."""
    try:
        return asyncio.run(run())
    except ParleyError as exc:
        raise click.ClickException(exc.message) from None


# Libraries that log every call at INFO: one line per upstream request (health checks
# included) is noise in a server's log, and its cost showed in a gateway's latency.
CHATTY_LOGGERS = ("httpx", "httpcore")


def configure_logging(level: str) -> None:
    """The process's log lines at ``level``; the chatty libraries only from WARNING
    unless ``level`` is debug."""
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if level.lower() != "debug":
        for name in CHATTY_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)


def freeze_startup_heap() -> None:
    """Move everything start-up made (templates, schemas, the ORM's tables, the app)
    out of the cyclic collector's sight: it lives as long as the process, and a full
    collection walking it held the GIL for 130-155 ms (190k objects, measured), pausing
    the event loop and the engine threads between decode steps alike. Start-up's own
    garbage is collected first, or it would be kept for good."""
    gc.collect()
    gc.freeze()
