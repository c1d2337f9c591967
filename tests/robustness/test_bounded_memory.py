"""Every cache and buffer a client can fill has a bound, and flooding it shows it holds.

(The key cache and its negative lookups are flooded in ``test_defects.py``, the
host-memory prompt cache in ``tests/e2e/test_ram_cache.py``.)
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from parley.errors import InvalidRequestError
from parley.messages import schemas
from tests.processes import free_port, parley_env, serve
from tests.support import ADMIN_KEY, API_KEY, V1, raw_client

ADMIN = {"x-api-key": ADMIN_KEY, "anthropic-version": "2023-06-01"}


def test_schema_verdicts_stay_within_their_bound() -> None:
    for i in range(schemas.CACHE_ENTRIES + 500):
        schemas.check_json_schema({"type": "object", "title": f"s{i}"}, "tools.0.input_schema")
    with pytest.raises(InvalidRequestError):
        schemas.check_json_schema({"type": 5}, "tools.0.input_schema")
    assert len(schemas._verdicts) <= schemas.CACHE_ENTRIES


async def test_limits_for_workspaces_that_do_not_exist_store_nothing(scripted_app: Any) -> None:
    """Limit overrides are cached whole; only real workspaces can add rows to them."""
    async with scripted_app() as app, raw_client(app) as http:
        for i in range(200):
            rate = await http.post(
                f"/v1/organizations/workspaces/wrkspc_fake{i}/rate_limits/rl_scripted",
                headers=ADMIN,
                json={"limits": [{"type": "requests_per_minute", "value": 5}]},
            )
            spend = await http.post(
                "/v1/organizations/spend_limits",
                headers=ADMIN,
                json={
                    "scope": {"type": "workspace", "workspace_id": f"wrkspc_fake{i}"},
                    "monthly_usd": 1,
                },
            )
            assert rate.status_code == spend.status_code == 404
        services = app.state.services
        assert await services.limits.overrides() == {}
        assert all(scope != "workspace" for scope, _ in await services.spend.limits())


def resident_mb(base: str) -> float:
    text = httpx.get(f"{base}/metrics", headers=ADMIN, timeout=30).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "process_resident_memory_bytes":
                return sample.value / 2**20
    raise AssertionError("no process_resident_memory_bytes")


@pytest.mark.live
@pytest.mark.slow
def test_unread_streams_and_a_large_upload_hold_bounded_memory(tmp_path: Path) -> None:
    """A client that opens streams and never reads them holds at most their max_tokens
    of events; a 200 MB upload is spooled to disk, not held in memory."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = parley_env(
        tmp_path,
        PARLEY_AUTH__BOOTSTRAP_API_KEY=API_KEY,
        PARLEY_AUTH__BOOTSTRAP_ADMIN_KEY=ADMIN_KEY,
    )
    server = serve(tmp_path, port, env)
    try:
        warm = httpx.post(
            f"{base}/v1/messages",
            headers=V1,
            json={
                "model": "smollm2-135m-instruct",
                "max_tokens": 8,
                "messages": [{"role": "user", "content": "Hi"}],
            },
            timeout=60,
        )
        assert warm.status_code == 200
        before = resident_mb(base)
        stalled = []
        for _ in range(6):
            client = httpx.Client(timeout=60)
            body = {
                "model": "smollm2-135m-instruct",
                "max_tokens": 1500,
                "stream": True,
                "messages": [
                    {"role": "user", "content": "Write a very long story about a dragon."}
                ],
            }
            stream = client.stream("POST", f"{base}/v1/messages", headers=V1, json=body)
            stream.__enter__()  # opened, never read
            stalled.append((client, stream))

        def upload() -> None:
            chunk = os.urandom(1 << 20).hex().encode()[: 1 << 20]

            def body() -> Any:
                yield (
                    b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n'
                    b"Content-Type: text/plain\r\n\r\n"
                )
                for _ in range(200):
                    yield chunk
                yield b"\r\n--b--\r\n"

            headers = {**V1, "content-type": "multipart/form-data; boundary=b"}
            done = httpx.post(f"{base}/v1/files", headers=headers, content=body(), timeout=300)
            assert done.status_code == 200, done.text

        thread = threading.Thread(target=upload)
        thread.start()
        peak = before
        while thread.is_alive():
            peak = max(peak, resident_mb(base))
            time.sleep(0.5)
        thread.join()
        time.sleep(5)  # the unread streams' generation runs on meanwhile
        peak = max(peak, resident_mb(base))
        for client, stream in stalled:
            stream.__exit__(None, None, None)
            client.close()
        # 200 MB went through; six streams' worth of unread events piled up.
        assert peak - before < 100, (before, peak)
    finally:
        server.terminate()
