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
    found = _FIELD.match(error.message)
    kind = "server_error" if error.status >= 500 else error.error_type
    return {
        "error": {
            "message": error.message,
            "type": kind,
            "param": found[1] if found else None,
            "code": CODES.get(error.error_type),
        }
    }
