"""The web Console and Workbench, served under ``/console`` by ``parley serve`` itself.

Server-rendered pages (Jinja2) over the same services the Admin API and the data-plane
routes use, with the same role checks: the Console holds no logic of its own beyond
turning forms into service calls and results into pages. The Workbench streams from
the real ``/v1/messages``. Sessions, CSRF and the pages' security headers are in
``auth.py``, ``signin.py`` and ``render.py``.

This package is an outer layer, like ``http/``: nothing but ``app.py`` imports it.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI

from parley.config import Settings
from parley.console import (
    assets,
    batches,
    files,
    keys,
    limits,
    models,
    overview,
    signin,
    skills,
    usage,
    workbench,
    workspaces,
)

log = logging.getLogger(__name__)
ROUTERS = (
    assets,
    signin,
    overview,
    workbench,
    workspaces,
    keys,
    limits,
    usage,
    batches,
    files,
    skills,
    models,
)


def install(app: FastAPI, settings: Settings) -> None:
    """Serve the Console on ``app`` (unless ``console.enabled`` is off)."""
    app.state.console_enabled = settings.console.enabled
    if not settings.console.enabled:
        return
    missing = assets.missing_libraries(settings.console.assets_dir)
    if missing:
        log.warning(
            "the Console's charts need %s from the npm registry: run `make install` "
            "(npm ci --prefix %s); the pages work without them",
            ", ".join(missing),
            assets.VENDOR_SOURCE,
        )
    for module in ROUTERS:
        app.include_router(module.router)
