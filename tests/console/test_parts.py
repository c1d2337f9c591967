"""The Console's pure parts: chart data from report rows, the report address's
defaults, the overview's periods, money, and the CSV export's rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from parley.console import charts
from parley.console.overview import span
from parley.console.render import dollars
from parley.console.usage import normalized, to_csv

HOUR = timedelta(hours=1)
T0 = datetime(2026, 12, 7, 10, tzinfo=UTC)


def row(at: datetime, model: str | None, tokens: int, requests: int, cents: str = "0") -> dict:
    usage = {
        "uncached_input_tokens": tokens, "output_tokens": 0, "cache_read_input_tokens": 0,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
        "requests": requests, "total_tokens": tokens,
    }  # fmt: skip
    return {
        "starting_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ending_at": (at + HOUR).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "group": {"model": model},
        "usage": usage,
        "cost": {"amount": cents, "currency": "USD", "requests": requests},
    }


def test_over_time_fills_empty_buckets_and_stacks_groups_largest_first() -> None:
    rows = [row(T0, "a", 5, 1), row(T0 + 2 * HOUR, "b", 50, 2), row(T0 + 2 * HOUR, "a", 1, 1)]
    times = charts.buckets(T0, T0 + 3 * HOUR, HOUR)
    spec = charts.over_time(rows, times, unit="tokens", groups=("model",), width=HOUR)
    assert spec["labels"] == ["10:00", "11:00", "12:00"]
    assert [(d["label"], d["data"]) for d in spec["datasets"]] == [
        ("b", [0, 0, 50]),
        ("a", [5, 0, 1]),
    ]
    assert spec["stacked"] is True


def test_totals_name_groups_and_turn_cents_into_dollars() -> None:
    rows = [row(T0, "a", 1, 1, cents="150"), row(T0, None, 1, 1, cents="0.5")]
    spec = charts.totals(rows, unit="usd", groups=("model",), name=lambda v: f"<{v}>")
    assert spec["labels"] == ["<a>", "<None>"]
    assert spec["datasets"][0]["data"] == [1.5, 0.005]
    assert charts.total(rows, "requests") == 2
    ungrouped = charts.totals(rows, unit="requests", groups=())
    assert ungrouped["labels"] == ["All"]


def test_the_usage_page_fills_in_what_a_report_needs() -> None:
    now = datetime(2026, 12, 7, 15, tzinfo=UTC)
    assert normalized([], now) == [
        ("starting_at", "2026-12-01"),
        ("ending_at", "2026-12-08"),
        ("time_bucket_width", "1d"),
        ("group_by[]", "model"),
    ]
    sent = [("starting_at", "2026-12-01"), ("ending_at", ""), ("time_bucket_width", "1h")]
    assert normalized(sent, now) == [
        ("starting_at", "2026-12-01"),
        ("time_bucket_width", "1h"),
        ("ending_at", "2026-12-08"),
    ]
    complete = [("starting_at", "2026-12-01"), ("group_by[]", "model")]
    assert normalized(complete, now) is None


def test_overview_periods_are_whole_buckets_up_to_the_current_one() -> None:
    now = datetime(2026, 12, 7, 15, 20, tzinfo=UTC)
    start, end, width = span("24h", now)
    assert (start, end, width) == (
        datetime(2026, 12, 6, 16, tzinfo=UTC),
        datetime(2026, 12, 7, 16, tzinfo=UTC),
        HOUR,
    )
    start, end, width = span("7d", now)
    assert (end - start, width) == (timedelta(days=7), timedelta(days=1))
    assert end == datetime(2026, 12, 8, tzinfo=UTC)


def test_money_and_csv() -> None:
    assert dollars("150") == "$1.50"
    assert dollars("0.5") == "$0.0050"
    assert dollars(0) == "$0.00"
    text = to_csv([row(T0, "a", 7, 2)], ("model",), "usage")
    header, line = text.strip().splitlines()
    assert header.split(",")[:4] == ["starting_at", "ending_at", "model", "uncached_input_tokens"]
    assert line.split(",")[2:4] == ["a", "7"]
    cost = to_csv([row(T0, "a", 7, 2, cents="12.5")], ("model",), "cost").strip().splitlines()
    assert cost[0].endswith("model,amount_cents,currency,requests")
    assert cost[1].endswith("a,12.5,USD,2")
