"""The upstream HTTP client against a peer that resets connections as they open.

A replica killed while accepting does this. On uvloop (uvicorn's default loop) plain
httpx lets ``AttributeError`` escape in a few percent of such connections (seen: 153
of 2,000), which the failover took for Parley's own failure and answered with a 500.
"""

from __future__ import annotations

import random
import socket
import struct
import threading
import time
from collections import Counter

import httpx
import uvloop

from parley.backends.common.upstream import upstream_client

ATTEMPTS = 600


def resetting_listener() -> socket.socket:
    """A listener that accepts each connection and resets it within a millisecond."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=512)

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return  # closed: the test is over
            time.sleep(random.random() / 1000)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return listener


async def outcomes(url: str) -> Counter[str]:
    seen: Counter[str] = Counter()
    async with upstream_client(5.0, httpx.Limits(max_connections=8)) as client:
        for _ in range(ATTEMPTS):
            try:
                await client.post(url, json={})
                seen["answered"] += 1
            except httpx.TransportError:
                seen["transport error"] += 1
            except Exception as exc:  # what the failover cannot handle
                seen[type(exc).__name__] += 1
    return seen


def test_a_reset_as_the_connection_opens_is_a_transport_error() -> None:
    listener = resetting_listener()
    try:
        seen = uvloop.run(outcomes(f"http://127.0.0.1:{listener.getsockname()[1]}/"))
    finally:
        listener.close()
    assert seen == Counter({"transport error": ATTEMPTS})
