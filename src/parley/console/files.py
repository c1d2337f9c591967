"""Files page: a workspace's files, upload with a progress bar, delete.

The upload goes from the page straight to ``POST /v1/files`` (the Files API itself,
signed in by the session with its CSRF header), so there is one upload path; listing
and deleting go through ``files.py`` as the API does.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from parley.console.auth import ConsoleRoute, Visitor, checked_form, visitor
from parley.console.layout import show
from parley.console.render import redirect

router = APIRouter(prefix="/console/files", route_class=ConsoleRoute, include_in_schema=False)
VisitorDep = Annotated[Visitor, Depends(visitor)]


@router.get("")
async def files_page(request: Request, who: VisitorDep) -> Response:
    workspace = who.workspace_id(request)
    ctx = await who.context(workspace)
    files, more = await who.svc.files.page(
        ctx.principal.workspace_id, limit=200, before_id=None, after_id=None, ids=None
    )
    return await show(
        request,
        who,
        "files.html",
        "files",
        files=files,
        more=more,
        workspaces=await who.workspaces(),
        workspace=workspace,
        max_bytes=who.svc.settings.files.max_file_bytes,
    )


@router.post("/{file_id}/delete")
async def delete_file(file_id: str, request: Request, who: VisitorDep) -> Response:
    await checked_form(request, who)
    workspace = who.workspace_id(request)
    ctx = await who.context(workspace)
    await who.svc.files.delete(file_id, ctx.principal.workspace_id)
    back = f"/console/files?workspace={workspace}" if who.admin else "/console/files"
    return redirect(request, back, f"File {file_id} deleted.")
