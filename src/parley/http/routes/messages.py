"""``POST /v1/messages`` (JSON and SSE) and ``POST /v1/messages/count_tokens``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from parley.http.deps import ContextDep, Services, ServicesDep
from parley.http.routes.body import parse_body
from parley.http.sse import Framing, start_stream
from parley.messages.context import CallContext
from parley.wire.requests import MessageCountTokensParams, MessageCreateParams

router = APIRouter()
T = TypeVar("T")

# Status a proxy logs for a client that went away; nobody receives this response.
CLIENT_CLOSED = 499


@router.post("/v1/messages")
async def create_message(
    request: Request,
    ctx: ContextDep,
    svc: ServicesDep,
) -> Response:
    params = await parse_body(request, MessageCreateParams)
    return await respond(request, params, ctx, svc)


async def respond(
    request: Request,
    params: MessageCreateParams,
    ctx: CallContext,
    svc: Services,
    *,
    framing: Framing | None = None,
    shape: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    seed: int | None = None,
) -> Response:
    """The answer to ``params``: a stream written by ``framing`` (the Claude API's
    events by default), or the message, as ``shape`` rewrites it for another protocol.
    Every door ends here."""
    prepared = await svc.messages.prepare(params, ctx, seed=seed)
    await svc.messages.admit(prepared)
    headers = prepared.admission.headers
    if params.stream:
        response = await start_stream(
            svc.messages.stream_any(prepared),
            ping_interval=svc.settings.server.ping_interval,
            request_id=ctx.request_id,
            drain=request.app.state.drain,
            framing=framing,
        )
        response.headers.update(headers)
        return response
    message = await unless_disconnected(request, svc.messages.create_json(prepared))
    if message is None:
        return Response(status_code=CLIENT_CLOSED)
    return JSONResponse(shape(message) if shape else message, headers=headers)


@router.post("/v1/messages/count_tokens")
async def count_tokens(
    request: Request,
    ctx: ContextDep,
    svc: ServicesDep,
) -> JSONResponse:
    params = await parse_body(request, MessageCountTokensParams)
    return await count(params, ctx, svc)


async def count(params: MessageCountTokensParams, ctx: CallContext, svc: Services) -> JSONResponse:
    headers = await svc.messages.count_headers(ctx)
    counted = await svc.messages.count_tokens(params, ctx)
    return JSONResponse(counted.to_wire(), headers=headers)


async def unless_disconnected(request: Request, work: Awaitable[T]) -> T | None:
    """``work``'s result, or None (with ``work`` cancelled) if the client goes away."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_disconnected(request))
    try:
        done, _ = await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
    if task in done:
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return None


async def _disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass
