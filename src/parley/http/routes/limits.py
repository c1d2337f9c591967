"""Rate-limit endpoints of the Admin API.

Reading follows the hosted API (``GET /v1/organizations/rate_limits``,
``GET /v1/organizations/workspaces/{id}/rate_limits``, and the SDK's
``POST …/workspaces/{id}/rate_limits/{rate_limit_id}``). Setting the organization's
own limits (``POST /v1/organizations/rate_limits/{rate_limit_id}``) is Parley's
addition: on the hosted API those come from the usage tier. A rate limit's id is
``rl_<model group>``; ``limits`` entries are ``{"type": <kind>, "value": int|null}``.
The organization's limits without an override are its current usage tier's.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from parley.config import LimitValues
from parley.errors import NotFoundError
from parley.http.deps import AdminDep, Services, ServicesDep
from parley.http.routes.body import parse_body
from parley.protocol import ApiVersion
from parley.ratelimit.policy import KINDS
from parley.wire.common import WireModel

router = APIRouter(prefix="/v1/organizations")


class LimitValueParam(WireModel):
    type: Literal["requests_per_minute", "input_tokens_per_minute", "output_tokens_per_minute"]
    value: int | None = Field(None, ge=1)


class RateLimitUpdateParams(WireModel):
    limits: list[LimitValueParam]


def _groups(svc: Services) -> dict[str, list[str]]:
    return svc.catalog.rate_limit_groups()


def _group_of(rate_limit_id: str, svc: Services) -> str:
    group = rate_limit_id.removeprefix("rl_")
    if group not in _groups(svc):
        raise NotFoundError(f"Rate limit `{rate_limit_id}` not found.")
    return group


def _org_entry(
    group: str, models: list[str], values: LimitValues, version: ApiVersion
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": f"rl_{group}",
        "type": "rate_limit",
        "group": {"type": "model_group", "id": group, "display_name": group},
        "models": models,
        "limits": [{"type": k, "value": getattr(values, k)} for k in KINDS if getattr(values, k)],
    }
    if version is ApiVersion.V2023_06_01:
        entry["group_type"] = "model_group"
    return entry


async def _org_values(svc: Services, group: str) -> LimitValues:
    return await svc.limits.organization_limits(svc.organization.organization_id, group)


@router.get("/rate_limits")
async def list_rate_limits(ctx: AdminDep, svc: ServicesDep) -> JSONResponse:
    data = [
        _org_entry(g, models, await _org_values(svc, g), ctx.version)
        for g, models in _groups(svc).items()
    ]
    return JSONResponse({"data": data, "next_page": None})


@router.post("/rate_limits/{rate_limit_id}")
async def set_org_rate_limit(
    rate_limit_id: str, request: Request, ctx: AdminDep, svc: ServicesDep
) -> JSONResponse:
    group = _group_of(rate_limit_id, svc)
    params = await parse_body(request, RateLimitUpdateParams)
    await svc.allow(ctx, "manage_limits")
    changes: dict[str, int | None] = {item.type: item.value for item in params.limits}
    org = svc.organization.organization_id
    values = await svc.limits.update("organization", org, group, changes)
    return JSONResponse(_org_entry(group, _groups(svc)[group], values, ctx.version))


async def _workspace_entry(
    svc: Services, workspace_id: str, group: str, models: list[str], inherited: bool
) -> dict[str, Any] | None:
    mine = (await svc.limits.overrides()).get(("workspace", workspace_id, group))
    if mine is None and not inherited:
        return None
    org = await _org_values(svc, group)
    limits = []
    for kind in KINDS:
        own = getattr(mine, kind) if mine else None
        cap = getattr(org, kind)
        if own is None and cap is None:
            continue
        limits.append(
            {
                "type": kind,
                "value": own if own is not None else cap,
                "org_limit": cap,
                "source": {"type": "workspace" if own is not None else "organization"},
            }
        )
    return {
        "type": "workspace_rate_limit",
        "rate_limit_id": f"rl_{group}",
        "workspace_id": workspace_id,
        "group": {"type": "model_group", "id": group, "display_name": group},
        "models": models,
        "limits": limits,
    }


@router.get("/workspaces/{workspace_id}/rate_limits")
async def list_workspace_rate_limits(
    workspace_id: str, _: AdminDep, svc: ServicesDep, include_inherited: bool = False
) -> JSONResponse:
    await svc.workspaces.get(workspace_id)
    entries = [
        await _workspace_entry(svc, workspace_id, g, m, include_inherited)
        for g, m in _groups(svc).items()
    ]
    return JSONResponse({"data": [e for e in entries if e], "next_page": None})


@router.post("/workspaces/{workspace_id}/rate_limits/{rate_limit_id}")
async def set_workspace_rate_limit(
    workspace_id: str, rate_limit_id: str, request: Request, ctx: AdminDep, svc: ServicesDep
) -> JSONResponse:
    await svc.workspaces.get(workspace_id)
    group = _group_of(rate_limit_id, svc)
    params = await parse_body(request, RateLimitUpdateParams)
    await svc.allow(ctx, "manage_limits", workspace_id)
    changes: dict[str, int | None] = {item.type: item.value for item in params.limits}
    await svc.limits.update("workspace", workspace_id, group, changes)
    entry = await _workspace_entry(svc, workspace_id, group, _groups(svc)[group], True)
    return JSONResponse(entry)
