"""Skills page: a workspace's skills and their versions, and a skill folder uploaded as
a zip archive (a new skill, or a new version of one); through ``skills.py``, which
validates the archive as the Skills API does."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile

from parley.console.auth import ConsoleRoute, Visitor, checked_form, visitor
from parley.console.forms import text
from parley.console.layout import show
from parley.console.render import redirect
from parley.errors import InvalidRequestError, RequestTooLargeError
from parley.skills import MAX_BYTES

router = APIRouter(prefix="/console/skills", route_class=ConsoleRoute, include_in_schema=False)
VisitorDep = Annotated[Visitor, Depends(visitor)]


@router.get("")
async def skills_page(request: Request, who: VisitorDep) -> Response:
    who.require_admin()
    workspace = who.workspace_id(request)
    ctx = await who.context(workspace)
    skills, _ = await who.svc.skills.page(ctx.principal.workspace_id, limit=100, after_id=None)
    versions = {s.id: await who.svc.skills.versions(s.id, workspace) for s in skills}
    return await show(
        request,
        who,
        "skills.html",
        "skills",
        skills=skills,
        versions=versions,
        workspaces=await who.workspaces(),
        workspace=workspace,
    )


async def _archive(form: FormData) -> list[tuple[str, bytes]]:
    upload = form.get("archive")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise InvalidRequestError("archive: choose a .zip of the skill's folder")
    data = await upload.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise RequestTooLargeError("The skill exceeds 30 MB.")
    return [(upload.filename, data)]


@router.post("")
async def upload_skill(request: Request, who: VisitorDep) -> Response:
    form = await checked_form(request, who)
    workspace = who.workspace_id(request)
    ctx = await who.context(workspace)
    await who.require("use", workspace)
    skill, version = await who.svc.skills.create(
        await _archive(form), ctx.principal.workspace_id, text(form, "display_title")
    )
    return redirect(
        request,
        f"/console/skills?workspace={workspace}",
        f"Skill “{skill.display_title}” uploaded (version {version.version}).",
    )


@router.post("/{skill_id}/versions")
async def upload_version(skill_id: str, request: Request, who: VisitorDep) -> Response:
    form = await checked_form(request, who)
    workspace = who.workspace_id(request)
    ctx = await who.context(workspace)
    await who.require("use", workspace)
    version = await who.svc.skills.add_version(
        skill_id, await _archive(form), ctx.principal.workspace_id
    )
    return redirect(
        request, f"/console/skills?workspace={workspace}", f"Version {version.version} added."
    )


@router.post("/{skill_id}/delete")
async def delete_skill(skill_id: str, request: Request, who: VisitorDep) -> Response:
    await checked_form(request, who)
    workspace = who.workspace_id(request)
    ctx = await who.context(workspace)
    await who.require("use", workspace)
    await who.svc.skills.delete(skill_id, ctx.principal.workspace_id)
    return redirect(request, f"/console/skills?workspace={workspace}", f"Skill {skill_id} deleted.")
