"""The Vertex AI paths of the Claude API, as the SDK's ``AnthropicVertex`` calls them.

With ``base_url="http://127.0.0.1:8080/v1"`` the client posts to
``/v1/projects/{project}/locations/{region}/publishers/anthropic/models/{model}:rawPredict``
(``:streamRawPredict`` when streaming), the model taken out of the body and
``anthropic_version`` put in (``vertex-2023-10-16``, or the API version SDK 2.x
sends, whose rules then apply); token counting goes to
``.../models/count-tokens:rawPredict`` with the model left in the body. Its
``access_token`` is sent as ``Authorization: Bearer`` and checked as a Parley key.
Project and region name nothing here and are not checked. From there a request is
a ``/v1/messages`` request: the same services, answers and errors.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from parley.errors import InvalidRequestError, NotFoundError
from parley.http.deps import ServicesDep, headerless_context, principal
from parley.http.routes.body import json_object, validated
from parley.http.routes.messages import count, respond
from parley.protocol import body_version
from parley.tenancy.principal import Principal
from parley.wire.requests import MessageCountTokensParams, MessageCreateParams

router = APIRouter()

VERTEX_VERSION = "vertex-2023-10-16"
PATH = "/v1/projects/{project}/locations/{region}/publishers/anthropic/models/{target}"
COUNT_TOKENS = "count-tokens"


@router.post(PATH)
async def predict(
    target: str,
    request: Request,
    who: Annotated[Principal, Depends(principal)],
    svc: ServicesDep,
) -> Response:
    model, _, method = target.rpartition(":")
    body = json_object(await request.body())
    version = body_version(body.pop("anthropic_version", None), VERTEX_VERSION)
    ctx = replace(headerless_context(request, who), version=version)
    if model == COUNT_TOKENS and method == "rawPredict":
        return await count(validated(MessageCountTokensParams, body), ctx, svc)
    if not model or method not in ("rawPredict", "streamRawPredict"):
        raise NotFoundError(
            f"{target}: expected <model>:rawPredict, <model>:streamRawPredict "
            "or count-tokens:rawPredict."
        )
    if "model" in body:
        raise InvalidRequestError("model: Vertex AI names the model in the path, not the body.")
    params = validated(MessageCreateParams, {**body, "model": model})
    if bool(params.stream) != (method == "streamRawPredict"):
        raise InvalidRequestError(
            f"stream: {method} takes stream {'true' if method == 'streamRawPredict' else 'false'}."
        )
    return await respond(request, params, ctx, svc)
