"""Request dependencies: the app's services, and the common protocol checks.

``call_context`` applies the API's order of checks (reference §10.1): credentials
(401), then ``anthropic-version`` (400), then ``anthropic-beta``. The key is read from
``x-api-key`` or ``Authorization: Bearer`` on every version; when both are present
``x-api-key`` wins, as on the hosted API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from parley.catalog import Catalog
from parley.config import Settings
from parley.http.errors import request_id_of
from parley.keys import KeyVerifier, Principal
from parley.messages import CallContext, MessagesService
from parley.protocol import parse_betas, parse_version


@dataclass
class Services:
    settings: Settings
    catalog: Catalog
    keys: KeyVerifier
    messages: MessagesService


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def presented_key(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def principal(request: Request, svc: Annotated[Services, Depends(services)]) -> Principal:
    return svc.keys.verify(presented_key(request))


def call_context(request: Request, _: Annotated[Principal, Depends(principal)]) -> CallContext:
    version = parse_version(request.headers.get("anthropic-version"))
    betas = parse_betas(request.headers.getlist("anthropic-beta"))
    return CallContext(request_id=request_id_of(request) or "", version=version, betas=betas)


ServicesDep = Annotated[Services, Depends(services)]
ContextDep = Annotated[CallContext, Depends(call_context)]
