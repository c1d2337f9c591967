"""Batches page: a workspace's Message Batches with status and request counts, cancel,
and results as JSONL; through ``batches/service.py`` with the session's principal, so
what a page may reach is what the API would let the same caller reach."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse

from parley.console.auth import ConsoleRoute, Visitor, checked_form, visitor
from parley.console.layout import show
from parley.console.render import redirect

router = APIRouter(prefix="/console/batches", route_class=ConsoleRoute, include_in_schema=False)
VisitorDep = Annotated[Visitor, Depends(visitor)]


@router.get("")
async def batches_page(request: Request, who: VisitorDep) -> Response:
    workspace = who.workspace_id(request)
    ctx = await who.context(workspace)
    batches, more = await who.svc.batches.page(ctx, limit=100, before_id=None, after_id=None)
    return await show(
        request,
        who,
        "batches.html",
        "batches",
        batches=batches,
        more=more,
        workspaces=await who.workspaces(),
        workspace=workspace,
    )


@router.post("/{batch_id}/cancel")
async def cancel_batch(batch_id: str, request: Request, who: VisitorDep) -> Response:
    await checked_form(request, who)
    workspace = who.workspace_id(request)
    view = await who.svc.batches.cancel(batch_id, await who.context(workspace))
    back = f"/console/batches?workspace={workspace}" if who.admin else "/console/batches"
    return redirect(request, back, f"Batch {batch_id} is {view.batch.processing_status}.")


@router.get("/{batch_id}/results")
async def batch_results(batch_id: str, request: Request, who: VisitorDep) -> Response:
    ctx = await who.context(who.workspace_id(request))
    lines = await who.svc.batches.results(batch_id, ctx)
    disposition = f'attachment; filename="{batch_id}_results.jsonl"'
    return StreamingResponse(
        lines, media_type="application/x-jsonl", headers={"content-disposition": disposition}
    )
