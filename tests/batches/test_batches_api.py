"""Message Batches through the official SDK, worker in the app, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import anthropic
import pytest
from sqlalchemy import select

from parley.backends.base import Finished, GenerationRequest, TextChunk
from parley.backends.scripted import ScriptedBackend
from parley.storage.tables import BatchRequest
from tests.admin.test_admin_api import admin_get, admin_post, client_for, new_key
from tests.support import BASE_URL, V1, raw_client, sdk_client

FAST = {
    "server": {"public_base_url": BASE_URL, "ping_interval": 0.05},
    "batches": {"poll_interval": 0.02},
}


def request(custom_id: str, text: str = "one two", **params: Any) -> dict[str, Any]:
    body = {"model": "scripted", "max_tokens": 10, "messages": [{"role": "user", "content": text}]}
    return {"custom_id": custom_id, "params": {**body, **params}}


async def ended(client: anthropic.AsyncAnthropic, batch_id: str, within: float = 30) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        batch = await client.messages.batches.retrieve(batch_id)
        if batch.processing_status == "ended":
            return batch
        assert asyncio.get_running_loop().time() < deadline, batch
        await asyncio.sleep(0.05)


async def results_of(client: anthropic.AsyncAnthropic, batch_id: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    async for line in await client.messages.batches.results(batch_id):
        assert line.custom_id not in seen, "each custom_id exactly once"
        seen[line.custom_id] = line.result
    return seen


async def test_batch_end_to_end_with_the_sdk(stored_app: Any) -> None:
    async with stored_app(**FAST) as app:
        client = sdk_client(app)
        created = await client.messages.batches.create(
            requests=[  # type: ignore[list-item]
                request("ok-1"),
                request("ok-2", "three four five"),
                request("bad-stream", stream=True),
                request("bad-model", model="nope"),
                {"custom_id": "bad-params", "params": {"model": "scripted", "messages": []}},
            ]
        )
        assert created.id.startswith("msgbatch_") and created.processing_status == "in_progress"
        assert created.request_counts.processing == 5 and created.results_url is None
        assert created.expires_at - created.created_at == timedelta(hours=24)
        batch = await ended(client, created.id)
        counts = batch.request_counts
        assert (counts.succeeded, counts.errored, counts.processing) == (2, 3, 0)
        assert batch.results_url == f"{BASE_URL}/v1/messages/batches/{created.id}/results"
        assert batch.ended_at is not None
        results = await results_of(client, created.id)
    assert set(results) == {"ok-1", "ok-2", "bad-stream", "bad-model", "bad-params"}
    message = results["ok-2"].message
    assert message.content[0].text == "three four five"
    assert message.usage.service_tier == "batch"
    assert results["bad-stream"].error.error.type == "invalid_request_error"
    assert results["bad-model"].error.error.type == "not_found_error"
    assert results["bad-params"].error.error.message.startswith("max_tokens: Field required")


async def test_the_last_result_ends_the_batch(stored_app: Any) -> None:
    """The request that writes a batch's last result ends it in the same transaction
    (``ended_at`` is that result's ``finished_at``), not the next housekeeping pass,
    which runs only once a second and would leave its clients polling."""
    async with stored_app(**FAST) as app:
        client = sdk_client(app)
        created = await client.messages.batches.create(
            requests=[request(f"r-{n}") for n in range(3)]  # type: ignore[misc]
        )
        batch = await ended(client, created.id)
        async with app.state.services.batches.db.read() as session:
            finished = await session.scalars(
                select(BatchRequest.finished_at).where(BatchRequest.batch_id == created.id)
            )
            last = max(finished.all())
    assert batch.ended_at.replace(tzinfo=None) == last.replace(tzinfo=None)


async def test_list_delete_and_workspace_isolation(stored_app: Any) -> None:
    async with stored_app(**FAST) as app:
        client = sdk_client(app)
        first = await client.messages.batches.create(requests=[request("a")])  # type: ignore[list-item]
        second = await client.messages.batches.create(requests=[request("b")])  # type: ignore[list-item]
        listed = await client.messages.batches.list(limit=1)
        assert [b.id for b in listed.data] == [second.id] and listed.has_more
        assert [b.id async for b in await client.messages.batches.list(limit=1)] == [
            second.id,
            first.id,
        ]
        await ended(client, second.id)
        workspace = (await admin_post(app, "/workspaces", {"name": "other"})).json()
        other = client_for(app, (await new_key(app, workspace["id"]))["api_key"])
        for call in (
            other.messages.batches.retrieve,
            other.messages.batches.cancel,
            other.messages.batches.delete,
        ):
            with pytest.raises(anthropic.NotFoundError):
                await call(second.id)
        assert (await other.messages.batches.list()).data == []
        deleted = await client.messages.batches.delete(second.id)
        assert deleted.type == "message_batch_deleted"
        with pytest.raises(anthropic.NotFoundError):
            await client.messages.batches.retrieve(second.id)


def slow(_: GenerationRequest) -> list[Any]:
    return [TextChunk("done"), Finished("end_turn", 1)]


async def test_cancel_mid_run_never_runs_canceled_requests(stored_app: Any) -> None:
    backend = ScriptedBackend(slow, delay=0.2)
    fast = {**FAST, "batches": {"poll_interval": 0.02, "concurrency": 1}}
    async with stored_app(backend, **fast) as app:
        client = sdk_client(app)
        created = await client.messages.batches.create(
            requests=[request(f"r{i}") for i in range(20)]  # type: ignore[misc]
        )
        deadline = asyncio.get_running_loop().time() + 30
        while not backend.completed:
            assert asyncio.get_running_loop().time() < deadline, "no request completed"
            await asyncio.sleep(0.02)
        with pytest.raises(anthropic.BadRequestError):
            await client.messages.batches.delete(created.id)  # not ended yet
        canceling = await client.messages.batches.cancel(created.id)
        assert canceling.processing_status in ("canceling", "ended")
        assert canceling.cancel_initiated_at is not None
        batch = await ended(client, created.id)
        results = await results_of(client, created.id)
        ran = len(backend.requests)
        await asyncio.sleep(0.5)
        assert len(backend.requests) == ran, "a canceled request ran after the cancel"
    counts = batch.request_counts
    assert counts.canceled > 0 and counts.succeeded + counts.canceled == 20
    assert sum(r.type == "canceled" for r in results.values()) == counts.canceled
    assert sum(r.type == "succeeded" for r in results.values()) == counts.succeeded == ran


async def test_expiry_with_a_short_window(stored_app: Any) -> None:
    backend = ScriptedBackend(slow, delay=0.3)
    short = {**FAST, "batches": {"poll_interval": 0.02, "concurrency": 1, "expiry_hours": 1 / 3600}}
    async with stored_app(backend, **short) as app:
        client = sdk_client(app)
        created = await client.messages.batches.create(
            requests=[request(f"r{i}") for i in range(10)]  # type: ignore[misc]
        )
        batch = await ended(client, created.id)
        results = await results_of(client, created.id)
    assert batch.request_counts.expired > 0
    assert batch.request_counts.succeeded + batch.request_counts.expired == 10
    assert {r.type for r in results.values()} <= {"succeeded", "expired"}


async def test_whole_batch_rejections(stored_app: Any) -> None:
    async with stored_app(**FAST) as app, raw_client(app) as http:
        for body, needle in (
            ({"requests": []}, "requests: List should have at least 1 item"),
            (
                {"requests": [request("a"), request("a")]},
                "requests.1.custom_id: duplicate custom_id `a`",
            ),
            (
                {"requests": [request("has space")]},
                "requests.0.custom_id: String should match pattern",
            ),
            (
                {"requests": [{"custom_id": "x", "params": "no"}]},
                "requests.0.params: Input should be",
            ),
        ):
            response = await http.post("/v1/messages/batches", headers=V1, json=body)
            assert response.status_code == 400, body
            assert response.json()["error"]["message"].startswith(needle), response.json()


async def test_batch_queue_limit(stored_app: Any) -> None:
    limits = {"tier": "t", "tiers": {"t": {"batch_queue_limit": 3}}}
    async with stored_app(ScriptedBackend(slow, delay=0.5), rate_limits=limits, **FAST) as app:
        client = sdk_client(app)
        await client.messages.batches.create(requests=[request(f"a{i}") for i in range(3)])  # type: ignore[misc]
        with pytest.raises(anthropic.RateLimitError):
            await client.messages.batches.create(requests=[request("b")])  # type: ignore[list-item]


async def test_batch_usage_is_billed_at_half_price(stored_app: Any) -> None:
    priced = [{"id": "scripted", "backend": "scripted", "pricing": {"input": 3.0, "output": 15.0}}]
    async with stored_app(ScriptedBackend(slow), models=priced, **FAST) as app:
        client = sdk_client(app)
        created = await client.messages.batches.create(requests=[request("a", "a b c d")])  # type: ignore[list-item]
        await ended(client, created.id)
        since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        usage = (
            await admin_get(
                app, "/usage_report/messages", starting_at=since, **{"group_by[]": "service_tier"}
            )
        ).json()
        cost = (await admin_get(app, "/cost_report", starting_at=since)).json()
    rows = [r for b in usage["data"] for r in b["results"]]
    assert [(r["service_tier"], r["uncached_input_tokens"], r["output_tokens"]) for r in rows] == [
        ("batch", 5, 1)
    ]
    # (5 x $3 + 1 x $15) / 1M = $0.00003 = 0.003 cents; half for batch.
    assert [r["amount"] for b in cost["data"] for r in b["results"]] == ["0.0015"]


async def test_results_are_archived_after_retention(stored_app: Any) -> None:
    fast = {**FAST, "batches": {"poll_interval": 0.02, "retention_days": 1 / 86400}}
    async with stored_app(**fast) as app:
        client = sdk_client(app)
        created = await client.messages.batches.create(requests=[request("a")])  # type: ignore[list-item]
        batch = await ended(client, created.id)
        while batch.archived_at is None:
            await asyncio.sleep(0.05)
            batch = await client.messages.batches.retrieve(created.id)
        with pytest.raises(anthropic.NotFoundError):
            await client.messages.batches.results(created.id)
    assert batch.processing_status == "ended"
