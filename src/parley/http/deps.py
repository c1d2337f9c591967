"""Request dependencies: the app's services, and the common protocol checks.

``call_context`` applies the API's order of checks (reference §10.1): credentials
(401), then ``anthropic-version`` (400), then ``anthropic-beta``. The key is read from
``x-api-key`` or ``Authorization: Bearer`` on every version; when both are present
``x-api-key`` wins, as on the hosted API. Data-plane routes take workspace API keys
only; ``/v1/organizations/*`` takes admin keys only.

Every dependency FastAPI resolves is ``async def``, even where nothing is awaited: it
runs a plain ``def`` dependency on a worker thread, a thread hop per dependency per
request that showed in the gateway's latency.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from parley.batches.service import BatchService
from parley.catalog import Catalog
from parley.config import Settings
from parley.errors import PermissionDeniedError
from parley.files import FileService
from parley.http.dialect import speaks_openai
from parley.http.errors import request_id_of
from parley.messages.context import CallContext
from parley.messages.service import MessagesService
from parley.metering.analytics import Analytics
from parley.metering.analytics_reports import BucketedAnalytics
from parley.metering.reports import Reports
from parley.metering.spend import SpendGuard
from parley.metering.spend_limits import SpendLimits
from parley.metering.usage import UsageRecorder
from parley.metrics import Metrics
from parley.prompts import Prompts
from parley.protocol import ApiVersion, parse_betas, parse_version
from parley.ratelimit.policy import LimitPolicy
from parley.ratelimit.priority import PriorityCapacity
from parley.ratelimit.tiers import Tiers
from parley.skills import SkillService
from parley.tenancy.invites import Invites
from parley.tenancy.keys import KeyService
from parley.tenancy.members import Members
from parley.tenancy.organization import Bootstrap
from parley.tenancy.principal import Principal
from parley.tenancy.roles import Action, Authorizer
from parley.tenancy.sessions import Sessions
from parley.tenancy.users import Users
from parley.tenancy.workspaces import Workspaces


@dataclass
class Services:
    settings: Settings
    catalog: Catalog
    keys: KeyService
    organization: Bootstrap
    workspaces: Workspaces
    users: Users
    usage: UsageRecorder
    reports: Reports
    limits: LimitPolicy
    batches: BatchService
    files: FileService
    skills: SkillService
    spend: SpendGuard
    messages: MessagesService
    metrics: Metrics
    invites: Invites
    members: Members
    authorizer: Authorizer
    tiers: Tiers
    priority: PriorityCapacity
    spend_limits: SpendLimits
    analytics: Analytics
    bucketed: BucketedAnalytics
    sessions: Sessions
    prompts: Prompts

    async def allow(
        self, ctx: CallContext, action: Action, workspace_id: str | None = None
    ) -> None:
        """403 unless the admin key's user may do ``action`` (``roles.py``)."""
        await self.authorizer.require(ctx.principal.user_id, action, workspace_id)


async def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]


def presented_key(request: Request) -> tuple[str | None, str]:
    """The key and the header it came in."""
    key = request.headers.get("x-api-key")
    if key:
        return key.strip(), "x-api-key"
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip(), "authorization"
    return None, "x-api-key"


SESSION_COOKIE = "parley_console"
CSRF_HEADER = "x-csrf-token"


async def principal(request: Request, svc: ServicesDep) -> Principal:
    key, header = presented_key(request)
    if key is None and SESSION_COOKIE in request.cookies:
        return await console_session(request, svc)
    return await workspace_key(request, svc, key, header)


async def console_session(request: Request, svc: Services) -> Principal:
    """The caller of a data-plane request a Console page made with its session cookie
    (the Workbench streams from ``/v1/messages`` this way, with no key in the page). The
    page must echo the session's CSRF token in ``x-csrf-token``, on every method: a
    cookie alone authenticates nothing, so no other site can spend through it."""
    view = await svc.sessions.resolve(request.cookies.get(SESSION_COOKIE))
    if not view.csrf_ok(request.headers.get(CSRF_HEADER)):
        raise PermissionDeniedError(
            f"A request signed in with a Console session must carry its CSRF token in "
            f"{CSRF_HEADER}; reload the Console page."
        )
    found = await svc.sessions.principal(view, request.headers.get("anthropic-workspace-id"))
    request.scope.setdefault("state", {})["workspace_id"] = found.workspace_id
    return found


async def workspace_key(request: Request, svc: Services, key: str | None, header: str) -> Principal:
    """The caller of a data-plane request, whose key came in ``header``."""
    found = await svc.keys.verify(key, admin=False, header=header)
    requested = request.headers.get("anthropic-workspace-id")
    if requested and requested != found.workspace_id:
        raise PermissionDeniedError(
            f"This API key belongs to workspace {found.workspace_id}, not {requested}; "
            "drop the anthropic-workspace-id header or use a key of that workspace."
        )
    # The middleware stamps this on the response as anthropic-workspace-id.
    request.scope.setdefault("state", {})["workspace_id"] = found.workspace_id
    return found


async def admin_principal(request: Request, svc: ServicesDep) -> Principal:
    """An admin key's caller, who must still be a member of the organization: the key
    acts with its user's current role (``tenancy/roles.py``)."""
    key, header = presented_key(request)
    found = await svc.keys.verify(key, admin=True, header=header)
    role, _ = await svc.authorizer.roles(found.user_id, None)
    if role is None:
        raise PermissionDeniedError(
            "This admin key's user is no longer a member of the organization; use a key "
            "of a current admin."
        )
    return found


def _context(request: Request, who: Principal) -> CallContext:
    version = parse_version(request.headers.get("anthropic-version"))
    betas = parse_betas(request.headers.getlist("anthropic-beta"))
    return CallContext(
        request_id=request_id_of(request) or "", version=version, betas=betas, principal=who
    )


async def call_context(
    request: Request, who: Annotated[Principal, Depends(principal)]
) -> CallContext:
    return _context(request, who)


async def admin_context(
    request: Request, who: Annotated[Principal, Depends(admin_principal)]
) -> CallContext:
    return _context(request, who)


async def platform_context(
    request: Request, who: Annotated[Principal, Depends(principal)]
) -> CallContext:
    """For a client that sends no ``anthropic-version`` (see ``headerless_context``)."""
    return headerless_context(request, who)


def headerless_context(request: Request, who: Principal) -> CallContext:
    """The context of a request from a client that sends no ``anthropic-version``
    (OpenAI's protocol, the Vertex AI and Bedrock clients): read under 2023-06-01, the
    version with the sampling parameters that those platforms' Claude APIs follow;
    betas come from ``anthropic-beta`` as usual."""
    sent = request.headers.get("anthropic-version")
    return CallContext(
        request_id=request_id_of(request) or "",
        version=parse_version(sent) if sent else ApiVersion.V2023_06_01,
        betas=parse_betas(request.headers.getlist("anthropic-beta")),
        principal=who,
    )


async def either_context(
    request: Request, who: Annotated[Principal, Depends(principal)]
) -> CallContext:
    """For routes both protocols share (``http.dialect``)."""
    if speaks_openai(request.scope):
        return headerless_context(request, who)
    return _context(request, who)


ContextDep = Annotated[CallContext, Depends(call_context)]
PlatformContextDep = Annotated[CallContext, Depends(platform_context)]
EitherContextDep = Annotated[CallContext, Depends(either_context)]
AdminDep = Annotated[CallContext, Depends(admin_context)]
