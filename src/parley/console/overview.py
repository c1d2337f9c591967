"""Overview page: requests, tokens and cost of the last 24 hours, 7 or 30 days, by model
and by workspace, as charts; read from ``metering/analytics.py`` (the Admin API's
analytics), with the same role check (``read_usage``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from parley.console import charts
from parley.console.auth import ConsoleRoute, Visitor, visitor
from parley.console.layout import show
from parley.console.names import namer
from parley.console.render import redirect
from parley.metering.analytics import AnalyticsQuery

router = APIRouter(prefix="/console", route_class=ConsoleRoute)
VisitorDep = Annotated[Visitor, Depends(visitor)]
PERIODS = {
    "24h": (timedelta(hours=24), timedelta(hours=1)),
    "7d": (timedelta(days=7), timedelta(days=1)),
    "30d": (timedelta(days=30), timedelta(days=1)),
}


def span(period: str, now: datetime) -> tuple[datetime, datetime, timedelta]:
    """The period's whole buckets, the current one included."""
    length, width = PERIODS[period]
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    end = epoch + ((now - epoch) // width + 1) * width
    start = epoch + ((now - length - epoch) // width + 1) * width
    return start, end, width


@router.get("")
async def overview(request: Request, who: VisitorDep) -> Response:
    if not who.admin:
        return redirect(request, "/console/workbench")
    await who.require("read_usage")
    period = request.query_params.get("period", "24h")
    period = period if period in PERIODS else "24h"
    start, end, width = span(period, datetime.now(UTC))
    base = AnalyticsQuery(starting_at=start, ending_at=end, limit=1000)
    timed = replace(base, time_bucket_width="1h" if width < timedelta(days=1) else "1d")
    usage_by_model = await _rows(who, "usage", replace(timed, group_by=("model",)))
    cost_by_model = await _rows(who, "cost", replace(timed, group_by=("model",)))
    by_workspace = await _rows(who, "usage", replace(base, group_by=("workspace_id",)))
    cost_by_workspace = await _rows(who, "cost", replace(base, group_by=("workspace_id",)))
    name = await namer(who)
    times = charts.buckets(start, end, width)
    return await show(
        request,
        who,
        "overview.html",
        "overview",
        period=period,
        periods=list(PERIODS),
        totals={
            "requests": charts.total(usage_by_model, "requests"),
            "tokens": charts.total(usage_by_model, "tokens"),
            "usd": charts.total(cost_by_model, "usd"),
        },
        tokens_chart=charts.over_time(
            usage_by_model, times, unit="tokens", groups=("model",), width=width
        ),
        requests_chart=charts.over_time(
            usage_by_model, times, unit="requests", groups=("model",), width=width
        ),
        cost_chart=charts.over_time(
            cost_by_model, times, unit="usd", groups=("model",), width=width
        ),
        workspace_tokens=charts.totals(
            by_workspace, unit="tokens", groups=("workspace_id",), name=name
        ),
        workspace_cost=charts.totals(
            cost_by_workspace, unit="usd", groups=("workspace_id",), name=name
        ),
    )


async def _rows(who: Visitor, report: str, query: AnalyticsQuery) -> list[dict[str, Any]]:
    analytics = who.svc.analytics
    found = await (analytics.usage(query) if report == "usage" else analytics.cost(query))
    rows: list[dict[str, Any]] = found["data"]
    return rows
