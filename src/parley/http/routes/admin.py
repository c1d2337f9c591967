"""Admin API: ``/v1/organizations/*`` — organization, users, workspaces, API keys.

Admin keys only (a workspace key gets 403), and each call is checked against the
roles of the key's user (``tenancy/roles.py``). Lists use id-cursor pagination, newest
first. ``POST /v1/organizations/api_keys`` is Parley's addition (the hosted API makes
keys in its console): it returns the secret once, in ``api_key``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from parley.http.deps import AdminDep, ServicesDep
from parley.http.routes.body import parse_body
from parley.http.routes.query import array
from parley.tenancy.keys import key_out
from parley.tenancy.users import user_out
from parley.tenancy.workspaces import workspace_out
from parley.wire import admin as wire
from parley.wire.page import Page

router = APIRouter(prefix="/v1/organizations")
Limit = Annotated[int, Query(ge=1, le=1000)]


def _json(model: Any) -> JSONResponse:
    return JSONResponse(model.model_dump(mode="json", exclude_none=False))


# --- organization and users -------------------------------------------------------


@router.get("/me")
async def me(_: AdminDep, svc: ServicesDep) -> JSONResponse:
    return _json(
        wire.Organization(id=svc.organization.organization_id, name=svc.settings.organization_name)
    )


@router.get("/users")
async def list_users(
    request: Request,
    _: AdminDep,
    svc: ServicesDep,
    limit: Limit = 20,
    before_id: str | None = None,
    after_id: str | None = None,
    email: str | None = None,
) -> JSONResponse:
    rows, more = await svc.users.page(
        limit=limit,
        before_id=before_id,
        after_id=after_id,
        email=email,
        roles=array(request, "roles"),
    )
    return JSONResponse(Page.of([user_out(r) for r in rows], more).to_wire())


@router.get("/users/{user_id}")
async def get_user(user_id: str, _: AdminDep, svc: ServicesDep) -> JSONResponse:
    return _json(user_out(await svc.users.get(user_id)))


@router.post("/users/{user_id}")
async def update_user(
    user_id: str, request: Request, ctx: AdminDep, svc: ServicesDep
) -> JSONResponse:
    params = await parse_body(request, wire.UserUpdateParams)
    await svc.allow(ctx, "manage_organization")
    return _json(user_out(await svc.users.set_role(user_id, params.role)))


@router.delete("/users/{user_id}")
async def remove_user(user_id: str, ctx: AdminDep, svc: ServicesDep) -> JSONResponse:
    await svc.allow(ctx, "manage_organization")
    return _json(await svc.users.remove(user_id))


# --- workspaces ---------------------------------------------------------------------


@router.post("/workspaces")
async def create_workspace(request: Request, ctx: AdminDep, svc: ServicesDep) -> JSONResponse:
    params = await parse_body(request, wire.WorkspaceCreateParams)
    await svc.allow(ctx, "manage_organization")
    residency = (
        params.data_residency.model_dump(exclude_none=True) if params.data_residency else None
    )
    row = await svc.workspaces.create(
        name=params.name,
        tags=params.tags or {},
        display_color=params.display_color,
        data_residency=residency,
    )
    return _json(workspace_out(row))


@router.get("/workspaces")
async def list_workspaces(
    request: Request,
    _: AdminDep,
    svc: ServicesDep,
    limit: Limit = 20,
    before_id: str | None = None,
    after_id: str | None = None,
    include_archived: bool = False,
    include_default: bool = False,
) -> JSONResponse:
    rows, more = await svc.workspaces.page(
        limit=limit,
        before_id=before_id,
        after_id=after_id,
        include_archived=include_archived,
        include_default=include_default,
        ids=array(request, "ids"),
    )
    return JSONResponse(Page.of([workspace_out(r) for r in rows], more).to_wire())


@router.get("/workspaces/{workspace_id}")
async def get_workspace(workspace_id: str, _: AdminDep, svc: ServicesDep) -> JSONResponse:
    return _json(workspace_out(await svc.workspaces.get(workspace_id)))


@router.post("/workspaces/{workspace_id}")
async def update_workspace(
    workspace_id: str, request: Request, ctx: AdminDep, svc: ServicesDep
) -> JSONResponse:
    params = await parse_body(request, wire.WorkspaceUpdateParams)
    await svc.allow(ctx, "manage_members", workspace_id)
    changes = params.model_dump(exclude_unset=True, exclude_none=False)
    if "data_residency" in changes and changes["data_residency"] is not None:
        changes["data_residency"] = {
            k: v for k, v in changes["data_residency"].items() if v is not None
        }
    return _json(workspace_out(await svc.workspaces.update(workspace_id, changes)))


@router.post("/workspaces/{workspace_id}/archive")
async def archive_workspace(workspace_id: str, ctx: AdminDep, svc: ServicesDep) -> JSONResponse:
    await svc.allow(ctx, "manage_organization")
    return _json(workspace_out(await svc.workspaces.archive(workspace_id)))


# --- API keys -------------------------------------------------------------------------


@router.post("/api_keys")
async def create_api_key(request: Request, ctx: AdminDep, svc: ServicesDep) -> JSONResponse:
    params = await parse_body(request, wire.APIKeyCreateParams)
    default = svc.organization.default_workspace_id
    await svc.allow(ctx, "manage_keys", params.workspace_id or default)
    issued = await svc.keys.create(
        kind="api",
        name=params.name,
        workspace_id=params.workspace_id or default,
        created_by=ctx.principal.user_id,
        expires_at=params.expires_at,
    )
    data = key_out(issued.record, ctx.version, default)
    data["api_key"] = issued.secret
    return JSONResponse(data)


@router.get("/api_keys")
async def list_api_keys(
    ctx: AdminDep,
    svc: ServicesDep,
    limit: Limit = 20,
    before_id: str | None = None,
    after_id: str | None = None,
    status: str | None = None,
    workspace_id: str | None = None,
    created_by_user_id: str | None = None,
) -> JSONResponse:
    rows, more = await svc.keys.page(
        limit=limit,
        before_id=before_id,
        after_id=after_id,
        status=status,
        workspace_id=workspace_id,
        created_by=created_by_user_id,
    )
    default = svc.organization.default_workspace_id
    return JSONResponse(Page.of([key_out(r, ctx.version, default) for r in rows], more).to_wire())


@router.get("/api_keys/{api_key_id}")
async def get_api_key(api_key_id: str, ctx: AdminDep, svc: ServicesDep) -> JSONResponse:
    row = await svc.keys.get(api_key_id)
    return JSONResponse(key_out(row, ctx.version, svc.organization.default_workspace_id))


@router.post("/api_keys/{api_key_id}")
async def update_api_key(
    api_key_id: str, request: Request, ctx: AdminDep, svc: ServicesDep
) -> JSONResponse:
    params = await parse_body(request, wire.APIKeyUpdateParams)
    current = await svc.keys.get(api_key_id)
    default = svc.organization.default_workspace_id
    await svc.allow(ctx, "manage_keys", current.workspace_id or default)
    row = await svc.keys.update(api_key_id, name=params.name, status=params.status)
    return JSONResponse(key_out(row, ctx.version, svc.organization.default_workspace_id))
