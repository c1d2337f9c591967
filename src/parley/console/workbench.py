"""The Workbench page and its saved prompts.

The page runs prompts against the real ``/v1/messages`` (streamed) and
``/v1/messages/count_tokens``, signed in by the session cookie and its CSRF header
(``http/deps.py``): the same route, checks, limits and metering as any SDK call, and no
key in the page. Saved prompts (``prompts.py``) belong to the workspace the page is on.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from parley.console.auth import ConsoleRoute, Visitor, check_csrf_header, checked_form, visitor
from parley.console.layout import show
from parley.console.render import redirect
from parley.errors import InvalidRequestError

router = APIRouter(prefix="/console/workbench", route_class=ConsoleRoute, include_in_schema=False)
VisitorDep = Annotated[Visitor, Depends(visitor)]


def _here(who: Visitor, workspace: str) -> str:
    return f"/console/workbench?workspace={workspace}" if who.admin else "/console/workbench"


@router.get("")
async def workbench_page(request: Request, who: VisitorDep) -> Response:
    workspace = who.workspace_id(request)
    await who.context(workspace)  # the session may use this workspace
    prompts = await who.svc.prompts.list(workspace)
    chosen = request.query_params.get("prompt")
    opened = await who.svc.prompts.get(chosen, workspace) if chosen else None
    models = [
        {"id": m.id, "max_tokens": m.backend.capabilities.max_output_tokens}
        for m in who.svc.catalog.models
    ]
    setup = {
        "models": models,
        "workspace": workspace,
        "sendWorkspace": who.admin,
        "opened": {"id": opened.id, "name": opened.name, "request": opened.request}
        if opened
        else None,
        "baseUrl": who.svc.settings.base_url(),
    }
    return await show(
        request,
        who,
        "workbench.html",
        "workbench",
        setup=setup,
        prompts=prompts,
        opened=opened,
        workspaces=await who.workspaces(),
        workspace=workspace,
    )


@router.post("/prompts")
async def save_prompt(request: Request, who: VisitorDep) -> Response:
    check_csrf_header(request, who)
    workspace = who.workspace_id(request)
    await who.context(workspace)
    body = _json_object(await request.body())
    request_body = body.get("request")
    if not isinstance(request_body, dict):
        raise InvalidRequestError("request: the Messages request to save, as an object")
    request_body.pop("stream", None)
    saved = await who.svc.prompts.save(
        workspace,
        name=str(body.get("name") or ""),
        request=request_body,
        created_by=who.session.user_id,
        prompt_id=body.get("id") if isinstance(body.get("id"), str) else None,
    )
    return JSONResponse({"id": saved.id, "name": saved.name})


@router.post("/prompts/{prompt_id}/delete")
async def delete_prompt(prompt_id: str, request: Request, who: VisitorDep) -> Response:
    await checked_form(request, who)
    workspace = who.workspace_id(request)
    await who.context(workspace)
    await who.svc.prompts.delete(prompt_id, workspace)
    return redirect(request, _here(who, workspace), "Prompt deleted.")


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        found = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidRequestError(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(found, dict):
        raise InvalidRequestError("The request body must be a JSON object.")
    return found
