"""``GET /`` and ``HEAD /``: clients (Claude Code among them) probe the base URL.

A browser opening the base URL (a ``GET`` whose ``Accept`` names ``text/html``) is
sent to the Console instead; every other client gets the JSON it always did.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from parley import __version__

router = APIRouter()


def wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return request.method == "GET" and "text/html" in accept.lower()


@router.api_route("/", methods=["GET", "HEAD"])
async def root(request: Request) -> Response:
    if wants_html(request) and request.app.state.console_enabled:
        return RedirectResponse("/console", status_code=303)
    return JSONResponse({"name": "parley", "version": __version__, "api": "claude"})
