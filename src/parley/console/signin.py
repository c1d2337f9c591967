"""Signing in and out, and redeeming an invite.

Before a session exists, the sign-in and invite forms are protected from cross-site
posting by a double-submit token: a random value in a ``SameSite=Strict`` cookie that
the form must repeat. The key typed in is verified, never stored, echoed or logged;
the browser gets only the session cookie (``HttpOnly``, ``SameSite=Strict``, ``Secure``
over HTTPS, ``Path=/`` so the Workbench's calls to ``/v1/messages`` carry it).
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import Response

from parley.console.auth import ConsoleRoute, services_of
from parley.console.render import over_https, page, redirect
from parley.errors import AuthenticationError, ParleyError, PermissionDeniedError
from parley.http.deps import SESSION_COOKIE

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
PRE_SESSION_COOKIE = "parley_console_form"


def _pre_session(request: Request, template: str, status: int = 200, **context: object) -> Response:
    """A sign-in style page with a fresh double-submit token."""
    token = secrets.token_urlsafe(24)
    response = page(request, template, status=status, csrf=token, visitor=None, **context)
    response.set_cookie(
        PRE_SESSION_COOKIE,
        token,
        max_age=3600,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=over_https(request),
    )
    return response


def _pre_session_ok(request: Request, presented: object) -> bool:
    expected = request.cookies.get(PRE_SESSION_COOKIE)
    return (
        bool(expected)
        and isinstance(presented, str)
        and hmac.compare_digest(presented.encode(), (expected or "").encode())
    )


@router.get("/sign-in")
async def sign_in_page(request: Request) -> Response:
    return _pre_session(request, "signin.html")


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    form = await request.form()
    if not _pre_session_ok(request, form.get("csrf")):
        return _pre_session(request, "signin.html", 403, error="The form expired; try again.")
    key = form.get("key")
    svc = services_of(request)
    try:
        opened = await svc.sessions.sign_in(key if isinstance(key, str) else "")
    except (AuthenticationError, PermissionDeniedError) as exc:
        return _pre_session(request, "signin.html", exc.status, error=_why(exc))
    response = redirect(
        request, "/console" if opened.view.kind == "admin" else "/console/workbench"
    )
    response.set_cookie(
        SESSION_COOKIE,
        opened.token,
        max_age=int(svc.sessions.absolute.total_seconds()),
        path="/",
        httponly=True,
        samesite="strict",
        secure=over_https(request),
    )
    response.delete_cookie(PRE_SESSION_COOKIE, path="/console")
    return response


def _why(exc: ParleyError) -> str:
    if isinstance(exc, PermissionDeniedError):
        return exc.message
    return f"That key cannot sign in: {exc.message}"


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    svc = services_of(request)
    token = request.cookies.get(SESSION_COOKIE)
    form = await request.form()
    presented = form.get("csrf")
    try:
        view = await svc.sessions.resolve(token)
    except (AuthenticationError, PermissionDeniedError):
        view = None
    if view is not None and not view.csrf_ok(presented if isinstance(presented, str) else None):
        return page(
            request,
            "error.html",
            status=403,
            visitor=None,
            message="Sign-out needs this session's CSRF token; reload the page.",
        )
    await svc.sessions.end(token)
    response = redirect(request, "/console/sign-in", "You are signed out.")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/invites/accept")
async def invite_page(request: Request) -> Response:
    return _pre_session(request, "invite.html")


@router.post("/invites/accept")
async def accept_invite(request: Request) -> Response:
    form = await request.form()
    if not _pre_session_ok(request, form.get("csrf")):
        return _pre_session(request, "invite.html", 403, error="The form expired; try again.")
    token, name = form.get("token"), form.get("name")
    if not isinstance(token, str) or not isinstance(name, str) or not name.strip():
        return _pre_session(request, "invite.html", 400, error="Give the token and your name.")
    try:
        user = await services_of(request).invites.accept(token.strip(), name=name)
    except ParleyError as exc:
        return _pre_session(request, "invite.html", exc.status, error=exc.message)
    return page(request, "invite.html", joined=user, visitor=None, csrf="")
