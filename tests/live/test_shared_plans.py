"""Plans across processes: two real ``parley serve`` processes on one PostgreSQL (SQLite
when none runs) and one Redis. A tier move, a spend limit and a Priority Tier
commitment made through one process apply in the other at once.

The second process caches limits, tiers and commitments for an hour and sums spend
once an hour (``override_cache_ttl``, ``refresh_seconds``), so only the change bus
(Redis pub/sub) can make it see the changes; the test waits for each to arrive (a
deadline, not a timing assertion)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest

from parley.config import BUNDLED_MODEL_ID
from tests.live.test_shared_limits import redis_unavailable
from tests.processes import free_port, parley_env, serve
from tests.support import ADMIN_KEY, API_KEY, fresh_postgres_database, postgres_unavailable

pytestmark = [pytest.mark.live, pytest.mark.slow, pytest.mark.redis]
LIMITS = {
    "store": "redis",
    "redis_url": "redis://127.0.0.1:6379/0",
    "tier": "small",
    "ladder": ["small", "large"],
    "tiers": {
        "small": {"default": {"requests_per_minute": 50}},
        "large": {"default": {"requests_per_minute": 500}, "advance_at_usd": 0.000001},
    },
    "override_cache_ttl": 3600,
}
MODELS = [{"id": BUNDLED_MODEL_ID, "pricing": {"input": 1000.0, "output": 1000.0}}]


def ask(port: int, key: str = API_KEY) -> httpx.Response:
    return httpx.post(
        f"http://127.0.0.1:{port}/v1/messages",
        headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
        json={
            "model": BUNDLED_MODEL_ID,
            "max_tokens": 1,
            "messages": [{"role": "user", "content": "Hi"}],
        },
        timeout=60,
    )


def until(check: Callable[[], Any], what: str, within: float = 60) -> Any:
    deadline = time.monotonic() + within
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"never saw: {what}"
        time.sleep(0.2)


@pytest.mark.timeout(600)
def test_changes_made_through_one_process_apply_in_the_other(tmp_path: Path) -> None:
    reason = redis_unavailable()
    if reason:
        pytest.skip(reason)

    async def with_database() -> None:
        if await postgres_unavailable():
            url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
            await asyncio.to_thread(two_processes, tmp_path, url)
            return
        async with fresh_postgres_database() as url:
            await asyncio.to_thread(two_processes, tmp_path, url)

    asyncio.run(with_database())


def two_processes(tmp_path: Path, database_url: str) -> None:
    ports = [free_port(), free_port()]
    processes = []
    for i, (port, refresh) in enumerate(zip(ports, ("0", "3600"), strict=True)):
        env = parley_env(
            tmp_path / f"node{i}",
            PARLEY_RATE_LIMITS=json.dumps(LIMITS),
            PARLEY_MODELS=json.dumps(MODELS),
            PARLEY_SPEND_LIMITS__REFRESH_SECONDS=refresh,
            PARLEY_AUTH__BOOTSTRAP_API_KEY=API_KEY,
            PARLEY_AUTH__BOOTSTRAP_ADMIN_KEY=ADMIN_KEY,
            PARLEY_DATABASE__URL=database_url,
        )
        processes.append(serve(tmp_path / f"node{i}", port, env))
    try:
        scenario(*ports)
    finally:
        for process in processes:
            process.terminate()


def scenario(a: int, b: int) -> None:
    with admin(a) as admin_a, admin(b) as admin_b:
        changes(a, b, admin_a, admin_b)


def admin(port: int) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        api_key=ADMIN_KEY, base_url=f"http://127.0.0.1:{port}", max_retries=0
    )


def changes(a: int, b: int, admin_a: anthropic.Anthropic, admin_b: anthropic.Anthropic) -> None:
    # B reads the small tier now and keeps it cached for an hour.
    assert ask(b).headers["anthropic-ratelimit-requests-limit"] == "50"
    ask(a)
    # A's next admission finds its own first request's spend (it flushes its usage
    # first) over the threshold, and moves the organization.
    assert ask(a).headers["anthropic-ratelimit-requests-limit"] == "500"
    until(
        lambda: ask(b).headers["anthropic-ratelimit-requests-limit"] == "500",
        "the large tier's limits on the other process",
    )
    tier = httpx.get(
        f"http://127.0.0.1:{b}/v1/organizations/usage_tier",
        headers={"x-api-key": ADMIN_KEY, "anthropic-version": "2023-06-01"},
    ).json()
    assert [m["to_tier"] for m in tier["history"]] == ["large"]  # recorded once

    # A spend limit of 0 cents set through A stops requests on B, and its removal frees them.
    zero = admin_a.beta.organization.spend_limits.set(amount="0", scope={"type": "organization"})
    until(lambda: ask(b).status_code == 400, "the spend limit on the other process")
    assert [s.id for s in admin_b.beta.organization.spend_limits.list()] == [zero.id]
    admin_a.beta.organization.spend_limits.delete(zero.id)
    until(lambda: ask(b).status_code == 200, "the spend limit's removal on the other process")

    # A workspace with Priority Tier capacity, made on A, is served at priority on B.
    workspace = admin_a.organization.workspaces.create(name="prio")
    key = admin_a.post(
        "/v1/organizations/api_keys",
        body={"name": "prio", "workspace_id": workspace.id},
        cast_to=dict[str, Any],
    )["api_key"]
    assert ask(b, key).json()["usage"]["service_tier"] == "standard"
    admin_a.post(
        "/v1/organizations/priority_capacity",
        body={
            "scope": {"type": "workspace", "workspace_id": workspace.id},
            "input_tokens_per_minute": 100_000,
            "output_tokens_per_minute": 100_000,
        },
        cast_to=dict[str, Any],
    )
    served = until(
        lambda: (r := ask(b, key)).json()["usage"]["service_tier"] == "priority" and r,
        "priority service on the other process",
    )
    assert served.headers["anthropic-priority-output-tokens-limit"] == "100000"
    assert [w.id for w in admin_b.organization.workspaces.list()] == [workspace.id]
