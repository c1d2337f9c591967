"""Admin API: ``/v1/organizations/*`` — organization, users, workspaces, API keys.

Admin keys only (a workspace key gets 403). Lists use id-cursor pagination, newest
first. ``POST /v1/organizations/api_keys`` is Parley's addition (the hosted API makes
keys in its console): it returns the secret once, in ``api_key``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from parley.errors import InvalidRequestError, NotFoundError
from parley.http.deps import AdminDep, ServicesDep
from parley.http.routes.body import parse_body
from parley.protocol import ApiVersion
from parley.storage import tenancy
from parley.storage.tables import ApiKey as ApiKeyRow
from parley.storage.tables import User as UserRow
from parley.storage.tables import Workspace as WorkspaceRow
from parley.tenancy.keys import utc
from parley.wire import admin as wire

router = APIRouter(prefix="/v1/organizations")
Limit = Annotated[int, Query(ge=1, le=1000)]


def _json(model: Any) -> JSONResponse:
    return JSONResponse(model.model_dump(mode="json", exclude_none=False))


def _page(items: list[dict[str, Any]], has_more: bool) -> JSONResponse:
    return JSONResponse(
        {
            "data": items,
            "has_more": has_more,
            "first_id": items[0]["id"] if items else None,
            "last_id": items[-1]["id"] if items else None,
        }
    )


def workspace_out(row: WorkspaceRow) -> wire.Workspace:
    return wire.Workspace(
        id=row.id,
        name=row.name,
        created_at=utc(row.created_at),
        archived_at=utc(row.archived_at),
        display_color=row.display_color,
        data_residency=wire.DataResidency(**row.data_residency),
        tags=row.tags,
        compartment_id=row.id,
    )


def key_out(row: ApiKeyRow, version: ApiVersion, default_workspace: str) -> dict[str, Any]:
    workspace = row.workspace_id or default_workspace
    scope: wire.WorkspaceScope | wire.OrganizationScope = wire.WorkspaceScope(
        workspace_id=workspace
    )
    expires = utc(row.expires_at)
    status = row.status
    if status == "active" and expires is not None and expires <= _now():
        status = "expired"
    key = wire.APIKey(
        id=row.id,
        name=row.name,
        status=status,
        created_at=utc(row.created_at),
        created_by=wire.CreatedBy(id=row.created_by) if row.created_by else None,
        expires_at=expires,
        partial_key_hint=row.hint,
        scope=scope,
        workspace_id=None if workspace == default_workspace else workspace,
    )
    data = key.model_dump(mode="json")
    if version is ApiVersion.V2026_10_21:
        del data["workspace_id"]
    return data


def user_out(row: UserRow) -> wire.User:
    return wire.User(
        id=row.id, email=row.email, name=row.name, role=row.role, added_at=utc(row.added_at)
    )


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


# --- organization and users -------------------------------------------------------


@router.get("/me")
async def me(_: AdminDep, svc: ServicesDep) -> JSONResponse:
    return _json(
        wire.Organization(id=svc.organization.organization_id, name=svc.settings.organization_name)
    )


@router.get("/users")
async def list_users(
    _: AdminDep,
    svc: ServicesDep,
    limit: Limit = 20,
    before_id: str | None = None,
    after_id: str | None = None,
) -> JSONResponse:
    async with svc.db.read() as session:
        rows, more = await tenancy.users_page(
            session, limit=limit, before_id=before_id, after_id=after_id
        )
    return _page([user_out(r).model_dump(mode="json") for r in rows], more)


@router.get("/users/{user_id}")
async def get_user(user_id: str, _: AdminDep, svc: ServicesDep) -> JSONResponse:
    async with svc.db.read() as session:
        row = await tenancy.user(session, user_id)
    if row is None:
        raise NotFoundError(f"User `{user_id}` not found.")
    return _json(user_out(row))


# --- workspaces ---------------------------------------------------------------------


@router.post("/workspaces")
async def create_workspace(request: Request, _: AdminDep, svc: ServicesDep) -> JSONResponse:
    params = await parse_body(request, wire.WorkspaceCreateParams)
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
    _: AdminDep,
    svc: ServicesDep,
    limit: Limit = 20,
    before_id: str | None = None,
    after_id: str | None = None,
    include_archived: bool = False,
) -> JSONResponse:
    async with svc.db.read() as session:
        rows, more = await tenancy.workspaces_page(
            session,
            limit=limit,
            before_id=before_id,
            after_id=after_id,
            include_archived=include_archived,
        )
    return _page([workspace_out(r).model_dump(mode="json") for r in rows], more)


@router.get("/workspaces/{workspace_id}")
async def get_workspace(workspace_id: str, _: AdminDep, svc: ServicesDep) -> JSONResponse:
    return _json(workspace_out(await svc.workspaces.get(workspace_id)))


@router.post("/workspaces/{workspace_id}")
async def update_workspace(
    workspace_id: str, request: Request, _: AdminDep, svc: ServicesDep
) -> JSONResponse:
    params = await parse_body(request, wire.WorkspaceUpdateParams)
    changes = params.model_dump(exclude_unset=True, exclude_none=False)
    if "data_residency" in changes and changes["data_residency"] is not None:
        changes["data_residency"] = {
            k: v for k, v in changes["data_residency"].items() if v is not None
        }
    return _json(workspace_out(await svc.workspaces.update(workspace_id, changes)))


@router.post("/workspaces/{workspace_id}/archive")
async def archive_workspace(workspace_id: str, _: AdminDep, svc: ServicesDep) -> JSONResponse:
    return _json(workspace_out(await svc.workspaces.archive(workspace_id)))


# --- API keys -------------------------------------------------------------------------


@router.post("/api_keys")
async def create_api_key(request: Request, ctx: AdminDep, svc: ServicesDep) -> JSONResponse:
    params = await parse_body(request, wire.APIKeyCreateParams)
    default = svc.organization.default_workspace_id
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
    statuses, expired_before = _status_filter(status)
    async with svc.db.read() as session:
        rows, more = await tenancy.api_keys_page(
            session,
            limit=limit,
            before_id=before_id,
            after_id=after_id,
            statuses=statuses,
            expired_before=expired_before,
            workspace_id=workspace_id,
            created_by=created_by_user_id,
        )
    default = svc.organization.default_workspace_id
    return _page([key_out(r, ctx.version, default) for r in rows], more)


def _status_filter(status: str | None) -> tuple[list[str] | None, Any]:
    if status is None:
        return None, None
    if status == "expired":
        return ["active"], _now()
    if status not in ("active", "inactive", "archived"):
        raise InvalidRequestError(
            "status: Input should be 'active', 'inactive', 'archived' or 'expired'"
        )
    return [status], None


@router.get("/api_keys/{api_key_id}")
async def get_api_key(api_key_id: str, ctx: AdminDep, svc: ServicesDep) -> JSONResponse:
    async with svc.db.read() as session:
        row = await tenancy.api_key(session, api_key_id)
    if row is None or row.kind != "api":
        raise NotFoundError(f"API key `{api_key_id}` not found.")
    return JSONResponse(key_out(row, ctx.version, svc.organization.default_workspace_id))


@router.post("/api_keys/{api_key_id}")
async def update_api_key(
    api_key_id: str, request: Request, ctx: AdminDep, svc: ServicesDep
) -> JSONResponse:
    params = await parse_body(request, wire.APIKeyUpdateParams)
    row = await svc.keys.update(api_key_id, name=params.name, status=params.status)
    return JSONResponse(key_out(row, ctx.version, svc.organization.default_workspace_id))
