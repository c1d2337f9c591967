"""``create_app``: the ASGI application. Its lifespan owns the services.

Backends are built from the settings' model list, except those passed in
``backends`` (tests and embedding pass a scripted or pre-built backend by model id).
They start when the app starts and close when it stops.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI

from parley import __version__
from parley.backends.base import Backend
from parley.catalog import Catalog
from parley.config import Settings
from parley.http.deps import Services
from parley.http.errors import install_error_handlers
from parley.http.middleware import RequestContextMiddleware
from parley.http.routes import messages, models, root
from parley.keys import verifier_for
from parley.messages import MessagesService

log = logging.getLogger(__name__)


def create_app(settings: Settings, *, backends: Mapping[str, Backend] | None = None) -> FastAPI:
    catalog = Catalog.from_settings(settings, backends)
    keys, _ = verifier_for(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        started: list[Backend] = []
        try:
            for model in catalog.models:
                await model.backend.start()
                started.append(model.backend)
                log.info("model %s ready (%s backend)", model.id, model.config.backend)
            app.state.services = Services(
                settings=settings,
                catalog=catalog,
                keys=keys,
                messages=MessagesService(catalog, inference_geo=settings.inference_geo),
            )
            yield
        finally:
            for backend in reversed(started):
                await backend.aclose()

    app = FastAPI(
        title="Parley",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.server.max_body_bytes)
    for module in (root, messages, models):
        app.include_router(module.router)
    return app
