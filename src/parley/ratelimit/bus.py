"""Telling every process that an administrator changed something it caches.

Limits, the usage tier, spend limits and Priority Tier commitments are read from the
database and cached in each process for a few seconds, so the request path does not
query for them. A change made through one process is published on a topic; each
process, itself included, drops its cached copy of that topic at once. With
``rate_limits.store = "redis"`` the topics travel over Redis pub/sub (channel
``parley:changes``), so a change made on one ``parley serve`` reaches the others
without waiting for their caches to expire; otherwise only this process is told.

A lost message (Redis restarting, a listener reconnecting) costs at most the cache's
own lifetime: caches keep their time-to-live, and a listener that reconnects drops
everything it caches, since it cannot know what it missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
CHANNEL = "parley:changes"
TOPICS = ("limits", "tier", "spend", "priority")
Listener = Callable[[], None]


class ChangeBus(Protocol):
    def subscribe(self, topic: str, listener: Listener) -> None: ...

    async def publish(self, topic: str) -> None: ...

    def start(self) -> None: ...

    async def aclose(self) -> None: ...


class LocalBus:
    """Changes reach the listeners of this process only."""

    def __init__(self) -> None:
        self._listeners: dict[str, list[Listener]] = defaultdict(list)

    def subscribe(self, topic: str, listener: Listener) -> None:
        if topic not in TOPICS:
            raise ValueError(f"unknown topic {topic!r}")
        self._listeners[topic].append(listener)

    def notify(self, topic: str) -> None:
        for listener in self._listeners.get(topic, ()):
            listener()

    def notify_all(self) -> None:
        for topic in TOPICS:
            self.notify(topic)

    async def publish(self, topic: str) -> None:
        self.notify(topic)

    def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


class RedisBus(LocalBus):
    """Changes reach every process subscribed to the same Redis."""

    def __init__(self, url: str, *, retry_seconds: float = 1.0) -> None:
        super().__init__()
        self._redis: Redis = Redis.from_url(url, socket_connect_timeout=1.0)
        self._retry = retry_seconds
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    async def publish(self, topic: str) -> None:
        self.notify(topic)  # this process at once, whatever Redis does
        try:
            await asyncio.wait_for(self._redis.publish(CHANNEL, topic), timeout=1.0)
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("could not publish a %s change to other processes: %s", topic, exc)

    def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="change-bus")

    async def _listen(self) -> None:
        while True:
            try:
                await self._receive()
            except (RedisError, OSError) as exc:
                log.warning("change bus: Redis unavailable (%s); retrying", exc)
                self.listening.clear()
            await asyncio.sleep(self._retry)

    async def _receive(self) -> None:
        async with self._redis.pubsub() as pubsub:
            await pubsub.subscribe(CHANNEL)
            self.notify_all()  # whatever changed while not listening is dropped too
            self.listening.set()
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    topic = message["data"].decode() if message.get("data") else ""
                    if topic in TOPICS:
                        self.notify(topic)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._redis.aclose()
