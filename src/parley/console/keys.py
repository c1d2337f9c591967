"""API keys page: list with filters, create (the secret shown once, on the answer to
the form, then only its hint), rename, deactivate, reactivate, archive; through
``tenancy/keys.py`` with the Admin API's role checks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from parley.console.auth import ConsoleRoute, Visitor, checked_form, visitor
from parley.console.forms import params, text
from parley.console.layout import show
from parley.console.render import redirect
from parley.errors import InvalidRequestError
from parley.tenancy.keys import shown_status
from parley.wire import admin as wire

router = APIRouter(prefix="/console/keys", route_class=ConsoleRoute, include_in_schema=False)
VisitorDep = Annotated[Visitor, Depends(visitor)]
HERE = "/console/keys"
STATUSES = ("active", "inactive", "archived", "expired")
CHANGES = {
    "rename": None,
    "deactivate": "inactive",
    "activate": "active",
    "archive": "archived",
}


@router.get("")
async def keys_page(request: Request, who: VisitorDep) -> Response:
    who.require_admin()
    workspace = request.query_params.get("workspace") or None
    status = request.query_params.get("status") or None
    if status is not None and status not in STATUSES:
        raise InvalidRequestError(f"status: use one of {', '.join(STATUSES)}")
    rows, more = await who.svc.keys.page(limit=200, status=status, workspace_id=workspace)
    workspaces, _ = await who.svc.workspaces.page(
        limit=100, include_default=True, include_archived=True
    )
    workspaces.sort(key=lambda w: (not w.is_default, w.name.lower()))
    default = who.svc.organization.default_workspace_id
    return await show(
        request,
        who,
        "keys.html",
        "keys",
        keys=rows,
        shown={k.id: shown_status(k) for k in rows},
        more=more,
        workspaces=workspaces,
        names={w.id: w.name for w in workspaces},
        default_workspace=default,
        chosen_workspace=workspace,
        chosen_status=status,
        statuses=STATUSES,
    )


@router.post("")
async def create_key(request: Request, who: VisitorDep) -> Response:
    form = await checked_form(request, who)
    asked = params(wire.APIKeyCreateParams, form, "name", "workspace_id")
    workspace = asked.workspace_id or who.svc.organization.default_workspace_id
    await who.require("manage_keys", workspace)
    issued = await who.svc.keys.create(
        kind="api", name=asked.name, workspace_id=workspace, created_by=who.session.user_id
    )
    names = {w.id: w.name for w in await who.workspaces()}
    return await show(
        request,
        who,
        "key_created.html",
        "keys",
        key=issued.record,
        secret=issued.secret,
        workspace_name=names.get(workspace, workspace),
    )


@router.post("/{key_id}/{change}")
async def change_key(key_id: str, change: str, request: Request, who: VisitorDep) -> Response:
    form = await checked_form(request, who)
    if change not in CHANGES:
        raise InvalidRequestError(f"Unknown change {change!r} to an API key.")
    current = await who.svc.keys.get(key_id)
    default = who.svc.organization.default_workspace_id
    await who.require("manage_keys", current.workspace_id or default)
    name = None
    if change == "rename":
        name = params(wire.APIKeyUpdateParams, form, "name").name
        if name is None:
            raise InvalidRequestError("name: give the key a name")
    row = await who.svc.keys.update(key_id, name=name, status=CHANGES[change])
    done = f"Key renamed to “{row.name}”." if name else f"Key “{row.name}” is now {row.status}."
    return redirect(request, _back(form), done)


def _back(form: FormData) -> str:
    """The filtered list the form was on: its query string, kept on the keys page."""
    query = text(form, "back")
    return f"{HERE}?{query}" if query and "/" not in query else HERE
