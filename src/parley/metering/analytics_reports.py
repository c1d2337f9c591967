"""The analytics usage and cost reports over time:
``GET /v1/organizations/analytics/usage_report`` and ``…/cost_report``.

The hosted API keeps these for Claude Enterprise organizations ("legacy" next to
``analytics/usage`` and ``analytics/cost``); Parley answers them for its organization
from the same usage. Time is cut into ``bucket_width`` buckets (``1d`` by default; UTC,
from ``starting_at`` snapped down to the width); a page holds ``limit`` buckets
(``1d``: 7 by default, at most 31; ``1h``: 24, 168; ``1m``: 60, 256) and
``next_page`` continues after them. Without ``ending_at`` the report runs to the
bucket that holds now (at most 31 days after ``starting_at``). A bucket holds one
result per group, or one total when nothing is grouped; ``user_ids`` selects the
usage of API keys those users created.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from parley.errors import InvalidRequestError
from parley.metering.analytics import FAN_OUT, MAX_RANGE, WIDTHS, Analytics, AnalyticsQuery, Row
from parley.metering.cursor import decode_offset, encode_offset
from parley.metering.reports import TOKEN_TYPES, rfc3339, snap
from parley.storage.db import utc

LIMITS = {"1d": (7, 31), "1h": (24, 168), "1m": (60, 256)}
GROUPS = (
    "claude_tag_category",
    "claude_tag_user_id",
    "context_window",
    "inference_geo",
    "model",
    "product",
    "rbac_group_id",
    "slack_channel_id",
    "speed",
)


@dataclass(frozen=True)
class BucketQuery:
    starting_at: datetime
    ending_at: datetime | None = None
    bucket_width: str = "1d"
    limit: int | None = None
    page: str | None = None
    group_by: tuple[str, ...] = ()
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


class BucketedAnalytics:
    def __init__(self, analytics: Analytics) -> None:
        self.analytics = analytics

    async def usage_report(self, query: BucketQuery) -> dict[str, Any]:
        _check_groups(query.group_by, cost=False)
        buckets, rows, more = await self._buckets(query, query.group_by)
        data = []
        for start, end in buckets:
            found = [r for r in rows if r.start == start]
            if not found and not query.group_by:
                found = [Row(start, end, ())]
            results = [{**self._dims(query.group_by, r), **_usage(r)} for r in found]
            data.append(
                {"starting_at": rfc3339(start), "ending_at": rfc3339(end), "results": results}
            )
        return _page(data, more)

    async def cost_report(self, query: BucketQuery) -> dict[str, Any]:
        _check_groups(query.group_by, cost=True)
        groups = tuple(g for g in query.group_by if g not in FAN_OUT)
        fan_out = len(groups) != len(query.group_by)
        buckets, rows, more = await self._buckets(query, groups)
        data = []
        for start, end in buckets:
            found = [r for r in rows if r.start == start]
            if not found and not query.group_by:
                found = [Row(start, end, ())]
            results: list[dict[str, Any]] = []
            for row in found:
                dims = self._dims(groups, row)
                if not fan_out:
                    results.append({**dims, **_money(row.amount, row.sums[0], None)})
                    continue
                for token_type in TOKEN_TYPES:
                    amount = row.cost.get(token_type, Decimal(0))
                    results.append({**dims, **_money(amount, None, token_type)})
            data.append(
                {"starting_at": rfc3339(start), "ending_at": rfc3339(end), "results": results}
            )
        return _page(data, more)

    async def _buckets(
        self, query: BucketQuery, groups: tuple[str, ...]
    ) -> tuple[list[tuple[datetime, datetime]], list[Row], str | None]:
        width = WIDTHS.get(query.bucket_width)
        if width is None:
            raise InvalidRequestError("bucket_width: Input should be '1d', '1h' or '1m'")
        default, most = LIMITS[query.bucket_width]
        limit = query.limit or default
        if not 1 <= limit <= most:
            raise InvalidRequestError(
                f"limit: must be between 1 and {most} for bucket_width {query.bucket_width}"
            )
        begin = utc(query.starting_at) or query.starting_at
        first = snap(begin, width)
        if query.ending_at is not None:
            end = utc(query.ending_at) or query.ending_at
        else:
            end = snap(min(datetime.now(UTC), begin + MAX_RANGE), width) + width
        if end <= first:
            raise InvalidRequestError("ending_at: must be after starting_at")
        if end - first > MAX_RANGE + width:
            raise InvalidRequestError("ending_at: the range may span at most 31 days")
        cursor = first + width * (decode_offset(query.page) if query.page else 0)
        buckets: list[tuple[datetime, datetime]] = []
        while cursor < end and len(buckets) < limit:
            buckets.append((cursor, cursor + width))
            cursor += width
        more = encode_offset((cursor - first) // width) if cursor < end else None
        if not buckets:
            return [], [], None
        inner = AnalyticsQuery(starting_at=first, group_by=groups, filters=query.filters)
        span = (buckets[0][0], buckets[-1][1], width)
        rows, _ = await self.analytics.rows(inner, groups, span)
        return buckets, rows, more

    def _dims(self, groups: tuple[str, ...], row: Row) -> dict[str, Any]:
        values = dict(zip(groups, row.key, strict=True))
        return {name: values.get(name) for name in GROUPS}


def _check_groups(groups: tuple[str, ...], *, cost: bool) -> None:
    allowed = (*GROUPS, *FAN_OUT) if cost else GROUPS
    for group in groups:
        if group not in allowed:
            raise InvalidRequestError(
                f"group_by: {group!r} is not a dimension of this report; use any of "
                f"{', '.join(allowed)}"
            )


def _usage(row: Row) -> dict[str, Any]:
    requests, uncached, output, read, write_5m, write_1h = row.sums
    return {
        "uncached_input_tokens": uncached,
        "output_tokens": output,
        "cache_read_input_tokens": read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": write_5m,
            "ephemeral_1h_input_tokens": write_1h,
        },
        "requests": requests,
        "server_tool_use": {"web_search_requests": 0},
    }


def _money(amount: Decimal, requests: int | None, token_type: str | None) -> dict[str, Any]:
    text = format(amount.normalize(), "f") if amount else "0"
    return {
        "amount": text,
        "list_amount": text,
        "currency": "USD",
        "requests": requests,
        "cost_type": "tokens" if token_type else None,
        "token_type": token_type,
    }


def _page(data: list[dict[str, Any]], more: str | None) -> dict[str, Any]:
    return {
        "data": data,
        "has_more": more is not None,
        "next_page": more,
        "data_refreshed_at": rfc3339(datetime.now(UTC)),
    }
