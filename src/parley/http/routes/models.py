"""``GET /v1/models`` (id-cursor pagination, newest first) and ``GET /v1/models/{id}``.

The ``openai`` SDK calls the same two paths; its requests (``http.dialect``) get
OpenAI's shapes: every served model in one ``list``, and one ``model``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from parley.compat.openai.convert import model_entry
from parley.http.deps import EitherContextDep, ServicesDep
from parley.http.dialect import speaks_openai
from parley.wire.page import Page

router = APIRouter()


@router.get("/v1/models")
async def list_models(
    request: Request,
    _: EitherContextDep,
    svc: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
    before_id: str | None = None,
    after_id: str | None = None,
) -> JSONResponse:
    if speaks_openai(request.scope):
        data = [model_entry(m.id, m.config.created_at) for m in svc.catalog.newest_first()]
        return JSONResponse({"object": "list", "data": data})
    page, has_more = svc.catalog.page(limit=limit, before_id=before_id, after_id=after_id)
    return JSONResponse(Page.of([m.info() for m in page], has_more).to_wire())


@router.get("/v1/models/{model_id}")
async def retrieve_model(
    model_id: str,
    request: Request,
    _: EitherContextDep,
    svc: ServicesDep,
) -> JSONResponse:
    if speaks_openai(request.scope):
        model = svc.catalog.resolve(model_id)
        return JSONResponse(model_entry(model.id, model.config.created_at))
    return JSONResponse(svc.catalog.resolve(model_id).info().model_dump(mode="json"))
