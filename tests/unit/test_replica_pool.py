"""Replica choice under a burst: requests sent together, before any has an answer."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx

from parley.backends.common.upstream import ReplicaPool


async def test_a_burst_spreads_over_replicas() -> None:
    """Eight requests of one conversation at once: affinity holds its replica until it
    is ``affinity_slack`` busier than the other, counting requests still connecting."""
    arrived: Counter[str] = Counter()
    all_sent, release = asyncio.Event(), asyncio.Event()

    async def upstream(request: httpx.Request) -> httpx.Response:
        arrived[request.url.host] += 1
        if arrived.total() == 8:
            all_sent.set()
        await release.wait()  # no replica answers until all eight were sent
        return httpx.Response(200, json={})

    pool = ReplicaPool(["http://a", "http://b"], health_path="/", affinity_slack=2)
    home = pool.candidates("conversation-1")[0]
    async with httpx.AsyncClient(transport=httpx.MockTransport(upstream)) as client:
        sends = [
            asyncio.create_task(
                pool.send(client, "/v1/messages", body={}, headers={}, affinity="conversation-1")
            )
            for _ in range(8)
        ]
        await asyncio.wait_for(all_sent.wait(), 10)
        assert {r.url: r.outstanding for r in pool.replicas} == {
            home.url: 5,
            next(r.url for r in pool.replicas if r is not home): 3,
        }
        release.set()
        for replica, response in await asyncio.gather(*sends):
            await response.aclose()
            pool.done(replica)
    assert [r.outstanding for r in pool.replicas] == [0, 0]
    assert arrived[httpx.URL(home.url).host] == 5


async def test_a_failed_or_cancelled_send_is_not_counted() -> None:
    waiting_on_b = asyncio.Event()

    async def refuses(request: httpx.Request) -> httpx.Response:
        if request.url.host == "a":
            raise httpx.ConnectError("refused", request=request)
        waiting_on_b.set()
        await asyncio.sleep(3600)  # "b" never answers: the caller gives up
        raise AssertionError("unreachable")

    pool = ReplicaPool(["http://a", "http://b"], health_path="/")
    async with httpx.AsyncClient(transport=httpx.MockTransport(refuses)) as client:
        sending = asyncio.create_task(
            pool.send(client, "/v1/messages", body={}, headers={}, affinity=None)
        )
        await asyncio.wait_for(waiting_on_b.wait(), 10)
        assert [r.outstanding for r in pool.replicas] == [0, 1]
        assert not pool.replicas[0].healthy
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)
    assert [r.outstanding for r in pool.replicas] == [0, 0]
