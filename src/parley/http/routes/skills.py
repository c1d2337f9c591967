"""``/v1/skills`` and ``/v1/skills/{id}/versions``.

Shapes follow the ``anthropic-beta`` header: with ``skills-2025-10-02`` the old beta
shapes (``display_title``, ``latest_version``, epoch-microsecond ``version``), without
it the GA shapes of SDK 2.14 (``display_name``, ``latest_version_id``, ``skver_`` ids).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from parley.http.deps import ContextDep, ServicesDep
from parley.http.routes.uploads import form, uploads
from parley.messages.context import CallContext
from parley.skills import MAX_BYTES, skill_out, version_out
from parley.wire.page import TokenPage

router = APIRouter(prefix="/v1/skills")
BETA = "skills-2025-10-02"


async def _parts(request: Request) -> tuple[list[tuple[str, bytes]], dict[str, str]]:
    data = await form(request)
    try:
        parts, total = [], 0
        for upload in uploads(data, "files[]", "files"):
            body = await upload.read(MAX_BYTES + 1)
            total += len(body)
            if total > MAX_BYTES:
                from parley.errors import RequestTooLargeError

                raise RequestTooLargeError("The skill exceeds 30 MB.")
            parts.append((upload.filename or "", body))
        fields = {k: v for k, v in data.items() if isinstance(v, str)}
    finally:
        await data.close()
    return parts, fields


def _page(items: list[dict[str, Any]], more: bool) -> JSONResponse:
    return JSONResponse(TokenPage.of(items, more).to_wire())


def _beta(ctx: CallContext) -> bool:
    return BETA in ctx.betas


@router.post("")
async def create_skill(request: Request, ctx: ContextDep, svc: ServicesDep) -> JSONResponse:
    parts, fields = await _parts(request)
    title = fields.get("display_name") or fields.get("display_title")
    skill, version = await svc.skills.create(parts, ctx.principal.workspace_id, title)
    return JSONResponse(skill_out(skill, version, beta=_beta(ctx)))


@router.get("")
async def list_skills(
    ctx: ContextDep,
    svc: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
    page: str | None = None,
    source: str | None = None,
) -> JSONResponse:
    if source not in (None, "custom"):
        return _page([], False)  # Parley hosts no Anthropic-made skills
    skills, more = await svc.skills.page(
        ctx.principal.workspace_id,
        limit=limit,
        after_id=page.removeprefix("page_") if page else None,
    )
    return _page([skill_out(s, await svc.skills.latest(s), beta=_beta(ctx)) for s in skills], more)


@router.get("/{skill_id}")
async def get_skill(skill_id: str, ctx: ContextDep, svc: ServicesDep) -> JSONResponse:
    skill = await svc.skills.get(skill_id, ctx.principal.workspace_id)
    return JSONResponse(skill_out(skill, await svc.skills.latest(skill), beta=_beta(ctx)))


@router.delete("/{skill_id}")
async def delete_skill(skill_id: str, ctx: ContextDep, svc: ServicesDep) -> JSONResponse:
    await svc.skills.delete(skill_id, ctx.principal.workspace_id)
    return JSONResponse({"id": skill_id, "type": "skill_deleted"})


@router.post("/{skill_id}/versions")
async def create_version(
    skill_id: str, request: Request, ctx: ContextDep, svc: ServicesDep
) -> JSONResponse:
    parts, _ = await _parts(request)
    version = await svc.skills.add_version(skill_id, parts, ctx.principal.workspace_id)
    return JSONResponse(version_out(version, beta=_beta(ctx)))


@router.get("/{skill_id}/versions")
async def list_versions(
    skill_id: str,
    ctx: ContextDep,
    svc: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
    page: str | None = None,
) -> JSONResponse:
    versions = await svc.skills.versions(skill_id, ctx.principal.workspace_id)
    if page:
        after = page.removeprefix("page_")
        versions = [v for v in versions if v.id < after]
    return _page([version_out(v, beta=_beta(ctx)) for v in versions[:limit]], len(versions) > limit)


@router.get("/{skill_id}/versions/{version}")
async def get_version(
    skill_id: str, version: str, ctx: ContextDep, svc: ServicesDep
) -> JSONResponse:
    return JSONResponse(
        version_out(
            await svc.skills.version(skill_id, version, ctx.principal.workspace_id), beta=_beta(ctx)
        )
    )


@router.delete("/{skill_id}/versions/{version}")
async def delete_version(
    skill_id: str, version: str, ctx: ContextDep, svc: ServicesDep
) -> JSONResponse:
    row = await svc.skills.delete_version(skill_id, version, ctx.principal.workspace_id)
    shown = row.version if BETA in ctx.betas else row.id
    return JSONResponse({"id": shown, "type": "skill_version_deleted"})


@router.get("/{skill_id}/versions/{version}/content")
async def version_content(
    skill_id: str, version: str, ctx: ContextDep, svc: ServicesDep
) -> StreamingResponse:
    row = await svc.skills.version(skill_id, version, ctx.principal.workspace_id)
    headers = {"content-disposition": f'attachment; filename="{row.directory}.zip"'}
    return StreamingResponse(svc.skills.content(row), media_type="application/zip", headers=headers)
