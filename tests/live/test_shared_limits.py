"""Two real ``parley serve`` processes behind one address space: one limit through the
real Redis, and one organization in the real PostgreSQL (SQLite when none runs),
each process with its own data directory, as a horizontal deployment has them."""

from __future__ import annotations

import asyncio
import json
import math
import time
from pathlib import Path

import anthropic
import httpx
import pytest
import redis

from tests.processes import free_port, parley_env, serve
from tests.support import API_KEY, fresh_postgres_database, postgres_unavailable

pytestmark = [pytest.mark.live, pytest.mark.slow, pytest.mark.redis]
# A small bucket that refills slowly (one request per 10 s): the burst that empties it is
# a handful of requests, however slow a busy machine answers them, and the refill during
# the burst stays far below what separate buckets per process would add.
CAPACITY = 6
REFILL_S = 60 / CAPACITY
LIMITS = {
    "store": "redis",
    "redis_url": "redis://127.0.0.1:6379/0",
    "tier": "test",
    "tiers": {"test": {"default": {"requests_per_minute": CAPACITY}}},
}


def redis_unavailable() -> str | None:
    try:
        redis.Redis.from_url(LIMITS["redis_url"]).ping()  # type: ignore[arg-type]
    except redis.RedisError as exc:
        return f"Redis is not reachable at 127.0.0.1:6379 ({exc})"
    return None


def timed_ask(port: int) -> tuple[httpx.Response, float, float]:
    """The answer, with the monotonic times the request was sent and answered."""
    sent = time.monotonic()
    response = ask(port)
    return response, sent, time.monotonic()


def ask(port: int) -> httpx.Response:
    return httpx.post(
        f"http://127.0.0.1:{port}/v1/messages",
        headers={"x-api-key": API_KEY, "anthropic-version": "2023-06-01"},
        json={
            "model": "smollm2-135m-instruct",
            "max_tokens": 1,
            "messages": [{"role": "user", "content": "Hi"}],
        },
        timeout=60,
    )


def burst_until_refused(ports: list[int]) -> list[tuple[httpx.Response, float, float]]:
    """Requests alternating between the processes until one is refused (at most 40).

    Sent until the refusal rather than a fixed count, so a slow machine, where the
    bucket refills more during the burst, still ends in a 429 instead of none.
    """
    timed: list[tuple[httpx.Response, float, float]] = []
    while len(timed) < 40 and (not timed or timed[-1][0].status_code != 429):
        timed.append(timed_ask(ports[len(timed) % 2]))
    return timed


@pytest.mark.timeout(600)  # two model processes to start on a possibly busy machine
def test_one_limit_across_two_processes(tmp_path: Path) -> None:
    reason = redis_unavailable()
    if reason:
        pytest.skip(reason)

    async def with_database() -> None:
        if await postgres_unavailable():
            await asyncio.to_thread(
                two_processes, tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
            )
            return
        async with fresh_postgres_database() as url:
            await asyncio.to_thread(two_processes, tmp_path, url)

    asyncio.run(with_database())


def two_processes(tmp_path: Path, database_url: str) -> None:
    ports = [free_port(), free_port()]
    processes = []
    for i, port in enumerate(ports):
        data_dir = tmp_path / f"node{i}"
        env = parley_env(
            data_dir,
            PARLEY_RATE_LIMITS=json.dumps(LIMITS),
            PARLEY_AUTH__BOOTSTRAP_API_KEY=API_KEY,
            PARLEY_DATABASE__URL=database_url,
        )
        processes.append(serve(data_dir, port, env))
    try:
        started = time.monotonic()
        timed = burst_until_refused(ports)
        elapsed = time.monotonic() - started
        burst = [response for response, _, _ in timed]
        codes = [r.status_code for r in burst]
        logs = "\n".join(process.log()[-3000:] for process in processes)
        assert codes[-1] == 429, f"no 429 in {codes} over {elapsed:.0f} s:\n{logs}"
        # Separate buckets would let twice the capacity through before refusing (one
        # bucket per process); one shared bucket allows its capacity plus what refilled
        # during the burst (one per REFILL_S).
        assert CAPACITY <= codes.count(200) <= CAPACITY + elapsed / REFILL_S + 1, (
            codes,
            elapsed,
        )
        # One count-down, whichever process answered: after k requests one bucket holds
        # CAPACITY - k plus what refilled since the first. Two buckets would show each
        # value twice (5, 5, 4, 4, ...), above that unless the burst took REFILL_S.
        remaining = [
            int(r.headers["anthropic-ratelimit-requests-remaining"]) for r in burst[:CAPACITY]
        ]
        for k, left in enumerate(remaining, start=1):
            refilled = math.floor((timed[k - 1][2] - timed[0][1]) / REFILL_S)
            assert CAPACITY - k <= left <= CAPACITY - k + refilled, (remaining, k, refilled)
        assert 1 <= int(burst[-1].headers["retry-after"]) <= REFILL_S
        client = anthropic.Anthropic(
            api_key=API_KEY, base_url=f"http://127.0.0.1:{ports[1]}", max_retries=4
        )
        for _ in range(2):  # the SDK waits as retry-after says, then succeeds
            message = client.messages.create(
                model="smollm2-135m-instruct",
                max_tokens=1,
                messages=[{"role": "user", "content": "Hi"}],
            )
            assert message.usage.output_tokens == 1
    finally:
        for process in processes:
            process.terminate()
