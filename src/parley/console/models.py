"""Models page: the served models, their aliases, context window, capabilities and
backend health, read from the catalog (the Models API's source)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from parley.catalog import ServedModel
from parley.console.auth import ConsoleRoute, Visitor, visitor
from parley.console.layout import show

router = APIRouter(prefix="/console/models", route_class=ConsoleRoute)
VisitorDep = Annotated[Visitor, Depends(visitor)]


async def describe(model: ServedModel, aliases: list[str]) -> dict[str, Any]:
    """What the Models page (and ``parley models list``) shows of one model."""
    caps = model.backend.capabilities
    health = await model.backend.health()
    info = model.info()
    documents = info.capabilities is not None and info.capabilities.pdf_input.supported
    features = {
        "tools": caps.tools,
        "images": caps.images,
        "thinking": caps.thinking,
        "structured outputs": caps.structured_output,
        "PDF input": documents,
        "citations": documents,
        "batches": True,
    }
    return {
        "id": model.id,
        "display_name": info.display_name,
        "backend": model.config.backend,
        "aliases": aliases,
        "context_window": caps.context_window,
        "max_output_tokens": caps.max_output_tokens,
        "parallel_sequences": caps.parallel_sequences,
        "capabilities": [name for name, on in features.items() if on],
        "healthy": health.ok,
        "health_detail": health.detail,
        "queued": health.queued,
        "busy": health.busy,
        "rate_limit_group": model.config.rate_limit_group or model.id,
    }


@router.get("")
async def models_page(request: Request, who: VisitorDep) -> Response:
    who.require_admin()
    catalog = who.svc.catalog
    models = [await describe(m, catalog.aliases_of(m.id)) for m in catalog.models]
    return await show(request, who, "models.html", "models", models=models)
