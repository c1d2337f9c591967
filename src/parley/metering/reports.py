"""Usage and cost reports in the Admin API's shapes (reference §9.3, §9.4).

Time is cut into buckets of ``1m``, ``1h`` or ``1d`` (UTC, starting at
``starting_at`` snapped down to the bucket width); a page holds ``limit`` buckets and
``next_page`` continues after them. Results inside a bucket are split by the
requested ``group_by`` dimensions; a dimension not grouped by is ``null``, and so is
the default workspace, as on the hosted API. Costs come from each model's configured
prices (USD per million tokens), with batch usage at 50%, and are reported in cents
as decimal strings.
"""

from __future__ import annotations

import base64
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from parley.config import ModelPricing
from parley.errors import InvalidRequestError
from parley.metering.pricing import cents
from parley.metering.usage import UsageRecorder
from parley.storage import usage as usage_store
from parley.storage.db import Database, utc

WIDTHS: dict[str, tuple[timedelta, int, int]] = {
    "1m": (timedelta(minutes=1), 60, 1440),
    "1h": (timedelta(hours=1), 24, 168),
    "1d": (timedelta(days=1), 7, 31),
}
USAGE_GROUPS = (
    "api_key_id",
    "workspace_id",
    "model",
    "service_tier",
    "context_window",
    "inference_geo",
)
COST_GROUPS = ("workspace_id", "description")
TOKEN_TYPES = {
    "uncached_input_tokens": ("input_tokens", "Input Tokens"),
    "output_tokens": ("output_tokens", "Output Tokens"),
    "cache_read_input_tokens": ("cache_read_input_tokens", "Cache Read Tokens"),
    "cache_creation.ephemeral_5m_input_tokens": (
        "cache_creation_5m_input_tokens",
        "5m Cache Write Tokens",
    ),
    "cache_creation.ephemeral_1h_input_tokens": (
        "cache_creation_1h_input_tokens",
        "1h Cache Write Tokens",
    ),
}


@dataclass(frozen=True)
class ReportQuery:
    starting_at: datetime
    ending_at: datetime | None = None
    bucket_width: str = "1d"
    limit: int | None = None
    page: str | None = None
    group_by: Sequence[str] = ()
    api_key_ids: Sequence[str] = ()
    workspace_ids: Sequence[str] = ()
    models: Sequence[str] = ()
    service_tiers: Sequence[str] = ()


@dataclass
class _Window:
    buckets: list[datetime]
    width: timedelta
    next_start: datetime | None
    rows: list[dict[str, Any]] = field(default_factory=list)


class Reports:
    def __init__(
        self,
        db: Database,
        recorder: UsageRecorder,
        *,
        pricing: Mapping[str, ModelPricing],
        default_workspace_id: str,
        inference_geo: str,
    ) -> None:
        self.db = db
        self.recorder = recorder
        self.pricing = pricing
        self.default_workspace_id = default_workspace_id
        self.inference_geo = inference_geo

    async def usage(self, query: ReportQuery) -> dict[str, Any]:
        _check_groups(query.group_by, USAGE_GROUPS)
        window = await self._window(query)
        data = []
        for start in window.buckets:
            groups: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0] * 5)
            for row in self._rows_in(window, start):
                totals = groups[tuple(self._dim(row, g) for g in query.group_by)]
                for i, name in enumerate(TOKEN_TYPES.values()):
                    totals[i] += int(row[name[0]])
            results = [self._usage_result(query.group_by, key, t) for key, t in groups.items()]
            data.append(_bucket(start, window.width, results))
        return _page(data, window)

    async def cost(self, query: ReportQuery) -> dict[str, Any]:
        if query.bucket_width != "1d":
            raise InvalidRequestError('bucket_width: the cost report supports only "1d"')
        _check_groups(query.group_by, COST_GROUPS)
        window = await self._window(query)
        by_description = "description" in query.group_by
        data = []
        for start in window.buckets:
            amounts: dict[tuple[Any, ...], Decimal] = defaultdict(Decimal)
            for row in self._rows_in(window, start):
                workspace = (
                    self._dim(row, "workspace_id") if "workspace_id" in query.group_by else None
                )
                for token_type, (column, _) in TOKEN_TYPES.items():
                    cents = self._cents(row, column)
                    if cents or by_description:
                        detail = (row["model"], self._dim(row, "service_tier"), token_type)
                        amounts[(workspace, *(detail if by_description else (None,) * 3))] += cents
            results = [self._cost_result(key, amount) for key, amount in amounts.items()]
            data.append(_bucket(start, window.width, results))
        return _page(data, window)

    # --- helpers --------------------------------------------------------------------

    async def _window(self, query: ReportQuery) -> _Window:
        if query.bucket_width not in WIDTHS:
            raise InvalidRequestError("bucket_width: Input should be '1m', '1h' or '1d'")
        width, default_limit, max_limit = WIDTHS[query.bucket_width]
        limit = query.limit or default_limit
        if not 1 <= limit <= max_limit:
            raise InvalidRequestError(
                f"limit: must be between 1 and {max_limit} for bucket_width {query.bucket_width}"
            )
        first = snap(utc(query.starting_at) or query.starting_at, width)
        start = _decode_page(query.page) if query.page else first
        # Without ending_at the report runs up to the bucket that holds "now".
        end = utc(query.ending_at) or snap(datetime.now(UTC), width) + width
        if end <= first:
            raise InvalidRequestError("ending_at: must be after starting_at")
        buckets: list[datetime] = []
        cursor = start
        while cursor < end and len(buckets) < limit:
            buckets.append(cursor)
            cursor += width
        window = _Window(buckets, width, cursor if cursor < end else None)
        if buckets:
            await self.recorder.flush()
            async with self.db.read() as session:
                window.rows = await usage_store.minute_totals(
                    session,
                    start=buckets[0],
                    end=buckets[-1] + width,
                    api_key_ids=query.api_key_ids or None,
                    workspace_ids=self._workspace_filter(query.workspace_ids),
                    models=query.models or None,
                )
        if query.service_tiers:
            window.rows = [
                r for r in window.rows if self._dim(r, "service_tier") in query.service_tiers
            ]
        return window

    def _workspace_filter(self, ids: Sequence[str]) -> list[str] | None:
        return list(ids) or None

    @staticmethod
    def _rows_in(window: _Window, start: datetime) -> list[dict[str, Any]]:
        end = start + window.width
        return [r for r in window.rows if start <= (utc(r["minute"]) or r["minute"]) < end]

    def _dim(self, row: Mapping[str, Any], name: str) -> Any:
        if name == "service_tier":
            return "batch" if row["is_batch"] else row["service_tier"]
        if name == "workspace_id":
            return None if row["workspace_id"] == self.default_workspace_id else row["workspace_id"]
        if name == "context_window":
            return "0-200k"
        if name == "inference_geo":
            return self.inference_geo
        return row[name]

    def _usage_result(
        self, groups: Sequence[str], key: tuple[Any, ...], t: list[int]
    ) -> dict[str, Any]:
        dims = dict(zip(groups, key, strict=True))
        return {
            "uncached_input_tokens": t[0],
            "output_tokens": t[1],
            "cache_read_input_tokens": t[2],
            "cache_creation": {
                "ephemeral_5m_input_tokens": t[3],
                "ephemeral_1h_input_tokens": t[4],
            },
            "server_tool_use": {"web_search_requests": 0},
            **{g: dims.get(g) for g in (*USAGE_GROUPS, "account_id", "service_account_id")},
        }

    def _cents(self, row: Mapping[str, Any], column: str) -> Decimal:
        price = self.pricing.get(row["model"], ModelPricing())
        return cents(price, column, int(row[column]), batch=bool(row["is_batch"]))

    def _cost_result(self, key: tuple[Any, ...], cents: Decimal) -> dict[str, Any]:
        workspace, model, tier, token_type = key
        described = model is not None
        return {
            "amount": format(cents.normalize(), "f") if cents else "0",
            "currency": "USD",
            "workspace_id": workspace,
            "description": _describe(model, tier, token_type) if described else None,
            "cost_type": "tokens" if described else None,
            "context_window": "0-200k" if described else None,
            "model": model,
            "service_tier": tier,
            "token_type": token_type,
            "inference_geo": self.inference_geo if described else None,
        }


def _describe(model: str, tier: str, token_type: str) -> str:
    label = TOKEN_TYPES[token_type][1]
    return f"{model} Usage - {label}" + (", Batch" if tier == "batch" else "")


def _check_groups(groups: Sequence[str], allowed: Sequence[str]) -> None:
    for group in groups:
        if group not in allowed:
            raise InvalidRequestError(
                f"group_by: {group!r} is not supported; use any of {', '.join(allowed)}"
            )


def snap(moment: datetime, width: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + ((moment - epoch) // width) * width


def _bucket(start: datetime, width: timedelta, results: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "starting_at": rfc3339(start),
        "ending_at": rfc3339(start + width),
        "results": results,
    }


def _page(data: list[dict[str, Any]], window: _Window) -> dict[str, Any]:
    next_page = _encode_page(window.next_start) if window.next_start else None
    return {"data": data, "has_more": next_page is not None, "next_page": next_page}


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _encode_page(start: datetime) -> str:
    return "page_" + base64.urlsafe_b64encode(rfc3339(start).encode()).decode().rstrip("=")


def _decode_page(token: str) -> datetime:
    try:
        raw = token.removeprefix("page_")
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequestError("page: not a page token from this report") from None
