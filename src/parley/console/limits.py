"""Limits page: rate limits per workspace and model group, spend limits with this
month's spend against each, and the usage tier; changed through ``ratelimit/policy.py``
and ``metering/spend_limits.py`` with the Admin API's role checks."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from parley.console.auth import ConsoleRoute, Visitor, checked_form, visitor
from parley.console.forms import text
from parley.console.layout import show
from parley.console.render import redirect
from parley.errors import InvalidRequestError, NotFoundError
from parley.http.routes.body import validated
from parley.ratelimit.policy import KINDS
from parley.wire.spend import SpendLimitSetParams

router = APIRouter(prefix="/console/limits", route_class=ConsoleRoute, include_in_schema=False)
VisitorDep = Annotated[Visitor, Depends(visitor)]
HERE = "/console/limits"
ORGANIZATION = "organization"


@router.get("")
async def limits_page(request: Request, who: VisitorDep) -> Response:
    who.require_admin()
    svc = who.svc
    workspaces = [w for w in await who.workspaces() if not w.is_default]
    overrides = await svc.limits.overrides()
    org = svc.organization.organization_id
    reads_usage = await who.may("read_usage")
    groups = []
    for group, models in svc.catalog.rate_limit_groups().items():
        own = {w.id: overrides.get(("workspace", w.id, group)) for w in workspaces}
        limits = await svc.limits.organization_limits(org, group)
        groups.append({"id": group, "models": models, "org": limits, "workspaces": own})
    return await show(
        request,
        who,
        "limits.html",
        "limits",
        groups=groups,
        kinds=KINDS,
        workspaces=workspaces,
        # What was spent is usage: shown only to a role that may read usage and cost.
        spend=await _spend_rows(who, workspaces) if reads_usage else None,
        tier=await svc.tiers.report() if reads_usage else None,
    )


async def _spend_rows(who: Visitor, workspaces: list[Any]) -> list[dict[str, Any]]:
    """The organization and each workspace: its monthly limit and this month's spend."""
    svc = who.svc
    month = await svc.spend.month(fresh=True)
    limits = await svc.spend.limits()
    rows = [
        {
            "scope": ORGANIZATION,
            "name": "Organization",
            "limit": await svc.spend.organization_cents(),
            "spent": month.total,
        }
    ]
    for w in workspaces:
        own = limits.get(("workspace", w.id))
        spent = month.per_workspace.get(w.id, Decimal(0))
        rows.append(
            {"scope": w.id, "name": w.name, "limit": own.cents if own else None, "spent": spent}
        )
    cap = await svc.spend.tier_cap_cents()
    rows.append(
        {"scope": "usage_tier", "name": "Usage tier cap", "limit": cap, "spent": month.total}
    )
    return rows


def _per_minute(form: FormData, kind: str) -> int | None:
    raw = text(form, kind)
    if raw is None:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise InvalidRequestError(f"{kind}: a whole number of at least 1, or blank for no limit")
    return int(raw)


@router.post("/rate")
async def set_rate_limit(request: Request, who: VisitorDep) -> Response:
    form = await checked_form(request, who)
    scope_id, group = text(form, "scope") or ORGANIZATION, text(form, "group") or ""
    if group not in who.svc.catalog.rate_limit_groups():
        raise NotFoundError(f"Rate limit group `{group}` not found.")
    changes = {kind: _per_minute(form, kind) for kind in KINDS}
    if scope_id == ORGANIZATION:
        await who.require("manage_limits")
        scope, scope_id = "organization", who.svc.organization.organization_id
    else:
        await who.svc.workspaces.get(scope_id)
        await who.require("manage_limits", scope_id)
        scope = "workspace"
    await who.svc.limits.update(scope, scope_id, group, changes)
    return redirect(request, HERE, f"Rate limits for {group} saved.")


@router.post("/spend")
async def set_spend_limit(request: Request, who: VisitorDep) -> Response:
    form = await checked_form(request, who)
    scope_id = text(form, "scope") or ORGANIZATION
    amount = _cents(text(form, "amount_usd"))
    if scope_id == ORGANIZATION:
        body: dict[str, Any] = {"scope": {"type": "organization"}, "amount": amount}
        await who.require("manage_limits")
    else:
        body = {"scope": {"type": "workspace", "workspace_id": scope_id}, "amount": amount}
        await who.require("manage_limits", scope_id)
    saved = await who.svc.spend_limits.set(validated(SpendLimitSetParams, body))
    shown = "no limit" if saved.amount is None else f"${Decimal(saved.amount) / 100:,.2f} a month"
    return redirect(request, HERE, f"Spend limit saved: {shown}.")


def _cents(usd: str | None) -> str | None:
    if usd is None:
        return None
    try:
        value = Decimal(usd.replace(",", "").lstrip("$"))
    except InvalidOperation:
        raise InvalidRequestError("amount: a dollar amount such as 50 or 12.50") from None
    if value < 0 or value != value.quantize(Decimal("0.01")) or value > Decimal(10) ** 13:
        raise InvalidRequestError("amount: a dollar amount of at least 0, in whole cents")
    return str(int(value * 100))
