"""Analytics rows flattened into one record each (bucket, grouped dimensions, numbers),
the form of the Console's CSV export and of ``parley usage`` / ``parley cost``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

USAGE_NUMBERS = (
    "uncached_input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_5m_input_tokens",
    "cache_creation_1h_input_tokens",
    "requests",
    "total_tokens",
)
COST_NUMBERS = ("amount_cents", "currency", "requests")


def numbers(report: str) -> tuple[str, ...]:
    return USAGE_NUMBERS if report == "usage" else COST_NUMBERS


def flatten(
    rows: Sequence[Mapping[str, Any]], groups: Sequence[str], report: str
) -> list[dict[str, Any]]:
    """One flat record per analytics row of ``report`` (usage or cost)."""
    return [_one(row, groups, report) for row in rows]


def _one(row: Mapping[str, Any], groups: Sequence[str], report: str) -> dict[str, Any]:
    found = row.get("group") or {}
    record: dict[str, Any] = {"starting_at": row["starting_at"], "ending_at": row["ending_at"]}
    for name in groups:
        value = found.get(name)
        record[name] = value.get("api_key_id") if isinstance(value, dict) else value
    if report == "cost":
        cost = row["cost"]
        record.update(amount_cents=cost["amount"], currency=cost["currency"])
        record["requests"] = cost.get("requests")
        return record
    usage = row["usage"]
    creation = usage["cache_creation"]
    record.update(
        uncached_input_tokens=usage["uncached_input_tokens"],
        output_tokens=usage["output_tokens"],
        cache_read_input_tokens=usage["cache_read_input_tokens"],
        cache_creation_5m_input_tokens=creation["ephemeral_5m_input_tokens"],
        cache_creation_1h_input_tokens=creation["ephemeral_1h_input_tokens"],
        requests=usage["requests"],
        total_tokens=usage["total_tokens"],
    )
    return record
