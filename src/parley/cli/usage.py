"""``parley usage`` and ``parley cost``: the analytics usage and cost reports (the Admin
API's ``analytics/usage`` and ``analytics/cost``, the Console's Usage page) from the
command line, as tables or ``--json``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from parley.cli.options import config_option, settings_from
from parley.cli.output import emit, json_option, run
from parley.cli.services import offline
from parley.metering import flat
from parley.metering.analytics import AnalyticsQuery

HEADINGS = {
    "starting_at": "From",
    "uncached_input_tokens": "Input",
    "output_tokens": "Output",
    "cache_read_input_tokens": "Cache reads",
    "requests": "Requests",
    "total_tokens": "Total tokens",
    "amount_cents": "Cost (cents)",
}


def _options(func: Any) -> Any:
    func = click.option(
        "--days", type=click.IntRange(1, 31), default=7, show_default=True, help="The last N days."
    )(func)
    func = click.option(
        "--bucket", type=click.Choice(["1h", "1d"]), default=None, help="One row per hour or day."
    )(func)
    func = click.option(
        "--group-by",
        "group_by",
        multiple=True,
        help="A dimension (model, workspace_id, api_key_id, service_tier…); repeatable.",
    )(func)
    func = click.option("--model", "models", multiple=True, help="Only these models.")(func)
    func = click.option(
        "--workspace", "workspaces", multiple=True, help="Only these workspace ids."
    )(func)
    return json_option(config_option(func))


def _query(
    days: int,
    bucket: str | None,
    group_by: tuple[str, ...],
    models: tuple[str, ...],
    workspaces: tuple[str, ...],
) -> AnalyticsQuery:
    now = datetime.now(UTC)
    filters = {k: v for k, v in (("models", models), ("workspace_ids", workspaces)) if v}
    ending = (
        (now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)) if bucket else None
    )
    return AnalyticsQuery(
        starting_at=now - timedelta(days=days),
        ending_at=ending,
        time_bucket_width=bucket,
        group_by=group_by,
        limit=1000,
        order_by="time" if bucket else None,
        filters=filters,
    )


def _report(report: str, config_file: Path | None, as_json: bool, query: AnalyticsQuery) -> None:
    settings = settings_from(config_file)

    async def work() -> list[dict[str, Any]]:
        async with offline(settings) as svc:
            found = await (
                svc.analytics.usage(query) if report == "usage" else svc.analytics.cost(query)
            )
            return flat.flatten(found["data"], query.group_by, report)

    rows = run(work)
    shown = ["starting_at"] if query.time_bucket_width else []
    shown += [*query.group_by, *(n for n in flat.numbers(report) if n in HEADINGS)]
    columns = [(name, HEADINGS.get(name, name)) for name in shown]
    emit(
        rows,
        columns,
        as_json=as_json,
        title=f"{report.capitalize()}, last {(datetime.now(UTC) - query.starting_at).days} days",
    )


@click.command()
@_options
def usage(
    config_file: Path | None,
    as_json: bool,
    days: int,
    bucket: str | None,
    group_by: tuple[str, ...],
    models: tuple[str, ...],
    workspaces: tuple[str, ...],
) -> None:
    """Tokens and requests, as the usage report has them."""
    _report("usage", config_file, as_json, _query(days, bucket, group_by, models, workspaces))


@click.command()
@_options
def cost(
    config_file: Path | None,
    as_json: bool,
    days: int,
    bucket: str | None,
    group_by: tuple[str, ...],
    models: tuple[str, ...],
    workspaces: tuple[str, ...],
) -> None:
    """Cost in US cents, priced from each model's configured prices."""
    _report("cost", config_file, as_json, _query(days, bucket, group_by, models, workspaces))
