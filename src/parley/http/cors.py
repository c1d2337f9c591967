"""Browser access (CORS), as the hosted API grants it to the SDK's direct-browser mode.

A page calls the API from an allowed origin (``server.browser_origins``) with
``anthropic-dangerous-direct-browser-access: true``, which the TypeScript SDK sends
under ``dangerouslyAllowBrowser``. Preflights from an allowed origin are answered
here with the methods and the headers asked for. An actual request gets
``Access-Control-Allow-Origin`` and exposes ``request-id``, ``retry-after`` and the
rate-limit headers; without the header it is refused with a 401 that says to send it
(readable by the page, so the developer sees why). Cookies are never allowed
(no ``Access-Control-Allow-Credentials``): a key is the only credential. Requests
from other origins pass through without CORS headers, so the browser withholds the
answer; same-origin requests (a page Parley serves) pass through untouched.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parley.errors import AuthenticationError
from parley.http.errors import error_body

DIRECT_ACCESS = "anthropic-dangerous-direct-browser-access"
METHODS = "GET, POST, DELETE, HEAD, OPTIONS"
_LIMITS = ("requests", "tokens", "input-tokens", "output-tokens")
EXPOSED = ", ".join(
    [
        "request-id",
        "retry-after",
        "x-should-retry",
        "anthropic-organization-id",
        "anthropic-workspace-id",
        *(f"anthropic-ratelimit-{k}-{f}" for k in _LIMITS for f in ("limit", "remaining", "reset")),
    ]
)
NOT_DIRECT = AuthenticationError(
    f"CORS requests must set '{DIRECT_ACCESS}' header (the SDK's dangerouslyAllowBrowser "
    "option sends it)."
)


class BrowserAccess:
    def __init__(self, app: ASGIApp, *, origins: Sequence[str]) -> None:
        self.app = app
        self.any_origin = "*" in origins
        self.origins = frozenset(origins)

    def allowed(self, origin: str) -> bool:
        return self.any_origin or origin in self.origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None or _same_origin(scope, headers, origin) or not self.allowed(origin):
            await self.app(scope, receive, send)
            return
        allow = [(b"access-control-allow-origin", origin.encode()), (b"vary", b"Origin")]
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await _preflight(send, allow, headers.get("access-control-request-headers", ""))
            return
        if headers.get(DIRECT_ACCESS, "").lower() != "true":
            await _refuse(scope, send, allow)
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [*allow, (b"access-control-expose-headers", EXPOSED.encode())]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_cors)


def _same_origin(scope: Scope, headers: Headers, origin: str) -> bool:
    """Browsers send ``Origin`` on same-origin POSTs too (pages Parley serves itself);
    those are no cross-origin calls."""
    return origin == f"{scope.get('scheme', 'http')}://{headers.get('host', '')}"


async def _preflight(send: Send, allow: list[tuple[bytes, bytes]], asked: str) -> None:
    headers = [
        *allow,
        (b"access-control-allow-methods", METHODS.encode()),
        (b"access-control-allow-headers", asked.encode("latin-1")),
        (b"access-control-max-age", b"86400"),
        (b"content-length", b"0"),
    ]
    await send({"type": "http.response.start", "status": 204, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


async def _refuse(scope: Scope, send: Send, allow: list[tuple[bytes, bytes]]) -> None:
    request_id = (scope.get("state") or {}).get("request_id")
    body = json.dumps(error_body(NOT_DIRECT, scope, request_id)).encode()
    headers = [
        *allow,
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": NOT_DIRECT.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
