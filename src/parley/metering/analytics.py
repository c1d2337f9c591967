"""The Usage and Cost Analytics API: ``GET /v1/organizations/analytics/{usage,cost}``.

Rows, not buckets: one row per combination of the ``group_by[]`` dimensions (and per
time bucket when ``time_bucket_width`` is set) that has usage in the range, ranked by
``order_by`` (``total_tokens`` for usage, ``amount`` for cost; ``time`` orders by
bucket), ``limit`` rows a page (default 20), ``next_page`` an opaque cursor. Without
group or bucket, one row holds the whole range.

The range: ``starting_at`` rounded down to the hour (to the bucket with a width) up
to ``ending_at`` — required with a width — or, when it is omitted, the earlier of now
and ``starting_at`` plus 31 days. The hosted API rounds that end down to the hour,
which leaves the current hour out of a report asked for "until now"; Parley rounds it
up instead, so the requests just made are in it. The range spans at most 31 days, at
most 24 hours with one-minute buckets.

Cost is priced as ``reports.py`` prices it (each model's configured prices, batch at
half); ``list_amount`` equals ``amount`` (there are no discounts). Grouping cost by
``cost_type`` or ``token_type`` fans each row out into one row per token type, which
do not count toward ``limit`` and carry no ``requests``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from parley.config import ModelPricing
from parley.errors import InvalidRequestError
from parley.metering.cursor import cut
from parley.metering.dimensions import FILTERS, GROUP_FIELDS, Dimensions
from parley.metering.pricing import cents
from parley.metering.reports import TOKEN_TYPES, rfc3339, snap
from parley.metering.usage import UsageRecorder
from parley.storage import tenancy
from parley.storage import usage as usage_store
from parley.storage.db import Database, utc

WIDTHS = {"1m": timedelta(minutes=1), "1h": timedelta(hours=1), "1d": timedelta(days=1)}
MAX_RANGE = timedelta(days=31)
# Metric columns summed per row: requests, then the token columns of ``TOKEN_TYPES``.
_COLUMNS = ("requests", *(column for column, _ in TOKEN_TYPES.values()))
USAGE_ORDER = ("total_tokens", "output_tokens", "requests", "uncached_input_tokens", "time")
COST_ORDER = ("amount", "list_amount", "time")
FAN_OUT = ("cost_type", "token_type")


@dataclass(frozen=True)
class AnalyticsQuery:
    starting_at: datetime
    ending_at: datetime | None = None
    time_bucket_width: str | None = None
    group_by: tuple[str, ...] = ()
    limit: int = 20
    page: str | None = None
    order: str = "desc"
    order_by: str | None = None
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass
class Row:
    start: datetime
    end: datetime
    key: tuple[Any, ...]
    sums: list[int] = field(default_factory=lambda: [0] * len(_COLUMNS))
    cost: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))

    @property
    def total_tokens(self) -> int:
        return sum(self.sums[1:])

    @property
    def amount(self) -> Decimal:
        return sum(self.cost.values(), Decimal(0))


class Analytics:
    def __init__(
        self,
        db: Database,
        recorder: UsageRecorder,
        *,
        pricing: Mapping[str, ModelPricing],
        inference_geo: str,
    ) -> None:
        self.db = db
        self.recorder = recorder
        self.pricing = pricing
        self.inference_geo = inference_geo

    async def usage(self, query: AnalyticsQuery) -> dict[str, Any]:
        _check(query, cost=False)
        rows, dims = await self.rows(query)
        order = query.order_by or "total_tokens"
        rows.sort(key=lambda r: _rank(r, order, query, cost=False), reverse=query.order != "asc")
        page, next_page = cut(rows, query.limit, query.page)
        data = [
            {**_span(r), "group": dims.group(query.group_by, r.key), "usage": _usage(r)}
            for r in page
        ]
        return _envelope(data, next_page)

    async def cost(self, query: AnalyticsQuery) -> dict[str, Any]:
        _check(query, cost=True)
        groups = tuple(g for g in query.group_by if g not in FAN_OUT)
        rows, dims = await self.rows(query, groups)
        order = query.order_by or "amount"
        rows.sort(key=lambda r: _rank(r, order, query, cost=True), reverse=query.order != "asc")
        page, next_page = cut(rows, query.limit, query.page)
        fan_out = any(g in FAN_OUT for g in query.group_by)
        data: list[dict[str, Any]] = []
        for row in page:
            group = dims.group(groups, row.key)
            if not fan_out:
                whole = {**group, "cost_type": None, "token_type": None}
                cost = {**_money(row.amount), "requests": row.sums[0]}
                data.append({**_span(row), "group": whole, "cost": cost})
                continue
            for token_type in TOKEN_TYPES:
                detail = {**group, "cost_type": "tokens", "token_type": token_type}
                cost = {**_money(row.cost.get(token_type, Decimal(0))), "requests": None}
                data.append({**_span(row), "group": detail, "cost": cost})
        return _envelope(data, next_page)

    async def rows(
        self,
        query: AnalyticsQuery,
        groups: Sequence[str] | None = None,
        span: tuple[datetime, datetime, timedelta | None] | None = None,
    ) -> tuple[list[Row], Dimensions]:
        """Usage in the query's window (or ``span``), summed per bucket and group."""
        groups = query.group_by if groups is None else groups
        start, end, width = span or window(query)
        await self.recorder.flush()
        async with self.db.read() as session:
            raw = await usage_store.minute_totals(session, start=start, end=end)
            creators = await tenancy.key_creators(session) if "user_ids" in query.filters else {}
        dims = Dimensions(inference_geo=self.inference_geo, key_creators=creators)
        rows: dict[tuple[Any, ...], Row] = {}
        for record in raw:
            if not dims.matches(record, query.filters):
                continue
            minute: datetime = utc(record["minute"]) or record["minute"]  # type: ignore[assignment, arg-type]
            bucket = snap(minute, width) if width else start
            key = dims.key(record, groups)
            row = rows.get((bucket, *key))
            if row is None:
                row = rows[(bucket, *key)] = Row(bucket, bucket + width if width else end, key)
            self._add(row, record)
        return list(rows.values()), dims

    def _add(self, row: Row, record: Mapping[str, Any]) -> None:
        for i, column in enumerate(_COLUMNS):
            row.sums[i] += int(record[column] or 0)
        price = self.pricing.get(str(record["model"]), ModelPricing())
        for token_type, (column, _) in TOKEN_TYPES.items():
            row.cost[token_type] += cents(
                price, column, int(record[column] or 0), batch=bool(record["is_batch"])
            )


def window(query: AnalyticsQuery) -> tuple[datetime, datetime, timedelta | None]:
    """The report's [start, end) and bucket width, checked."""
    width = WIDTHS.get(query.time_bucket_width or "")
    if query.time_bucket_width is not None and width is None:
        raise InvalidRequestError("time_bucket_width: Input should be '1m', '1h' or '1d'")
    begin = utc(query.starting_at) or query.starting_at
    start = snap(begin, width or timedelta(hours=1))
    if width is not None and query.ending_at is None:
        raise InvalidRequestError("ending_at: Field required when time_bucket_width is set")
    if query.ending_at is not None:
        end = utc(query.ending_at) or query.ending_at
        if width is None:
            end = snap(end, timedelta(hours=1))
    else:
        latest = min(datetime.now(UTC), begin + MAX_RANGE)
        end = snap(latest, timedelta(hours=1)) + timedelta(hours=1)
    if end <= start:
        raise InvalidRequestError("ending_at: must be after starting_at")
    limit = timedelta(hours=24) if query.time_bucket_width == "1m" else MAX_RANGE
    if end - start > limit + timedelta(hours=1):
        span = "24 hours with time_bucket_width 1m" if width == WIDTHS["1m"] else "31 days"
        raise InvalidRequestError(f"ending_at: the range may span at most {span}")
    return start, end, width


def _check(query: AnalyticsQuery, *, cost: bool) -> None:
    allowed = (*GROUP_FIELDS, *FAN_OUT) if cost else GROUP_FIELDS
    for group in query.group_by:
        if group not in allowed:
            raise InvalidRequestError(
                f"group_by: {group!r} is not a dimension of this report; use any of "
                f"{', '.join(allowed)}"
            )
    counted = [g for g in query.group_by if g not in FAN_OUT]
    if len(counted) > 5 or len(set(query.group_by)) != len(query.group_by):
        raise InvalidRequestError("group_by: at most 5 distinct dimensions")
    if not 1 <= query.limit <= 1000:
        raise InvalidRequestError("limit: must be between 1 and 1000")
    if query.order not in ("asc", "desc"):
        raise InvalidRequestError("order: Input should be 'asc' or 'desc'")
    orders = COST_ORDER if cost else USAGE_ORDER
    if query.order_by is not None and query.order_by not in orders:
        raise InvalidRequestError(f"order_by: Input should be one of {', '.join(orders)}")
    for name in query.filters:
        if name not in FILTERS:
            raise InvalidRequestError(f"{name}: not a filter of this report")


def _rank(row: Row, order: str, query: AnalyticsQuery, *, cost: bool) -> tuple[Any, ...]:
    if order == "time" and query.time_bucket_width:
        # Newest bucket first by default; within a bucket, the biggest first either way.
        inner = row.amount if cost else Decimal(row.total_tokens)
        return (row.start, inner if query.order != "asc" else -inner)
    if order == "time":
        order = "amount" if cost else "total_tokens"
    metric = {
        "total_tokens": row.total_tokens,
        "output_tokens": row.sums[2],
        "requests": row.sums[0],
        "uncached_input_tokens": row.sums[1],
        "amount": row.amount,
        "list_amount": row.amount,
    }[order]
    return (metric, row.key.__repr__())


def _span(row: Row) -> dict[str, str]:
    return {"starting_at": rfc3339(row.start), "ending_at": rfc3339(row.end)}


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
        "total_tokens": row.total_tokens,
    }


def _money(amount: Decimal) -> dict[str, str]:
    text = format(amount.normalize(), "f") if amount else "0"
    return {"amount": text, "list_amount": text, "currency": "USD"}


def _envelope(data: list[dict[str, Any]], next_page: str | None) -> dict[str, Any]:
    return {
        "data": data,
        "has_more": next_page is not None,
        "next_page": next_page,
        "data_refreshed_at": rfc3339(datetime.now(UTC)),
    }
