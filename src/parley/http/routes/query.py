"""Query-string helpers: the SDK sends arrays in bracket form (``group_by[]=model``)."""

from __future__ import annotations

from datetime import datetime

from fastapi import Request

from parley.errors import InvalidRequestError


def array(request: Request, name: str) -> list[str]:
    """Values of ``name[]`` and bare repeated ``name``."""
    return [*request.query_params.getlist(f"{name}[]"), *request.query_params.getlist(name)]


def timestamp(request: Request, name: str, *, required: bool = False) -> datetime | None:
    raw = request.query_params.get(name)
    if raw is None:
        if required:
            raise InvalidRequestError(f"{name}: Field required")
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequestError(f"{name}: not an RFC 3339 timestamp: {raw!r}") from None
