"""Rendering Console pages: one Jinja2 environment, autoescaped, and the headers every
Console answer carries.

Everything a user typed reaches a page through Jinja2's autoescaping (a workspace
named ``<script>…`` shows as text), and data for scripts travels in
``<script type="application/json">`` blocks written with ``tojson`` (which escapes
``<``, ``>``, ``&`` and quotes), never in inline code: the Content-Security-Policy
allows scripts from Parley's own origin only. Pages are never cached (a new key's
secret is on one of them) nor framed.

A notice for the next page (what an action did, or why it was refused) travels in a
short-lived cookie and is shown once.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from parley import __version__

HERE = Path(__file__).parent
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}
FLASH_COOKIE = "parley_console_flash"

env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
env.globals["version"] = __version__


def dollars(cents: object) -> str:
    """Cents (a number or decimal string) as dollars: two places, four below a cent."""
    value = float(str(cents))
    return f"${value / 100:,.4f}" if 0 < abs(value) < 1 else f"${value / 100:,.2f}"


env.filters["dollars"] = dollars


def secure(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """``template`` rendered with ``context``, the notice waiting for this page, and the
    request (for the current path)."""
    notice = taken_notice(request)
    html = env.get_template(template).render(request=request, notice=notice, **context)
    response = HTMLResponse(html, status_code=status)
    if notice is not None:
        response.delete_cookie(FLASH_COOKIE, path="/console")
    secure(response)
    return response


def over_https(request: Request) -> bool:
    """Whether the browser reached the Console over HTTPS: directly, through a proxy
    uvicorn trusts (``X-Forwarded-Proto``), or at an ``https`` public base URL (a
    TLS-terminating proxy on another host), so cookies are set ``Secure``."""
    public = request.app.state.services.settings.server.public_base_url or ""
    return request.url.scheme == "https" or public.startswith("https://")


def redirect(
    request: Request, to: str, notice: str | None = None, *, error: bool = False
) -> Response:
    """A 303 to ``to`` (a Console path) carrying ``notice`` for the page there."""
    response = RedirectResponse(to, status_code=303)
    if notice is not None:
        raw = json.dumps({"text": notice[:600], "error": error}).encode()
        response.set_cookie(
            FLASH_COOKIE,
            base64.urlsafe_b64encode(raw).decode(),
            max_age=60,
            path="/console",
            httponly=True,
            samesite="strict",
            secure=over_https(request),
        )
    return secure(response)


def taken_notice(request: Request) -> dict[str, Any] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        found = json.loads(base64.urlsafe_b64decode(raw.encode()))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(found, dict) or not isinstance(found.get("text"), str):
        return None
    return {"text": found["text"], "error": bool(found.get("error"))}
