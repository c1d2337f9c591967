"""Chart data from the analytics reports' rows, for the pages' charts.

Pure functions: rows in the shape ``metering/analytics.py`` returns (the Admin API's),
out a small spec ``console.js`` hands to Chart.js: ``labels``, ``datasets`` (each a
``label`` and one number per label), ``kind`` (bar or line), whether bars stack, and
the ``unit`` of the numbers (tokens, requests or usd). Costs arrive in cents as decimal
strings and leave in US dollars.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

Row = Mapping[str, Any]
METRICS = {
    "tokens": ("usage", "total_tokens"),
    "requests": ("usage", "requests"),
    "usd": ("cost", "amount"),
}


def metric(row: Row, unit: str) -> float:
    """One row's value of ``unit``: tokens, requests, or cost in US dollars."""
    section, field = METRICS[unit]
    value = (row.get(section) or {}).get(field) or 0
    if unit == "usd":
        return float(Decimal(str(value)) / 100)
    return float(value)


def buckets(start: datetime, end: datetime, width: timedelta) -> list[datetime]:
    """Every bucket start in [start, end), so hours or days without usage show as 0."""
    found, at = [], start
    while at < end:
        found.append(at)
        at += width
    return found


def group_key(row: Row, groups: Sequence[str]) -> tuple[Any, ...]:
    found = row.get("group") or {}
    return tuple(found.get(g) for g in groups)


def group_label(key: tuple[Any, ...], name: Callable[[Any], str]) -> str:
    """What a person reads for a group: its values' names, or "All" for no group."""
    return " · ".join(name(v) for v in key) if key else "All"


def bucket_label(at: datetime, width: timedelta) -> str:
    return at.strftime("%H:%M") if width < timedelta(days=1) else at.strftime("%b %d")


def over_time(
    rows: Iterable[Row],
    times: list[datetime],
    *,
    unit: str,
    groups: Sequence[str],
    width: timedelta,
    name: Callable[[Any], str] = str,
) -> dict[str, Any]:
    """Stacked bars: one dataset per group, one bar per bucket."""
    index = {t.strftime("%Y-%m-%dT%H:%M"): i for i, t in enumerate(times)}
    series: dict[Any, list[float]] = {}
    for row in rows:
        at = str(row["starting_at"])[:16]
        if at not in index:
            continue
        key = group_key(row, groups)
        series.setdefault(key, [0.0] * len(times))[index[at]] += metric(row, unit)
    ordered = sorted(series.items(), key=lambda kv: -sum(kv[1]))
    return {
        "kind": "bar",
        "stacked": True,
        "unit": unit,
        "labels": [bucket_label(t, width) for t in times],
        "datasets": [
            {"label": group_label(k, name), "data": _rounded(v, unit)} for k, v in ordered
        ],
    }


def totals(
    rows: Iterable[Row], *, unit: str, groups: Sequence[str], name: Callable[[Any], str] = str
) -> dict[str, Any]:
    """Bars: one per group, largest first."""
    sums: dict[tuple[Any, ...], float] = {}
    for row in rows:
        key = group_key(row, groups)
        sums[key] = sums.get(key, 0.0) + metric(row, unit)
    ordered = sorted(sums.items(), key=lambda kv: -kv[1])
    return {
        "kind": "bar",
        "stacked": False,
        "unit": unit,
        "labels": [group_label(k, name) for k, _ in ordered],
        "datasets": [{"label": unit, "data": _rounded([v for _, v in ordered], unit)}],
    }


def total(rows: Iterable[Row], unit: str) -> float:
    return sum(metric(row, unit) for row in rows)


def _rounded(values: list[float], unit: str) -> list[float]:
    return [round(v, 6) if unit == "usd" else round(v) for v in values]
