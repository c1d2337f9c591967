"""``/v1/files``: upload, list, retrieve metadata, download content, delete.

Lists answer both pagination styles at once (``data`` with ``has_more``/``first_id``/
``last_id`` for old beta clients, and ``next_page`` for the GA page-token pager).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from parley.errors import InvalidRequestError
from parley.files import file_out
from parley.http.deps import ContextDep, ServicesDep
from parley.http.routes.query import array
from parley.http.routes.uploads import form, uploads
from parley.wire.files import DeletedFile
from parley.wire.page import Page

router = APIRouter(prefix="/v1/files")


@router.post("")
async def upload_file(request: Request, ctx: ContextDep, svc: ServicesDep) -> JSONResponse:
    data = await form(request, max_files=1)
    try:
        files = uploads(data, "file")
        if len(files) != 1:
            raise InvalidRequestError(
                "file: send exactly one complete file part named `file` (none arrived whole; "
                "was the upload cut short?)"
            )
        metadata = await svc.files.upload(
            files[0], ctx.principal.workspace_id, _expires_in(data.get("expires_in_seconds"))
        )
    finally:
        await data.close()
    return JSONResponse(metadata.model_dump(mode="json"))


def _expires_in(value: object) -> int | None:
    if not isinstance(value, str) or not value:
        return None
    if not value.isdigit() or not 3600 <= int(value) <= 7_776_000:
        raise InvalidRequestError("expires_in_seconds: must be an integer from 3600 to 7776000")
    return int(value)


@router.get("")
async def list_files(
    request: Request,
    ctx: ContextDep,
    svc: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
    before_id: str | None = None,
    after_id: str | None = None,
    page: str | None = None,
) -> JSONResponse:
    ids = array(request, "ids")
    after = page.removeprefix("page_") if page else after_id
    items, more = await svc.files.page(
        ctx.principal.workspace_id,
        limit=limit,
        before_id=before_id,
        after_id=after,
        ids=ids or None,
    )
    next_page = f"page_{items[-1].id}" if more and items and not before_id else None
    return JSONResponse(Page.of(items, more).to_wire(next_page=next_page))


@router.get("/{file_id}")
async def get_file(file_id: str, ctx: ContextDep, svc: ServicesDep) -> JSONResponse:
    row = await svc.files.get(file_id, ctx.principal.workspace_id)
    return JSONResponse(file_out(row).model_dump(mode="json"))


@router.get("/{file_id}/content")
async def file_content(file_id: str, ctx: ContextDep, svc: ServicesDep) -> StreamingResponse:
    row, chunks = await svc.files.content(file_id, ctx.principal.workspace_id)
    return StreamingResponse(chunks, media_type=row.mime_type)


@router.delete("/{file_id}")
async def delete_file(file_id: str, ctx: ContextDep, svc: ServicesDep) -> JSONResponse:
    await svc.files.delete(file_id, ctx.principal.workspace_id)
    return JSONResponse(DeletedFile(id=file_id).model_dump())
