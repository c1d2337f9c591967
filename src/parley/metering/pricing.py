"""What tokens cost: each model's configured prices, the API's cache multipliers, and
the 50% batch discount. Amounts are exact decimals in US cents."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from parley.config import ModelPricing

# Token columns as stored in usage records.
COLUMNS = (
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_5m_input_tokens",
    "cache_creation_1h_input_tokens",
)


def per_million_usd(price: ModelPricing, column: str) -> float:
    if column == "input_tokens":
        return price.input
    if column == "output_tokens":
        return price.output
    if column == "cache_read_input_tokens":
        return price.cache_read if price.cache_read is not None else price.input * 0.1
    if column == "cache_creation_5m_input_tokens":
        return price.cache_write_5m if price.cache_write_5m is not None else price.input * 1.25
    if column == "cache_creation_1h_input_tokens":
        return price.cache_write_1h if price.cache_write_1h is not None else price.input * 2
    raise KeyError(column)


def cents(price: ModelPricing, column: str, tokens: int, *, batch: bool) -> Decimal:
    usd = Decimal(tokens) * Decimal(str(per_million_usd(price, column))) / Decimal(1_000_000)
    return usd * 100 / (2 if batch else 1)


def row_cents(pricing: Mapping[str, ModelPricing], row: Mapping[str, object]) -> Decimal:
    """Cost of one usage row (needs ``model``, ``is_batch`` and the token columns)."""
    price = pricing.get(str(row["model"]), ModelPricing())
    batch = bool(row["is_batch"])
    return sum(
        (cents(price, c, int(row[c] or 0), batch=batch) for c in COLUMNS),  # type: ignore[call-overload]
        Decimal(0),
    )
