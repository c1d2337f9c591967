"""Replicas of an upstream inference server: routing, health checks, failover.

A model served by several upstream URLs picks, per request, the healthy replica with
the fewest outstanding requests (counted from the moment one is sent), except that a
conversation keeps going to the replica chosen for it by rendezvous hashing on its
prefix (system prompt and first user turn) while that replica is at most
``affinity_slack`` requests busier than the least busy one: its KV cache holds the
conversation. A replica that fails before the first byte (no connection, or a 5xx) is
taken out at once and the request goes to the next candidate; a background task
checks every replica's health endpoint and puts it back when it answers again.
Nothing is retried after the first byte: by then the client has part of an answer.

``upstream_client`` is the HTTP client every upstream backend uses: httpx with its
connection errors made whole (see ``_Client``), so a dying replica always reads as
unreachable, never as Parley's own error. ``lines`` reads a streamed answer with a
stall limit: an upstream that hangs mid-answer, or trickles bytes that never make a
line, breaks the answer (``AnswerBroken``) instead of holding the request forever —
httpx's read timeout alone would wait for ever on one byte a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from parley.backends.base import Capabilities, GenerationRequest, TextPart
from parley.errors import AnswerBroken, InternalError, OverloadedError

log = logging.getLogger(__name__)


class UpstreamOptions(BaseModel):
    """What every upstream backend kind is configured with; kinds add their own."""

    model_config = ConfigDict(extra="forbid")

    urls: list[str] = Field(min_length=1, description="Base URLs of the replicas, without /v1.")
    model: str = Field(description="The model name the upstream knows.")
    api_key: SecretStr | None = Field(None, description="The upstream's key, if it needs one.")
    context_window: int = Field(8192, ge=1, description="The model's context window.")
    max_output_tokens: int | None = Field(
        None, ge=1, description="Most tokens one answer may have (default: the context window)."
    )
    images: bool = Field(False, description="Whether the model reads images.")
    health_path: str = Field("/", description="What the health check asks for.")
    check_interval: float = Field(2.0, gt=0, description="Seconds between health checks.")
    timeout: float = Field(600.0, gt=0, description="Seconds to wait for each upstream read.")
    stall_timeout: float = Field(
        60.0,
        gt=0,
        description="Seconds an answer may go without a complete line from the upstream "
        "before it counts as broken (a hung or trickling replica).",
    )

    def capabilities(self) -> Capabilities:
        window = self.context_window
        return Capabilities(
            context_window=window,
            max_output_tokens=min(self.max_output_tokens or window, window),
            images=self.images,
            parallel_sequences=4 * len(self.urls),
        )


class _Client(httpx.AsyncClient):
    """httpx's client, with one race turned into the connection error it is.

    When the peer resets a connection just as it opens (a replica killed mid-accept),
    anyio on uvloop (uvicorn's default loop) loses the socket before httpcore reads the
    connection's details, and ``AttributeError`` on ``None`` escapes from httpx instead
    of ``httpx.ConnectError``: the failover would not see it, nor the health check.
    """

    async def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        try:
            return await super().send(request, **kwargs)
        except AttributeError as exc:
            if exc.obj is not None:  # not a vanished socket: a bug, keep it visible
                raise
            raise httpx.ConnectError(
                f"the connection closed as it opened ({exc})", request=request
            ) from exc


def upstream_client(timeout: float, limits: httpx.Limits) -> httpx.AsyncClient:
    """The client for one upstream backend: ``timeout`` per read, 5 s to connect."""
    return _Client(timeout=httpx.Timeout(timeout, connect=5.0), limits=limits)


async def lines(response: httpx.Response, stall: float) -> AsyncIterator[str]:
    """The response's lines; ``AnswerBroken`` when no complete line comes for ``stall``
    seconds."""
    source = response.aiter_lines()
    try:
        while True:
            try:
                async with asyncio.timeout(stall):
                    line = await anext(source)
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise AnswerBroken(
                    f"the upstream sent nothing for {stall:g} s in the middle of its answer"
                ) from None
            yield line
    finally:
        await source.aclose()  # type: ignore[attr-defined]


@dataclass
class Replica:
    url: str
    outstanding: int = 0
    healthy: bool = True
    down_since: float | None = None


class ReplicaPool:
    def __init__(
        self,
        urls: list[str],
        *,
        health_path: str,
        check_interval: float = 2.0,
        affinity_slack: int = 2,
    ) -> None:
        if not urls:
            raise ValueError("an upstream model needs at least one URL")
        self.replicas = [Replica(url.rstrip("/")) for url in urls]
        self.health_path = health_path
        self.check_interval = check_interval
        self.affinity_slack = affinity_slack
        self._task: asyncio.Task[None] | None = None

    def candidates(self, affinity: str | None) -> list[Replica]:
        """Replicas in the order to try them; unhealthy ones last (better than none)."""
        healthy = sorted((r for r in self.replicas if r.healthy), key=lambda r: r.outstanding)
        if affinity and healthy:
            preferred = max(healthy, key=lambda r: _rendezvous(affinity, r.url))
            if preferred.outstanding <= healthy[0].outstanding + self.affinity_slack:
                healthy.remove(preferred)
                healthy.insert(0, preferred)
        return healthy + [r for r in self.replicas if not r.healthy]

    async def send(
        self,
        client: httpx.AsyncClient,
        path: str,
        *,
        body: dict[str, Any],
        headers: dict[str, str],
        affinity: str | None,
    ) -> tuple[Replica, httpx.Response]:
        """POST to the first replica that answers without failing; the caller must
        call ``done(replica)`` and close the (streaming) response."""
        problems: list[str] = []
        for replica in self.candidates(affinity):
            request = client.build_request("POST", replica.url + path, json=body, headers=headers)
            # Counted from the choice, not the answer: requests arriving together while
            # this one connects see it, so a burst spreads instead of all going one way.
            replica.outstanding += 1
            answered = False
            try:
                try:
                    response = await client.send(request, stream=True)
                except httpx.TransportError as exc:
                    self.failed(replica, f"{type(exc).__name__}: {exc}")
                    problems.append(f"{replica.url}: unreachable")
                    continue
                if response.status_code < 500:
                    answered = True
                    return replica, response
                try:
                    detail = (await response.aread()).decode("utf-8", "replace")[:300]
                finally:
                    await response.aclose()
                self.failed(replica, f"HTTP {response.status_code}")
                problems.append(f"{replica.url}: HTTP {response.status_code} {detail}")
            finally:
                if not answered:  # failed, or cancelled because the client went away
                    replica.outstanding -= 1
        if all("unreachable" in p for p in problems):
            raise OverloadedError("Overloaded: no upstream replica is reachable")
        if all("unreachable" in p or ": HTTP 529 " in p for p in problems):
            raise OverloadedError("Overloaded: every upstream replica is overloaded")
        raise InternalError("every upstream replica failed: " + "; ".join(problems))

    @staticmethod
    def done(replica: Replica) -> None:
        replica.outstanding -= 1

    def failed(self, replica: Replica, reason: str) -> None:
        if replica.healthy:
            log.warning("upstream %s taken out: %s", replica.url, reason)
        replica.healthy = False
        replica.down_since = replica.down_since or time.monotonic()

    def start(self, client: httpx.AsyncClient) -> None:
        self._task = asyncio.create_task(self._check_loop(client), name="upstream-health")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _check_loop(self, client: httpx.AsyncClient) -> None:
        while True:
            await asyncio.gather(*(self._check(client, r) for r in self.replicas))
            await asyncio.sleep(self.check_interval)

    async def _check(self, client: httpx.AsyncClient, replica: Replica) -> None:
        try:
            response = await client.get(replica.url + self.health_path, timeout=2.0)
            ok = response.status_code < 500
        except httpx.HTTPError:
            ok = False
        if ok and not replica.healthy:
            log.info("upstream %s is back", replica.url)
            replica.healthy = True
            replica.down_since = None
        elif not ok:
            self.failed(replica, "health check failed")


def affinity_key(request: GenerationRequest) -> str | None:
    """What keeps a conversation on one replica: its system prompt and first user turn."""
    first = next((t for t in request.turns if t.role == "user"), None)
    if first is None:
        return None
    text = "".join(p.text for p in first.parts if isinstance(p, TextPart))
    return hashlib.sha256(f"{request.system}\x00{text}".encode()).hexdigest()


def _rendezvous(key: str, url: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"{key}|{url}".encode(), digest_size=8).digest(), "big")
