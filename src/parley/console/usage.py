"""Usage and cost page: the analytics usage and cost reports (``metering/analytics.py``)
as tables and charts, with the Admin API's query parameters (``group_by[]``,
``time_bucket_width``, ``models[]``, ``workspace_ids[]``, ``api_key_ids[]``,
``service_tiers[]``…), so a page's address is the report's query; and the same as CSV.

An admin session needs ``read_usage``; an API-key session sees its own workspace only
(its filter is forced to that workspace, whatever the address says).
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from parley.console import charts
from parley.console.auth import ConsoleRoute, Visitor, visitor
from parley.console.layout import show
from parley.console.names import namer
from parley.console.render import redirect
from parley.errors import InvalidRequestError
from parley.http.routes.analytics import analytics_query
from parley.metering import flat
from parley.metering.analytics import WIDTHS, AnalyticsQuery, window

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
VisitorDep = Annotated[Visitor, Depends(visitor)]
GROUPS = ("model", "workspace_id", "api_key_id", "service_tier", "product", "inference_geo")
TIERS = ("standard", "priority", "batch")


def defaults(now: datetime) -> dict[str, str]:
    today = now.astimezone(UTC).date()
    return {
        "starting_at": (today - timedelta(days=6)).isoformat(),
        "ending_at": (today + timedelta(days=1)).isoformat(),
        "time_bucket_width": "1d",
        "group_by[]": "model",
    }


async def query_of(request: Request, who: Visitor) -> AnalyticsQuery:
    """The page's report query; an API-key session's is its own workspace's."""
    if who.admin:
        await who.require("read_usage")
    query = replace(analytics_query(request), limit=1000, page=None)
    if not who.admin:
        query = replace(
            query, filters={**query.filters, "workspace_ids": (who.session.workspace_id or "",)}
        )
    return query


def normalized(pairs: list[tuple[str, str]], now: datetime) -> list[tuple[str, str]] | None:
    """The page's query without the form's empty fields and with what a report needs
    filled in (the defaults; an end for buckets), or None when it needs no change."""
    kept = [(k, v) for k, v in pairs if v != ""]
    names = {k for k, _ in kept}
    if "starting_at" not in names:
        return list(defaults(now).items())
    if "time_bucket_width" in names and "ending_at" not in names:
        kept.append(("ending_at", defaults(now)["ending_at"]))
    return kept if kept != pairs else None


@router.get("/usage")
async def usage_page(request: Request, who: VisitorDep) -> Response:
    fixed = normalized(request.query_params.multi_items(), datetime.now(UTC))
    if fixed is not None:
        return redirect(request, f"/console/usage?{urlencode(fixed)}")
    query = await query_of(request, who)
    usage = (await who.svc.analytics.usage(query))["data"]
    cost = (await who.svc.analytics.cost(replace(query, order_by=None)))["data"]
    name = await namer(who)
    return await show(
        request,
        who,
        "usage.html",
        "usage",
        query=query,
        usage=usage,
        cost=cost,
        name=name,
        usage_chart=_chart(query, usage, "tokens", name),
        cost_chart=_chart(query, cost, "usd", name),
        groups=GROUPS,
        tiers=TIERS,
        widths=list(WIDTHS),
        models=[m.id for m in who.svc.catalog.models],
        workspaces=await who.workspaces(),
        keys=await _keys(who),
        csv_query=request.url.query,
    )


def _chart(
    query: AnalyticsQuery, rows: list[dict[str, Any]], unit: str, name: Any
) -> dict[str, Any]:
    groups = query.group_by
    if query.time_bucket_width is None:
        return charts.totals(rows, unit=unit, groups=groups, name=name)
    start, end, width = window(query)
    assert width is not None
    times = charts.buckets(start, end, width)
    return charts.over_time(rows, times, unit=unit, groups=groups, width=width, name=name)


async def _keys(who: Visitor) -> list[Any]:
    if not who.admin:
        return []
    rows, _ = await who.svc.keys.page(limit=1000)
    return rows


@router.get("/usage.csv")
async def usage_csv(request: Request, who: VisitorDep) -> Response:
    report = request.query_params.get("report", "usage")
    if report not in ("usage", "cost"):
        raise InvalidRequestError("report: usage or cost")
    query = await query_of(request, who)
    if report == "usage":
        rows = (await who.svc.analytics.usage(query))["data"]
    else:
        rows = (await who.svc.analytics.cost(replace(query, order_by=None)))["data"]
    body = to_csv(rows, query.group_by, report)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="parley-{report}-{stamp}.csv"'},
    )


def to_csv(rows: list[dict[str, Any]], groups: tuple[str, ...], report: str) -> str:
    """Rows of a report as CSV: the bucket, each grouped dimension, then the numbers."""
    out = io.StringIO()
    columns = ["starting_at", "ending_at", *groups, *flat.numbers(report)]
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(flat.flatten(rows, groups, report))
    return out.getvalue()
