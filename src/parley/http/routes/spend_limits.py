"""Spend limits in the SDK's shapes: ``/v1/organizations/spend_limits`` (set, list,
retrieve, delete) and ``/v1/organizations/spend_limits/effective``.

``POST`` also takes Parley's earlier body (``{"scope": …, "monthly_usd": …}``) and
answers it in the SDK's shape; the earlier list shape (``monthly_usd``/``spent_usd``)
is gone, since the SDK parses this path's list strictly.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from parley.errors import InvalidRequestError
from parley.http.deps import AdminDep, ServicesDep
from parley.http.routes.body import parse_body
from parley.http.routes.query import array
from parley.metering.spend_limits import ListQuery
from parley.wire.spend import SpendLimitSetParams

router = APIRouter(prefix="/v1/organizations")


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit")
    try:
        return int(raw) if raw is not None else 20
    except ValueError:
        raise InvalidRequestError("limit: Input should be a valid integer") from None


@router.post("/spend_limits")
async def set_spend_limit(request: Request, ctx: AdminDep, svc: ServicesDep) -> JSONResponse:
    params = await parse_body(request, SpendLimitSetParams)
    workspace = getattr(params.scope, "workspace_id", None)
    await svc.allow(ctx, "manage_limits", workspace)
    limit = await svc.spend_limits.set(params)
    return JSONResponse(limit.model_dump(mode="json"))


@router.get("/spend_limits")
async def list_spend_limits(request: Request, _: AdminDep, svc: ServicesDep) -> JSONResponse:
    query = ListQuery(
        limit=_limit(request),
        page=request.query_params.get("page"),
        scope_types=tuple(array(request, "scope_type")),
        workspace_id=request.query_params.get("workspace_id"),
    )
    items, next_page = await svc.spend_limits.page(query)
    return JSONResponse(
        {"data": [i.model_dump(mode="json") for i in items], "next_page": next_page}
    )


@router.get("/spend_limits/effective")
async def effective_spend_limits(request: Request, ctx: AdminDep, svc: ServicesDep) -> JSONResponse:
    await svc.allow(ctx, "read_usage")
    rows, next_page = await svc.spend_limits.effective(
        limit=_limit(request),
        page=request.query_params.get("page"),
        periods=array(request, "period"),
        user_ids=array(request, "user_ids"),
    )
    return JSONResponse({"data": [r.model_dump(mode="json") for r in rows], "next_page": next_page})


@router.get("/spend_limits/{spend_limit_id}")
async def get_spend_limit(spend_limit_id: str, _: AdminDep, svc: ServicesDep) -> JSONResponse:
    return JSONResponse((await svc.spend_limits.get(spend_limit_id)).model_dump(mode="json"))


@router.delete("/spend_limits/{spend_limit_id}")
async def delete_spend_limit(spend_limit_id: str, ctx: AdminDep, svc: ServicesDep) -> JSONResponse:
    limit = await svc.spend_limits.get(spend_limit_id)
    workspace = getattr(limit.scope, "workspace_id", None)
    await svc.allow(ctx, "manage_limits", workspace)
    return JSONResponse((await svc.spend_limits.delete(spend_limit_id)).model_dump(mode="json"))
