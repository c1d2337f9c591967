"""The Usage and Cost Analytics API as SDK 2.15's ``client.beta.organization.analytics``
calls it: ``/v1/organizations/analytics/{usage,cost,usage_report,cost_report}``.

Query arrays come in the SDK's bracket form (``group_by[]=model``). The endpoints are
in beta on the hosted API (``anthropic-beta: analytics-usage-cost-2026-08-24``); the
header is accepted and not required.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from parley.errors import InvalidRequestError
from parley.http.deps import AdminDep, ServicesDep
from parley.http.routes.query import array, timestamp
from parley.metering.analytics import AnalyticsQuery
from parley.metering.analytics_reports import BucketQuery
from parley.metering.dimensions import FILTERS

router = APIRouter(prefix="/v1/organizations/analytics")


def _int(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        raise InvalidRequestError(f"{name}: Input should be a valid integer") from None


def _filters(request: Request, allowed: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    return {name: tuple(array(request, name)) for name in allowed if array(request, name)}


def analytics_query(request: Request) -> AnalyticsQuery:
    """The query of an analytics request, as the Admin API and the Console read it."""
    starting_at = timestamp(request, "starting_at", required=True)
    assert starting_at is not None
    return AnalyticsQuery(
        starting_at=starting_at,
        ending_at=timestamp(request, "ending_at"),
        time_bucket_width=request.query_params.get("time_bucket_width"),
        group_by=tuple(array(request, "group_by")),
        limit=_int(request, "limit") or 20,
        page=request.query_params.get("page"),
        order=request.query_params.get("order", "desc"),
        order_by=request.query_params.get("order_by"),
        filters=_filters(request, tuple(f for f in FILTERS if f != "user_ids")),
    )


def _bucket_query(request: Request) -> BucketQuery:
    starting_at = timestamp(request, "starting_at", required=True)
    assert starting_at is not None
    allowed = (
        "claude_tag_categories",
        "claude_tag_user_ids",
        "context_windows",
        "inference_geos",
        "models",
        "products",
        "rbac_group_ids",
        "slack_channel_ids",
        "speeds",
        "user_ids",
    )
    return BucketQuery(
        starting_at=starting_at,
        ending_at=timestamp(request, "ending_at"),
        bucket_width=request.query_params.get("bucket_width", "1d"),
        limit=_int(request, "limit"),
        page=request.query_params.get("page"),
        group_by=tuple(array(request, "group_by")),
        filters=_filters(request, allowed),
    )


@router.get("/usage")
async def usage(request: Request, ctx: AdminDep, svc: ServicesDep) -> JSONResponse:
    await svc.allow(ctx, "read_usage")
    return JSONResponse(await svc.analytics.usage(analytics_query(request)))


@router.get("/cost")
async def cost(request: Request, ctx: AdminDep, svc: ServicesDep) -> JSONResponse:
    await svc.allow(ctx, "read_usage")
    return JSONResponse(await svc.analytics.cost(analytics_query(request)))


@router.get("/usage_report")
async def usage_report(request: Request, ctx: AdminDep, svc: ServicesDep) -> JSONResponse:
    await svc.allow(ctx, "read_usage")
    return JSONResponse(await svc.bucketed.usage_report(_bucket_query(request)))


@router.get("/cost_report")
async def cost_report(request: Request, ctx: AdminDep, svc: ServicesDep) -> JSONResponse:
    await svc.allow(ctx, "read_usage")
    return JSONResponse(await svc.bucketed.cost_report(_bucket_query(request)))
