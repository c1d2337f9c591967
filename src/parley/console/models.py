"""Models page: the served models, their aliases, context window, capabilities and
backend health, from the catalog (the Models API's source; ``parley models list``
shows the same)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from parley.console.auth import ConsoleRoute, Visitor, visitor
from parley.console.layout import show

router = APIRouter(prefix="/console/models", route_class=ConsoleRoute, include_in_schema=False)
VisitorDep = Annotated[Visitor, Depends(visitor)]


@router.get("")
async def models_page(request: Request, who: VisitorDep) -> Response:
    who.require_admin()
    models = await who.svc.catalog.summaries()
    return await show(request, who, "models.html", "models", models=models)
