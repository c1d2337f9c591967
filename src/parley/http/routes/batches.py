"""``/v1/messages/batches``: create, list, retrieve, cancel, delete, results (JSONL)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from parley.http.deps import ContextDep, ServicesDep
from parley.http.routes.body import parse_body
from parley.wire.batches import DeletedMessageBatch, MessageBatchCreateParams
from parley.wire.page import Page

router = APIRouter(prefix="/v1/messages/batches")
PROGRESS_HEADER = "parley-requests-completed"


@router.post("")
async def create_batch(request: Request, ctx: ContextDep, svc: ServicesDep) -> JSONResponse:
    body = await parse_body(request, MessageBatchCreateParams)
    view = await svc.batches.create(body, ctx)
    return JSONResponse(view.batch.model_dump(mode="json"), headers={PROGRESS_HEADER: "0"})


@router.get("")
async def list_batches(
    ctx: ContextDep,
    svc: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
    before_id: str | None = None,
    after_id: str | None = None,
) -> JSONResponse:
    batches, more = await svc.batches.page(ctx, limit=limit, before_id=before_id, after_id=after_id)
    return JSONResponse(Page.of(batches, more).to_wire())


@router.get("/{batch_id}")
async def get_batch(batch_id: str, ctx: ContextDep, svc: ServicesDep) -> JSONResponse:
    view = await svc.batches.get(batch_id, ctx)
    return JSONResponse(
        view.batch.model_dump(mode="json"), headers={PROGRESS_HEADER: str(view.completed)}
    )


@router.post("/{batch_id}/cancel")
async def cancel_batch(batch_id: str, ctx: ContextDep, svc: ServicesDep) -> JSONResponse:
    view = await svc.batches.cancel(batch_id, ctx)
    return JSONResponse(
        view.batch.model_dump(mode="json"), headers={PROGRESS_HEADER: str(view.completed)}
    )


@router.delete("/{batch_id}")
async def delete_batch(batch_id: str, ctx: ContextDep, svc: ServicesDep) -> JSONResponse:
    await svc.batches.delete(batch_id, ctx)
    return JSONResponse(DeletedMessageBatch(id=batch_id).model_dump())


@router.get("/{batch_id}/results")
async def batch_results(batch_id: str, ctx: ContextDep, svc: ServicesDep) -> StreamingResponse:
    lines = await svc.batches.results(batch_id, ctx)
    return StreamingResponse(lines, media_type="application/x-jsonl")
