"""Admin API: invites (``/v1/organizations/invites``) and workspace members
(``/v1/organizations/workspaces/{id}/members``), in SDK 2.15's shapes.

Creating an invite answers the SDK's ``OrganizationInvite`` plus ``accept_token``, the
token that redeems it, shown only then (Parley sends no mail: hand it over, and it is
redeemed with ``parley invites accept``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from parley.http.deps import AdminDep, ServicesDep
from parley.http.routes.body import parse_body
from parley.http.routes.query import array
from parley.tenancy.invites import invite_out
from parley.wire import admin as wire
from parley.wire.page import Page

router = APIRouter(prefix="/v1/organizations")
Limit = Annotated[int, Query(ge=1, le=1000)]


def _json(model: Any) -> JSONResponse:
    return JSONResponse(model.model_dump(mode="json"))


# --- invites --------------------------------------------------------------------------


@router.post("/invites")
async def create_invite(request: Request, ctx: AdminDep, svc: ServicesDep) -> JSONResponse:
    params = await parse_body(request, wire.InviteCreateParams)
    await svc.allow(ctx, "manage_organization")
    issued = await svc.invites.create(
        email=params.email,
        role=params.role,
        invited_by=ctx.principal.user_id,
        rbac_group_ids=params.rbac_group_ids or [],
    )
    invite = invite_out(issued.invite)
    return _json(wire.CreatedInvite(**invite.model_dump(), accept_token=issued.token))


@router.get("/invites")
async def list_invites(
    request: Request,
    ctx: AdminDep,
    svc: ServicesDep,
    limit: Limit = 20,
    before_id: str | None = None,
    after_id: str | None = None,
    email: str | None = None,
) -> JSONResponse:
    rows, more = await svc.invites.page(
        limit=limit,
        before_id=before_id,
        after_id=after_id,
        email=email,
        roles=array(request, "roles"),
        statuses=array(request, "statuses"),
    )
    return JSONResponse(Page.of([invite_out(r) for r in rows], more).to_wire())


@router.get("/invites/{invite_id}")
async def get_invite(invite_id: str, _: AdminDep, svc: ServicesDep) -> JSONResponse:
    return _json(invite_out(await svc.invites.get(invite_id)))


@router.delete("/invites/{invite_id}")
async def delete_invite(invite_id: str, ctx: AdminDep, svc: ServicesDep) -> JSONResponse:
    await svc.allow(ctx, "manage_organization")
    return _json(await svc.invites.delete(invite_id))


# --- workspace members ------------------------------------------------------------------


@router.get("/workspaces/{workspace_id}/members")
async def list_members(
    workspace_id: str,
    _: AdminDep,
    svc: ServicesDep,
    limit: Limit = 20,
    before_id: str | None = None,
    after_id: str | None = None,
) -> JSONResponse:
    members, more = await svc.members.page(
        workspace_id, limit=limit, before_id=before_id, after_id=after_id
    )
    page = Page.of(members, more).to_wire()
    page["first_id"] = members[0].user_id if members else None
    page["last_id"] = members[-1].user_id if members else None
    return JSONResponse(page)


@router.post("/workspaces/{workspace_id}/members")
async def add_member(
    workspace_id: str, request: Request, ctx: AdminDep, svc: ServicesDep
) -> JSONResponse:
    params = await parse_body(request, wire.MemberAddParams)
    await svc.allow(ctx, "manage_members", workspace_id)
    return _json(await svc.members.add(workspace_id, params.user_id, params.workspace_role))


@router.get("/workspaces/{workspace_id}/members/{user_id}")
async def get_member(
    workspace_id: str, user_id: str, _: AdminDep, svc: ServicesDep
) -> JSONResponse:
    return _json(await svc.members.get(workspace_id, user_id))


@router.post("/workspaces/{workspace_id}/members/{user_id}")
async def update_member(
    workspace_id: str, user_id: str, request: Request, ctx: AdminDep, svc: ServicesDep
) -> JSONResponse:
    params = await parse_body(request, wire.MemberUpdateParams)
    await svc.allow(ctx, "manage_members", workspace_id)
    return _json(await svc.members.update(workspace_id, user_id, params.workspace_role))


@router.delete("/workspaces/{workspace_id}/members/{user_id}")
async def remove_member(
    workspace_id: str, user_id: str, ctx: AdminDep, svc: ServicesDep
) -> JSONResponse:
    await svc.allow(ctx, "manage_members", workspace_id)
    return _json(await svc.members.remove(workspace_id, user_id))
