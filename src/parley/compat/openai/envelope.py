"""Parley's errors in OpenAI's envelope: ``{"error": {"message", "type", "param", "code"}}``.

The status stays the one Parley's error table gives, which is what the ``openai`` SDK
raises on (401 ``AuthenticationError``, 404 ``NotFoundError``, 429
``RateLimitError``, ...). ``param`` is the field a message names in its
``path.to.field: problem`` prefix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from parley.errors import ParleyError

CODES: Mapping[str, str] = {
    "authentication_error": "invalid_api_key",
    "permission_error": "permission_denied",
    "not_found_error": "not_found",
    "rate_limit_error": "rate_limit_exceeded",
    "request_too_large": "request_too_large",
    "overloaded_error": "overloaded",
    "api_error": "server_error",
}
_FIELD = re.compile(r"([A-Za-z_][\w.]*): ")


def error_body(error: ParleyError) -> dict[str, Any]:
    return error_object(error.message, error.error_type, server_side=error.status >= 500)


def error_object(message: str, error_type: str, *, server_side: bool) -> dict[str, Any]:
    """The envelope for a Claude error of ``error_type`` (``server_side``: a 5xx)."""
    found = _FIELD.match(message)
    return {
        "error": {
            "message": message,
            "type": "server_error" if server_side else error_type,
            "param": found[1] if found else None,
            "code": CODES.get(error_type),
        }
    }
