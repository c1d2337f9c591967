"""``parley limits``: rate limits per workspace and model group, spend limits with this
month's spend, and the usage tier (``show``); setting rate limits (``rate``) and spend
limits (``spend``) through the services the Admin API and the Console use. Changes
go out on the change bus, so servers sharing Redis apply them at once (others within
``rate_limits.override_cache_ttl`` seconds)."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click

from parley.catalog import rate_limit_groups
from parley.cli.options import config_option, settings_from
from parley.cli.output import emit, json_option, run
from parley.cli.services import Offline, offline
from parley.errors import InvalidRequestError, NotFoundError
from parley.http.routes.body import validated
from parley.ratelimit.policy import KINDS
from parley.wire.spend import SpendLimitSetParams

RATE_COLUMNS = [
    ("group", "Model group"),
    ("scope", "Scope"),
    ("requests_per_minute", "Requests/min"),
    ("input_tokens_per_minute", "Input tokens/min"),
    ("output_tokens_per_minute", "Output tokens/min"),
]
SPEND_COLUMNS = [
    ("scope", "Scope"),
    ("limit_usd", "Monthly limit (USD)"),
    ("spent_usd", "Spent (USD)"),
]


@click.group()
def limits() -> None:
    """Rate limits, spend limits and the usage tier."""


async def _rate_rows(svc: Offline) -> list[dict[str, Any]]:
    policy, org = svc.plans.policy, svc.organization.organization_id
    overrides = await policy.overrides()
    workspaces, _ = await svc.workspaces.page(limit=1000)
    rows = []
    for group in rate_limit_groups(svc.settings.models):
        values = await policy.organization_limits(org, group)
        rows.append({"group": group, "scope": "organization", **values.model_dump()})
        for w in workspaces:
            own = overrides.get(("workspace", w.id, group))
            if own is not None:
                rows.append(
                    {"group": group, "scope": w.name, "workspace_id": w.id, **own.model_dump()}
                )
    return rows


async def _spend_rows(svc: Offline) -> list[dict[str, Any]]:
    spend = svc.plans.spend
    month = await spend.month(fresh=True)
    rows = [_spend("organization", await spend.organization_cents(), month.total)]
    table = await spend.limits()
    workspaces, _ = await svc.workspaces.page(limit=1000)
    for w in workspaces:
        own = table.get(("workspace", w.id))
        spent = month.per_workspace.get(w.id, Decimal(0))
        if own is not None or spent:
            rows.append(_spend(w.name, own.cents if own else None, spent, w.id))
    rows.append(_spend("usage tier cap", await spend.tier_cap_cents(), month.total))
    return rows


def _spend(
    scope: str, cents: int | None, spent: Decimal, workspace: str | None = None
) -> dict[str, Any]:
    return {
        "scope": scope,
        "workspace_id": workspace,
        "limit_usd": None if cents is None else f"{Decimal(cents) / 100:.2f}",
        "spent_usd": f"{spent / 100:.4f}",
    }


@limits.command()
@config_option
@json_option
def show(config_file: Path | None, as_json: bool) -> None:
    """Show rate limits, spend limits with this month's spend, and the usage tier."""
    settings = settings_from(config_file)

    async def work() -> dict[str, Any]:
        async with offline(settings) as svc:
            tier = await svc.plans.tiers.report()
            return {
                "usage_tier": tier.model_dump(mode="json"),
                "rate_limits": await _rate_rows(svc),
                "spend": await _spend_rows(svc),
            }

    found = run(work)
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    click.echo(f"Usage tier: {found['usage_tier']['tier']}")
    emit(found["rate_limits"], RATE_COLUMNS, as_json=False, title="Rate limits (none: no limit)")
    emit(found["spend"], SPEND_COLUMNS, as_json=False, title="Spend this month")


def _per_minute(value: str | None) -> int | None:
    if value is None or value.lower() == "none":
        return None
    if not value.isdigit() or int(value) < 1:
        raise click.BadParameter(f"{value!r}: a whole number of at least 1, or none")
    return int(value)


@limits.command()
@config_option
@click.argument("group")
@click.option(
    "--workspace",
    "workspace_id",
    default=None,
    help="A workspace's limits (default: the organization's).",
)
@click.option("--requests-per-minute", "rpm", default=None, help="A number, or none.")
@click.option("--input-tokens-per-minute", "itpm", default=None, help="A number, or none.")
@click.option("--output-tokens-per-minute", "otpm", default=None, help="A number, or none.")
@json_option
def rate(
    config_file: Path | None,
    group: str,
    workspace_id: str | None,
    rpm: str | None,
    itpm: str | None,
    otpm: str | None,
    as_json: bool,
) -> None:
    """Set the per-minute limits of model GROUP; kinds not given keep their value."""
    settings = settings_from(config_file)
    given = dict(zip(KINDS, (rpm, itpm, otpm), strict=True))
    changes = {kind: _per_minute(value) for kind, value in given.items() if value is not None}
    if not changes:
        raise click.UsageError("give at least one of the --*-per-minute options")

    async def work() -> dict[str, Any]:
        if group not in rate_limit_groups(settings.models):
            raise NotFoundError(f"Rate limit group `{group}` not found.")
        async with offline(settings) as svc:
            if workspace_id is None:
                scope, scope_id = "organization", svc.organization.organization_id
            else:
                await svc.workspaces.get(workspace_id)
                scope, scope_id = "workspace", workspace_id
            values = await svc.plans.policy.update(scope, scope_id, group, changes)
            return {"group": group, "scope": workspace_id or "organization", **values.model_dump()}

    emit([run(work)], RATE_COLUMNS, as_json=as_json)


@limits.command()
@config_option
@click.argument("amount")
@click.option(
    "--workspace",
    "workspace_id",
    default=None,
    help="A workspace's limit (default: the organization's).",
)
@json_option
def spend(config_file: Path | None, amount: str, workspace_id: str | None, as_json: bool) -> None:
    """Set a monthly spend limit of AMOUNT US dollars (or none)."""
    settings = settings_from(config_file)

    async def work() -> dict[str, Any]:
        scope = (
            {"type": "workspace", "workspace_id": workspace_id}
            if workspace_id
            else {"type": "organization"}
        )
        params = validated(SpendLimitSetParams, {"scope": scope, "amount": _cents(amount)})
        async with offline(settings) as svc:
            return (await svc.spend_limits.set(params)).model_dump(mode="json")

    saved = run(work)
    emit([saved], [("id", "ID"), ("amount", "Amount (cents)"), ("scope", "Scope")], as_json=as_json)


def _cents(usd: str) -> str | None:
    if usd.lower() == "none":
        return None
    try:
        value = Decimal(usd.lstrip("$").replace(",", ""))
    except InvalidOperation:
        raise InvalidRequestError(
            f"amount: {usd!r} is not a dollar amount such as 50 or 12.50"
        ) from None
    if value < 0 or value != value.quantize(Decimal("0.01")):
        raise InvalidRequestError("amount: a dollar amount of at least 0, in whole cents")
    return str(int(value * 100))
