"""``GET /v1/organizations/usage_report/messages`` and ``GET /v1/organizations/cost_report``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from parley.errors import InvalidRequestError
from parley.http.deps import AdminDep, ServicesDep
from parley.http.routes.query import array, timestamp
from parley.metering.reports import ReportQuery

router = APIRouter(prefix="/v1/organizations")


def _query(request: Request, *, default_width: str) -> ReportQuery:
    starting_at = timestamp(request, "starting_at", required=True)
    assert starting_at is not None
    raw_limit = request.query_params.get("limit")
    try:
        limit = int(raw_limit) if raw_limit is not None else None
    except ValueError:
        raise InvalidRequestError("limit: Input should be a valid integer") from None
    return ReportQuery(
        starting_at=starting_at,
        ending_at=timestamp(request, "ending_at"),
        bucket_width=request.query_params.get("bucket_width", default_width),
        limit=limit,
        page=request.query_params.get("page"),
        group_by=array(request, "group_by"),
        api_key_ids=array(request, "api_key_ids"),
        workspace_ids=array(request, "workspace_ids"),
        models=array(request, "models"),
        service_tiers=array(request, "service_tiers"),
    )


@router.get("/usage_report/messages")
async def usage_report(request: Request, ctx: AdminDep, svc: ServicesDep) -> JSONResponse:
    await svc.allow(ctx, "read_usage")
    return JSONResponse(await svc.reports.usage(_query(request, default_width="1d")))


@router.get("/cost_report")
async def cost_report(request: Request, ctx: AdminDep, svc: ServicesDep) -> JSONResponse:
    await svc.allow(ctx, "read_usage")
    return JSONResponse(await svc.reports.cost(_query(request, default_width="1d")))
