"""Workspaces page: list, create, rename, archive, through ``tenancy/workspaces.py`` with
the Admin API's role checks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from parley.console.auth import ConsoleRoute, Visitor, checked_form, visitor
from parley.console.forms import params
from parley.console.layout import show
from parley.console.render import redirect
from parley.wire import admin as wire

router = APIRouter(prefix="/console/workspaces", route_class=ConsoleRoute, include_in_schema=False)
VisitorDep = Annotated[Visitor, Depends(visitor)]
HERE = "/console/workspaces"


@router.get("")
async def workspaces_page(request: Request, who: VisitorDep) -> Response:
    who.require_admin()
    archived = request.query_params.get("archived") == "1"
    rows, _ = await who.svc.workspaces.page(
        limit=100, include_default=True, include_archived=archived
    )
    rows.sort(key=lambda w: (not w.is_default, w.archived_at is not None, w.name.lower()))
    keys, _ = await who.svc.keys.page(limit=1000, status="active")
    counts: dict[str, int] = {}
    default = who.svc.organization.default_workspace_id
    for key in keys:
        workspace = key.workspace_id or default
        counts[workspace] = counts.get(workspace, 0) + 1
    return await show(
        request,
        who,
        "workspaces.html",
        "workspaces",
        workspaces=rows,
        key_counts=counts,
        show_archived=archived,
    )


@router.post("")
async def create_workspace(request: Request, who: VisitorDep) -> Response:
    form = await checked_form(request, who)
    created = params(wire.WorkspaceCreateParams, form, "name")
    await who.require("manage_organization")
    row = await who.svc.workspaces.create(
        name=created.name, tags={}, display_color=None, data_residency=None
    )
    return redirect(request, HERE, f"Workspace “{row.name}” created ({row.id}).")


@router.post("/{workspace_id}/rename")
async def rename_workspace(workspace_id: str, request: Request, who: VisitorDep) -> Response:
    form = await checked_form(request, who)
    changes = params(wire.WorkspaceUpdateParams, form, "name")
    await who.require("manage_members", workspace_id)
    row = await who.svc.workspaces.update(workspace_id, changes.model_dump(exclude_none=True))
    return redirect(request, HERE, f"Workspace renamed to “{row.name}”.")


@router.post("/{workspace_id}/archive")
async def archive_workspace(workspace_id: str, request: Request, who: VisitorDep) -> Response:
    await checked_form(request, who)
    await who.require("manage_organization")
    row = await who.svc.workspaces.archive(workspace_id)
    return redirect(request, HERE, f"Workspace “{row.name}” and its keys are archived.")
