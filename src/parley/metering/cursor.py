"""Opaque page cursors for lists Parley builds in memory (spend limits, analytics rows).

A cursor is the offset of the next item, encoded so clients treat it as opaque
(``page_…``); anything else given as ``page`` is a 400 naming the field.
"""

from __future__ import annotations

import base64
from typing import TypeVar

from parley.errors import InvalidRequestError

T = TypeVar("T")


def cut(items: list[T], limit: int, page: str | None) -> tuple[list[T], str | None]:
    """A page of ``items`` after the cursor ``page``, and the next cursor (None: last)."""
    start = decode_offset(page) if page else 0
    chunk = items[start : start + limit]
    after = start + len(chunk)
    return chunk, encode_offset(after) if after < len(items) else None


def encode_offset(offset: int) -> str:
    return "page_" + base64.urlsafe_b64encode(str(offset).encode()).decode().rstrip("=")


def decode_offset(token: str) -> int:
    try:
        raw = token.removeprefix("page_")
        value = int(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode())
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequestError("page: not a page token from this list") from None
    if value < 0:
        raise InvalidRequestError("page: not a page token from this list")
    return value
