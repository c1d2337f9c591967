"""Pure ASGI middleware (no buffering, so SSE streams pass straight through).

``RequestContextMiddleware`` gives every request a ``req_…`` id (kept in
``scope["state"]``) and stamps ``request-id`` and ``anthropic-organization-id`` on
every response, errors included, plus ``anthropic-workspace-id`` once authentication
has resolved the caller's workspace (into ``scope["state"]``). It also enforces the
body size limit without reading a body whole: a declared ``content-length`` over the
limit is refused at once with 413, and a chunked body is counted as it arrives.

An exception nothing else handled is answered here, as the 500 envelope of
``http/errors.py``, so that response carries the same headers as every other (the
app's own catch-all handler sits outside all middleware and is only a last resort).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parley.errors import ParleyError, RequestTooLargeError
from parley.http.errors import error_body, log_unexpected, unexpected_error
from parley.ids import new_id
from parley.metrics import Metrics


class PathPrefix:
    """Serves the whole API under ``prefix`` too, as the SDK's ``AnthropicFoundry``
    calls it (Microsoft Foundry puts ``/anthropic`` before every path): the prefix is
    taken off before anything else sees the request."""

    def __init__(self, app: ASGIApp, *, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] == "http" and path.startswith(self.prefix + "/"):
            stripped = path[len(self.prefix) :]
            raw = scope.get("raw_path") or path.encode()
            scope = {**scope, "path": stripped, "raw_path": raw[len(self.prefix) :]}
        await self.app(scope, receive, send)


def too_large(limit: int) -> RequestTooLargeError:
    megabytes = limit / (1024 * 1024)
    return RequestTooLargeError(
        f"Request exceeds the maximum allowed number of bytes. The maximum request size "
        f"is {megabytes:g} MB."
    )


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        large_bodies: Mapping[str, int] | None = None,
        organization_id: Callable[[], str | None] = lambda: None,
        metrics: Metrics | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        # Paths with their own, larger limit (batch creation takes 256 MB).
        self.large_bodies = dict(large_bodies or {})
        self.organization_id = organization_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_id("req")
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        stamped = [(b"request-id", request_id.encode())]
        organization = self.organization_id()
        if organization:
            stamped.append((b"anthropic-organization-id", organization.encode()))

        started = False
        status = 500
        began = time.monotonic()

        async def send_stamped(message: Message) -> None:
            nonlocal started, status
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = [*message.get("headers", []), *stamped]
                workspace = state.get("workspace_id")
                if workspace:
                    headers.append((b"anthropic-workspace-id", workspace.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self._answer(scope, receive, send_stamped, request_id, lambda: started)
        finally:
            self._observe(scope, status, time.monotonic() - began)

    async def _answer(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        request_id: str,
        started: Callable[[], bool],
    ) -> None:
        limit = self.large_bodies.get(scope.get("path", ""), self.max_body_bytes)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _send_error(send, too_large(limit), scope, request_id)
            return
        try:
            await self.app(scope, self._counting(receive, limit), send)
        except Exception as exc:  # the last stop before the server: answer, never drop
            log_unexpected(scope, exc)
            if started():
                raise
            await _send_error(send, unexpected_error(), scope, request_id)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        if self.metrics is None:
            return
        found = scope.get("route")
        route = getattr(found, "path", None) or "unmatched"
        method = scope.get("method", "")
        self.metrics.http_requests.labels(route, method, str(status)).inc()
        self.metrics.http_duration.labels(route, method).observe(seconds)

    def _counting(self, receive: Receive, limit: int) -> Receive:
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large(limit)
            return message

        return counted


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_error(send: Send, error: ParleyError, scope: Scope, request_id: str) -> None:
    body = json.dumps(error_body(error, scope, request_id)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
