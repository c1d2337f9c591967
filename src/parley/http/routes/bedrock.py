"""Amazon Bedrock's runtime paths, as the SDK's ``AnthropicBedrock`` calls them.

With ``base_url="http://127.0.0.1:8080"`` the client posts the Claude body, less its
``model`` and ``stream`` and with ``anthropic_version`` (``bedrock-2023-05-31``, or the
API version SDK 2.x sends, whose rules then apply) and its betas as
``anthropic_beta``, to ``/model/{model}/invoke``, or to
``/model/{model}/invoke-with-response-stream`` for a stream, which comes back in
AWS's event-stream framing. Requests are signed with SigV4 (``compat.bedrock.sigv4``:
access key id and secret are both the Parley key, which makes it exactly as strong as
a bearer key) or carry the key as a Bedrock API key (``Authorization: Bearer``). The
client offers neither batches nor token counting.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel

from parley.compat.bedrock import eventstream, sigv4
from parley.errors import InvalidRequestError, ParleyError
from parley.http.deps import ServicesDep, headerless_context, presented_key, workspace_key
from parley.http.routes.body import json_object, validated
from parley.http.routes.messages import respond
from parley.messages.context import CallContext
from parley.protocol import body_version, parse_betas
from parley.tenancy.principal import Principal
from parley.wire.requests import MessageCreateParams
from parley.wire.sse import data_of

router = APIRouter()

BEDROCK_VERSION = "bedrock-2023-05-31"


class EventStreamFraming:
    """``http.sse.Framing`` for Bedrock: each Claude event a ``chunk`` message."""

    ping = eventstream.chunk({"type": "ping"})
    media_type = eventstream.CONTENT_TYPE

    def event(self, item: BaseModel | bytes) -> bytes:
        return eventstream.chunk(data_of(item))

    def error(self, error: ParleyError, request_id: str | None) -> bytes:
        return eventstream.exception(error.status, error.message)

    def end(self) -> bytes:
        return b""


async def bedrock_principal(request: Request, svc: ServicesDep) -> Principal:
    """The caller, from a SigV4 signature or, as Bedrock API keys are sent, a bearer key."""
    authorization = request.headers.get("authorization")
    if not sigv4.is_signed(authorization):
        key, header = presented_key(request)
        return await workspace_key(request, svc, key, header)
    scope = request.scope
    raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
    url = f"{scope.get('scheme', 'http')}://{request.headers.get('host', '')}{raw_path}"
    if query := scope.get("query_string", b"").decode("latin-1"):
        url += f"?{query}"
    # A repeated header is signed as its values joined by commas, as botocore joins them.
    names = {name.lower() for name in request.headers}
    signed = sigv4.SignedRequest(
        method=request.method,
        url=url,
        headers={name: ",".join(request.headers.getlist(name)) for name in names},
        body=await request.body(),
    )
    return await workspace_key(request, svc, sigv4.verify(signed), "authorization")


BedrockPrincipal = Annotated[Principal, Depends(bedrock_principal)]


@router.post("/model/{model}/invoke")
async def invoke(model: str, request: Request, who: BedrockPrincipal, svc: ServicesDep) -> Response:
    params, ctx = await _params(request, who, model, stream=False)
    return await respond(request, params, ctx, svc)


@router.post("/model/{model}/invoke-with-response-stream")
async def invoke_streaming(
    model: str, request: Request, who: BedrockPrincipal, svc: ServicesDep
) -> Response:
    params, ctx = await _params(request, who, model, stream=True)
    return await respond(request, params, ctx, svc, framing=EventStreamFraming())


async def _params(
    request: Request, who: Principal, model: str, *, stream: bool
) -> tuple[MessageCreateParams, CallContext]:
    """The Claude params of a Bedrock body, and the call's context with its betas."""
    body = json_object(await request.body())
    version = body_version(body.pop("anthropic_version", None), BEDROCK_VERSION)
    betas = body.pop("anthropic_beta", None) or []
    if not isinstance(betas, list) or not all(isinstance(b, str) for b in betas):
        raise InvalidRequestError("anthropic_beta: must be a list of beta names.")
    for field in ("model", "stream"):
        if field in body:
            raise InvalidRequestError(f"{field}: Bedrock takes it from the path, not the body.")
    params = validated(MessageCreateParams, {**body, "model": model, "stream": stream})
    ctx = headerless_context(request, who)
    return params, replace(ctx, version=version, betas=ctx.betas | parse_betas(betas))
