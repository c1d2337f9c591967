"""Parley's plan endpoints: ``GET /v1/organizations/usage_tier`` (the tier, the spend
that moves it, and every move with its time and reason) and
``GET``/``POST /v1/organizations/priority_capacity`` (committed Priority Tier capacity
of the organization or a workspace). Reading the usage tier evaluates it first, so it
shows a move the organization qualifies for at once.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from parley.http.deps import AdminDep, ServicesDep
from parley.http.routes.body import parse_body
from parley.ratelimit.priority import Commitment
from parley.wire import plans as wire

router = APIRouter(prefix="/v1/organizations")


@router.get("/usage_tier")
async def usage_tier(ctx: AdminDep, svc: ServicesDep) -> JSONResponse:
    await svc.allow(ctx, "read_usage")
    return JSONResponse((await svc.tiers.report()).model_dump(mode="json"))


def _out(commitment: Commitment) -> wire.PriorityCapacity:
    scope = {"type": commitment.scope}
    if commitment.scope == "workspace":
        scope["workspace_id"] = commitment.scope_id
    return wire.PriorityCapacity(
        scope=scope,
        input_tokens_per_minute=commitment.input_tokens_per_minute,
        output_tokens_per_minute=commitment.output_tokens_per_minute,
    )


@router.get("/priority_capacity")
async def list_priority_capacity(_: AdminDep, svc: ServicesDep) -> JSONResponse:
    found = sorted((await svc.priority.commitments()).values(), key=lambda c: c.scope_id)
    return JSONResponse(
        {"data": [_out(c).model_dump(mode="json") for c in found], "next_page": None}
    )


@router.post("/priority_capacity")
async def set_priority_capacity(request: Request, ctx: AdminDep, svc: ServicesDep) -> JSONResponse:
    params = await parse_body(request, wire.PriorityCapacitySetParams)
    await svc.allow(ctx, "manage_organization")
    if isinstance(params.scope, wire.WorkspaceScope):
        await svc.workspaces.get(params.scope.workspace_id)
        scope, scope_id = "workspace", params.scope.workspace_id
    else:
        scope, scope_id = "organization", svc.organization.organization_id
    found = await svc.priority.set(
        scope, scope_id, params.input_tokens_per_minute, params.output_tokens_per_minute
    )
    commitment = found or Commitment(scope, scope_id, 0, 0)
    return JSONResponse(_out(commitment).model_dump(mode="json"))
