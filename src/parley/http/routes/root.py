"""``GET /`` and ``HEAD /``: clients (Claude Code among them) probe the base URL."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from parley import __version__

router = APIRouter()


@router.api_route("/", methods=["GET", "HEAD"])
async def root() -> JSONResponse:
    return JSONResponse({"name": "parley", "version": __version__, "api": "claude"})
