"""OpenAI's ``POST /v1/chat/completions``, through the same Messages service.

The request becomes a Claude ``MessageCreateParams`` (``compat.openai.convert``) and
goes through ``prepare``, ``admit`` and the backend exactly as ``/v1/messages`` does:
the same key, limits, metering and models. The answer is written back in OpenAI's
shapes; a stream as ``chat.completion.chunk`` events ending with ``data: [DONE]``.
"""

from __future__ import annotations

import json
import time

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel

from parley.compat.openai.chunks import ChunkWriter
from parley.compat.openai.convert import completion, to_messages
from parley.compat.openai.envelope import error_body
from parley.compat.openai.wire import ChatCompletionCreateParams
from parley.errors import ParleyError
from parley.http.deps import PlatformContextDep, ServicesDep
from parley.http.routes.body import parse_body
from parley.http.routes.messages import respond
from parley.http.sse import SSE_MEDIA_TYPE
from parley.messages.rules import MAX_ANY_MODEL_OUTPUT
from parley.wire.sse import data_of

router = APIRouter()

DONE = b"data: [DONE]\n\n"
# Clients of this protocol skip SSE comments, which keep the connection alive.
PING = b": ping\n\n"


class ChunkFraming:
    """``http.sse.Framing`` for OpenAI's chunks: ``data:`` lines only."""

    ping = PING
    media_type = SSE_MEDIA_TYPE

    def __init__(self, writer: ChunkWriter) -> None:
        self.writer = writer

    def event(self, item: BaseModel | bytes) -> bytes:
        return b"".join(_data(chunk) for chunk in self.writer.feed(data_of(item)))

    def error(self, error: ParleyError, request_id: str | None) -> bytes:
        return _data(error_body(error))

    def end(self) -> bytes:
        return DONE


def _data(obj: object) -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


@router.post("/v1/chat/completions")
async def create_chat_completion(
    request: Request,
    ctx: PlatformContextDep,
    svc: ServicesDep,
) -> Response:
    body = await parse_body(request, ChatCompletionCreateParams)
    model = svc.catalog.resolve(body.model)
    most = min(model.backend.capabilities.max_output_tokens, MAX_ANY_MODEL_OUTPUT)
    converted = to_messages(body, max_tokens=most)
    created = int(time.time())
    writer = ChunkWriter(created=created, include_usage=converted.include_usage)
    return await respond(
        request,
        converted.params,
        ctx,
        svc,
        framing=ChunkFraming(writer),
        shape=lambda message: completion(message, created=created),
        seed=converted.seed,
    )
