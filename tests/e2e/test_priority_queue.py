"""Priority Tier on the bundled model: a priority request queued behind a full standard
queue is served before every standard request that waited there.

Nothing here depends on timing. One slot; a standard request whose decoding grammar
makes it write at least 600 tokens holds it while the test queues three standard
requests, then one from a workspace with Priority Tier capacity, and reads the model's
queue depth from ``/metrics`` to know each is waiting. Then the test closes the first
request's stream (a client that goes away frees the slot) and records in which order
the waiting requests start (their ``message_start``, sent when the model takes them).
A real socket is used: only a real server lets the client leave mid-stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from parley.app import create_app
from parley.config import BUNDLED_MODEL_ID
from tests.support import ADMIN_KEY, API_KEY, ServerThread, make_settings

pytestmark = pytest.mark.slow
ADMIN = {"x-api-key": ADMIN_KEY, "anthropic-version": "2023-06-01"}
LONG = {
    "type": "json_schema",
    "schema": {
        "type": "object",
        "properties": {"n": {"type": "array", "items": {"type": "integer"}, "minItems": 600}},
        "required": ["n"],
    },
}


async def queued(http: httpx.AsyncClient, at_least: int) -> None:
    """Until the model's queue holds ``at_least`` requests (read from /metrics)."""
    while True:
        text = (await http.get("/metrics", headers=ADMIN)).text
        for line in text.splitlines():
            if line.startswith("parley_queue_depth{") and float(line.split()[-1]) >= at_least:
                return
        await asyncio.sleep(0.05)


async def stream(
    http: httpx.AsyncClient,
    key: str,
    name: str,
    starts: list[str],
    tiers: dict[str, str],
    **body: Any,
) -> None:
    """One streamed request; appends ``name`` to ``starts`` at its message_start."""
    payload = {
        "model": BUNDLED_MODEL_ID,
        "max_tokens": 4,
        "messages": [{"role": "user", "content": f"Say hello to {name}."}],
        "stream": True,
        **body,
    }
    headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
    async with http.stream("POST", "/v1/messages", headers=headers, json=payload) as response:
        assert response.status_code == 200, await response.aread()
        async for line in response.aiter_lines():
            if line.startswith("data:") and '"message_start"' in line:
                starts.append(name)
                tiers[name] = json.loads(line[5:])["message"]["usage"]["service_tier"]


@pytest.mark.timeout(600)
def test_priority_overtakes_a_full_standard_queue(tmp_path: Path) -> None:
    model = {"id": BUNDLED_MODEL_ID, "options": {"slots": 1, "ctx_per_slot": 4096}}
    app = create_app(make_settings(tmp_path, models=[model]))
    with ServerThread(app) as server:
        asyncio.run(scenario(server.base_url))


async def scenario(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=300) as http:
        workspace = (
            await http.post("/v1/organizations/workspaces", headers=ADMIN, json={"name": "prio"})
        ).json()["id"]
        await http.post(
            "/v1/organizations/priority_capacity",
            headers=ADMIN,
            json={
                "scope": {"type": "workspace", "workspace_id": workspace},
                "input_tokens_per_minute": 100_000,
                "output_tokens_per_minute": 100_000,
            },
        )
        created = await http.post(
            "/v1/organizations/api_keys",
            headers=ADMIN,
            json={"name": "prio", "workspace_id": workspace},
        )
        priority_key = created.json()["api_key"]
        starts: list[str] = []
        tiers: dict[str, str] = {}
        blocker = asyncio.create_task(
            stream(
                http,
                API_KEY,
                "blocker",
                starts,
                tiers,
                max_tokens=3000,
                output_config={"format": LONG},
            )
        )
        while "blocker" not in starts:  # noqa: ASYNC110 - the blocker's own task appends
            await asyncio.sleep(0.05)
        waiting = []
        for i, name in enumerate(["s1", "s2", "s3"], start=1):
            waiting.append(asyncio.create_task(stream(http, API_KEY, name, starts, tiers)))
            await queued(http, i)
        waiting.append(asyncio.create_task(stream(http, priority_key, "priority", starts, tiers)))
        await queued(http, 4)
        assert not blocker.done(), "the blocker ended before the queue was full"
        blocker.cancel()  # the client goes away: the slot frees up
        with contextlib.suppress(asyncio.CancelledError):
            await blocker
        await asyncio.gather(*waiting)
    assert starts == ["blocker", "priority", "s1", "s2", "s3"]
    assert tiers == {
        "blocker": "standard",
        "priority": "priority",
        "s1": "standard",
        "s2": "standard",
        "s3": "standard",
    }
