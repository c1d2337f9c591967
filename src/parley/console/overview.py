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

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
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
    found = await figures(who, *span(period, datetime.now(UTC)))
    return await show(
        request, who, "overview.html", "overview", period=period, periods=list(PERIODS), **found
    )


async def figures(who: Visitor, start: datetime, end: datetime, width: timedelta) -> dict[str, Any]:
    """The totals and charts of the period [start, end) in buckets of ``width``."""
    base = AnalyticsQuery(starting_at=start, ending_at=end, limit=1000)
    timed = replace(base, time_bucket_width="1h" if width < timedelta(days=1) else "1d")
    by_model = replace(timed, group_by=("model",))
    by_workspace = replace(base, group_by=("workspace_id",))
    usage, cost = await _rows(who, "usage", by_model), await _rows(who, "cost", by_model)
    name, times = await namer(who), charts.buckets(start, end, width)

    def over_time(rows: list[dict[str, Any]], unit: str) -> dict[str, Any]:
        return charts.over_time(rows, times, unit=unit, groups=("model",), width=width)

    def per_workspace(rows: list[dict[str, Any]], unit: str) -> dict[str, Any]:
        return charts.totals(rows, unit=unit, groups=("workspace_id",), name=name)

    return {
        "totals": {
            "requests": charts.total(usage, "requests"),
            "tokens": charts.total(usage, "tokens"),
            "usd": charts.total(cost, "usd"),
        },
        "tokens_chart": over_time(usage, "tokens"),
        "requests_chart": over_time(usage, "requests"),
        "cost_chart": over_time(cost, "usd"),
        "workspace_tokens": per_workspace(await _rows(who, "usage", by_workspace), "tokens"),
        "workspace_cost": per_workspace(await _rows(who, "cost", by_workspace), "usd"),
    }


async def _rows(who: Visitor, report: str, query: AnalyticsQuery) -> list[dict[str, Any]]:
    analytics = who.svc.analytics
    found = await (analytics.usage(query) if report == "usage" else analytics.cost(query))
    rows: list[dict[str, Any]] = found["data"]
    return rows
