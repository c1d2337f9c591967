"""Who is looking at a Console page, and the checks every Console request passes.

``visitor(request)`` resolves the session cookie into a :class:`Visitor` or sends the
browser to the sign-in page. Every state-changing request (``POST``) must carry the
session's CSRF token, in the form's ``csrf`` field or the ``x-csrf-token`` header;
without it the request is refused with 403 before anything happens.

What a visitor may do is decided where the Admin API decides it: an admin session acts
with the current role of its key's user (``Authorizer``, ``tenancy/roles.py``); an
API-key session reaches only its own workspace's Workbench, usage, files and batches.

``ConsoleRoute`` turns errors into pages: an unknown or ended session into the sign-in
page, and a service's refusal (a ``ParleyError``) into a notice on the page the form
came from, or an error page when there is none.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.datastructures import FormData

from parley.console.render import page, redirect, secure
from parley.errors import AuthenticationError, ParleyError, PermissionDeniedError
from parley.http.deps import CSRF_HEADER, SESSION_COOKIE, Services
from parley.http.errors import request_id_of
from parley.messages.context import CallContext
from parley.protocol import ApiVersion
from parley.tenancy.roles import Action
from parley.tenancy.sessions import SessionView
from parley.tenancy.workspaces import Workspace

SIGN_IN = "/console/sign-in"


class SignInRequired(Exception):
    """The request has no live session."""


class CsrfRefused(PermissionDeniedError):
    """A state-changing request without the session's CSRF token."""


@dataclass(frozen=True)
class Visitor:
    session: SessionView
    svc: Services
    request_id: str

    @property
    def admin(self) -> bool:
        return self.session.kind == "admin"

    @property
    def csrf(self) -> str:
        return self.session.csrf_token

    def require_admin(self) -> None:
        """403 for an API-key session on an organization page."""
        if not self.admin:
            raise PermissionDeniedError(
                "This page needs an admin key: sign in with one to manage the organization."
            )

    async def require(self, action: Action, workspace_id: str | None = None) -> None:
        """403 unless this visitor may do ``action`` (in ``workspace_id``)."""
        self.require_admin()
        await self.svc.authorizer.require(self.session.user_id, action, workspace_id)

    async def may(self, action: Action, workspace_id: str | None = None) -> bool:
        try:
            await self.require(action, workspace_id)
        except PermissionDeniedError:
            return False
        return True

    async def workspaces(self) -> list[Workspace]:
        """The workspaces this visitor can pick (an API-key session: its own)."""
        rows, _ = await self.svc.workspaces.page(limit=100, include_default=True)
        live = [w for w in rows if w.archived_at is None]
        if self.admin:
            return sorted(live, key=lambda w: (not w.is_default, w.name.lower()))
        return [w for w in live if w.id == self.session.workspace_id]

    def workspace_id(self, request: Request) -> str:
        """The workspace a page is about: an admin's choice (``?workspace=``, default:
        the default workspace), an API-key session's own."""
        if not self.admin:
            return self.session.workspace_id or ""
        chosen = request.query_params.get("workspace")
        return chosen or self.svc.organization.default_workspace_id

    async def context(self, workspace_id: str) -> CallContext:
        """A call context for the data-plane services (files, batches) in a workspace,
        checked as the API would check the session's request."""
        who = await self.svc.sessions.principal(self.session, workspace_id)
        return CallContext(
            request_id=self.request_id,
            version=ApiVersion.V2023_06_01,
            betas=frozenset(),
            principal=who,
        )


def services_of(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


async def visitor(request: Request) -> Visitor:
    svc = services_of(request)
    try:
        view = await svc.sessions.resolve(request.cookies.get(SESSION_COOKIE))
    except (AuthenticationError, PermissionDeniedError):
        raise SignInRequired from None
    return Visitor(view, svc, request_id_of(request) or "")


async def checked_form(request: Request, who: Visitor) -> FormData:
    """The posted form, after its CSRF token matched the session's."""
    form = await request.form()
    token = form.get("csrf")
    presented = token if isinstance(token, str) else request.headers.get(CSRF_HEADER)
    if not who.session.csrf_ok(presented):
        raise CsrfRefused(
            "This form was refused: it did not carry this session's CSRF token. Reload the "
            "page and try again."
        )
    return form


def check_csrf_header(request: Request, who: Visitor) -> None:
    """For the pages' own JSON calls: the token comes in ``x-csrf-token``."""
    if not who.session.csrf_ok(request.headers.get(CSRF_HEADER)):
        raise CsrfRefused(f"This request must carry the session's CSRF token in {CSRF_HEADER}.")


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class ConsoleRoute(APIRoute):
    """Console routes: security headers on every answer, errors as pages."""

    def get_route_handler(self) -> Handler:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return secure(await original(request))
            except SignInRequired:
                return redirect(request, SIGN_IN)
            except ParleyError as exc:
                return refused(request, exc)
            finally:
                await request.close()  # the uploaded files of a posted form

        return handler


def refused(request: Request, exc: ParleyError) -> Response:
    """A refused request: JSON for the pages' scripts, a notice on the page a form came
    from, or an error page."""
    if request.headers.get("accept", "").startswith("application/json"):
        return secure(JSONResponse(exc.body(request_id_of(request)), status_code=exc.status))
    back = _same_origin_referer(request)
    if request.method == "POST" and back and not isinstance(exc, CsrfRefused):
        return redirect(request, back, exc.message, error=True)
    return page(request, "error.html", status=exc.status, message=exc.message, visitor=None)


def _same_origin_referer(request: Request) -> str | None:
    referer = request.headers.get("referer", "")
    origin = f"{request.url.scheme}://{request.url.netloc}"
    if not referer.startswith(origin + "/console"):
        return None
    return referer[len(origin) :]
