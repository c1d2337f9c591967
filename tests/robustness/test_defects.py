"""Reproducers of defects found by attacking the server, each fixed and kept out here."""

from __future__ import annotations

import asyncio
import secrets
import tracemalloc
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete

from parley.backends.base import BackendEvent, GenerationRequest
from parley.backends.scripted import ScriptedBackend
from parley.errors import OverloadedError
from parley.storage.db import Database, upgrade
from parley.storage.tables import ApiKey
from parley.tenancy.keys import PREFIXES, KeyService
from tests.support import ADMIN_KEY, V1, raw_client

BODY = {"model": "scripted", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}


class Exploding(ScriptedBackend):
    """A backend with a bug: ``generate`` raises something Parley does not expect."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    async def generate(self, request: GenerationRequest) -> AsyncGenerator[BackendEvent, None]:
        raise self.error
        yield  # pragma: no cover - makes this an async generator


async def test_a_500_carries_the_request_id_and_organization_headers(scripted_app: Any) -> None:
    async with scripted_app(Exploding(RuntimeError("a bug"))) as app, raw_client(app) as client:
        response = await client.post("/v1/messages", headers=V1, json=BODY)
        me = await client.get(
            "/v1/organizations/me",
            headers={"x-api-key": ADMIN_KEY, "anthropic-version": "2023-06-01"},
        )
    assert response.status_code == 500
    body = response.json()
    assert body["error"]["type"] == "api_error" and "a bug" not in body["error"]["message"]
    assert response.headers["request-id"] == body["request_id"]
    assert response.headers["anthropic-organization-id"] == me.json()["id"]


async def test_529_says_when_to_retry(scripted_app: Any) -> None:
    overloaded = Exploding(OverloadedError("Overloaded"))
    async with scripted_app(overloaded) as app, raw_client(app) as client:
        response = await client.post("/v1/messages", headers=V1, json=BODY)
    assert response.status_code == 529
    assert response.json()["error"] == {"type": "overloaded_error", "message": "Overloaded"}
    assert int(response.headers["retry-after"]) >= 1


async def test_a_trailing_slash_is_404_not_a_redirect_to_the_callers_host(
    scripted_app: Any,
) -> None:
    async with scripted_app() as app, raw_client(app) as client:
        response = await client.get(
            "/v1/messages/batches/", headers={**V1, "host": "evil.example.com"}
        )
    assert response.status_code == 404
    assert "location" not in response.headers
    assert response.json()["error"]["type"] == "not_found_error"


@pytest.mark.parametrize("max_tokens", [10**30, 128_001])
async def test_max_tokens_beyond_any_model_is_refused(scripted_app: Any, max_tokens: int) -> None:
    async with scripted_app() as app, raw_client(app) as client:
        response = await client.post(
            "/v1/messages", headers=V1, json={**BODY, "max_tokens": max_tokens}
        )
        clamped = await client.post(
            "/v1/messages", headers=V1, json={**BODY, "max_tokens": 128_000}
        )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        f"max_tokens: {max_tokens} > 128000, which is the maximum allowed number of output "
        "tokens for scripted"
    )
    assert clamped.status_code == 200  # within any model's reach: clamped to this one's


async def _flood(keys: KeyService, count: int) -> None:
    for _ in range(count):
        made_up = PREFIXES["api"] + secrets.token_urlsafe(41)[:55]
        with pytest.raises(Exception, match="invalid x-api-key"):
            await keys.verify(made_up, admin=False)


def _held_by_the_cache() -> int:
    """Bytes still allocated by the key service and its cache (not by the test, the
    database driver or a coverage tracer, which share the process)."""
    files = [tracemalloc.Filter(True, "*/parley/tenancy/keys.py")]
    files.append(tracemalloc.Filter(True, "*/cachetools/*"))
    snapshot = tracemalloc.take_snapshot().filter_traces(files)
    return sum(stat.size for stat in snapshot.statistics("filename"))


async def test_a_flood_of_made_up_keys_stays_within_the_cache_bound(tmp_path: Path) -> None:
    """Each well-formed unknown key used to stay cached forever (100,000 keys, 18 MB)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'keys.db'}"
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    bound = 200
    keys = KeyService(db, cache_ttl=3600, cache_entries=bound)
    issued = await keys.create(kind="api", name="real", workspace_id=None, created_by=None)
    await keys.verify(issued.secret, admin=False)
    tracemalloc.start()
    before = _held_by_the_cache()
    await _flood(keys, 5 * bound)  # fills the cache to its bound
    full = _held_by_the_cache()
    await _flood(keys, 5 * bound)  # 1,000 more misses: an unbounded cache grows on
    after = _held_by_the_cache()
    tracemalloc.stop()
    assert keys.cached_entries <= 2 * bound
    assert full - before < 2 * bound * 1024, full - before  # under 1 KiB an entry
    # An unbounded cache grows by about 160 bytes per miss here (160 KB for 1,000).
    assert after - full < 16 * 1024, after - full
    # The real key was not pushed out by the flood: with its row gone from the database
    # it is still answered, from the cache.
    async with db.write() as session:
        await session.execute(delete(ApiKey))
    assert (await keys.verify(issued.secret, admin=False)).api_key_id == issued.record.id
    await db.aclose()
