"""``GET /v1/models`` (id-cursor pagination, newest first) and ``GET /v1/models/{id}``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from parley.http.deps import ContextDep, ServicesDep
from parley.wire.page import Page

router = APIRouter()


@router.get("/v1/models")
async def list_models(
    _: ContextDep,
    svc: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
    before_id: str | None = None,
    after_id: str | None = None,
) -> JSONResponse:
    page, has_more = svc.catalog.page(limit=limit, before_id=before_id, after_id=after_id)
    return JSONResponse(Page.of([m.info() for m in page], has_more).to_wire())


@router.get("/v1/models/{model_id}")
async def retrieve_model(
    model_id: str,
    _: ContextDep,
    svc: ServicesDep,
) -> JSONResponse:
    return JSONResponse(svc.catalog.resolve(model_id).info().model_dump(mode="json"))
