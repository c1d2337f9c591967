"""Priority Tier with the scripted model: committed capacity set through the Admin API,
``service_tier`` honoured, fallback beyond the commitment, the ``anthropic-priority-*``
headers, and usage reported as ``priority`` or ``standard``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from parley.backends.base import Finished, GenerationRequest, TextChunk
from parley.backends.scripted import ScriptedBackend
from tests.admin.test_admin_api import admin_get, admin_post, client_for, new_key
from tests.batches.test_batches_api import ended, results_of
from tests.support import ADMIN_KEY, sdk_client

USER = [{"role": "user", "content": "a b c"}]  # 4 input tokens


def short(_: GenerationRequest) -> list[Any]:
    return [TextChunk("ok"), Finished("end_turn", 2)]


def spend_all(request: GenerationRequest) -> list[Any]:
    """Writes all of ``max_tokens``, so nothing reserved is given back."""
    return [TextChunk("ok"), Finished("max_tokens", request.max_tokens)]


async def commit(app: Any, workspace_id: str, itpm: int, otpm: int) -> Any:
    return await admin_post(
        app,
        "/priority_capacity",
        {
            "scope": {"type": "workspace", "workspace_id": workspace_id},
            "input_tokens_per_minute": itpm,
            "output_tokens_per_minute": otpm,
        },
    )


async def test_priority_within_the_commitment_then_standard(stored_app: Any) -> None:
    backend = ScriptedBackend(spend_all)
    async with stored_app(backend) as app:
        ws = (await admin_post(app, "/workspaces", {"name": "prod"})).json()["id"]
        set_ = await commit(app, ws, 1000, 30)
        assert set_.status_code == 200, set_.text
        assert set_.json()["output_tokens_per_minute"] == 30
        client = client_for(app, (await new_key(app, ws))["api_key"])

        first = await client.messages.with_raw_response.create(
            model="scripted", max_tokens=20, messages=USER
        )
        message = await first.parse()
        assert message.usage.service_tier == "priority"
        assert backend.requests[-1].priority == "priority"  # the backend queues it first
        assert first.headers["anthropic-priority-output-tokens-limit"] == "30"
        assert first.headers["anthropic-priority-output-tokens-remaining"] == "10"
        assert first.headers["anthropic-priority-input-tokens-remaining"] == "996"

        standard_only = await client.messages.with_raw_response.create(
            model="scripted", max_tokens=10, messages=USER, service_tier="standard_only"
        )
        assert (await standard_only.parse()).usage.service_tier == "standard"
        assert "anthropic-priority-output-tokens-limit" not in standard_only.headers
        assert backend.requests[-1].priority == "interactive"

        # About 10 left (30 a minute refill half a token a second): 25 do not fit for
        # the next 30 seconds, so this one is served at standard.
        over = await client.messages.with_raw_response.create(
            model="scripted", max_tokens=25, messages=USER
        )
        assert (await over.parse()).usage.service_tier == "standard"
        assert int(over.headers["anthropic-priority-output-tokens-remaining"]) < 25

        other = await sdk_client(app).messages.with_raw_response.create(
            model="scripted", max_tokens=10, messages=USER
        )
        assert (await other.parse()).usage.service_tier == "standard"
        assert "anthropic-priority-input-tokens-limit" not in other.headers

        since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        report = (
            await admin_get(
                app, "/usage_report/messages", starting_at=since, **{"group_by[]": "service_tier"}
            )
        ).json()
        analytics = sdk_client(app).with_options(api_key=ADMIN_KEY).beta.organization.analytics
        priority_only = [
            r.usage.requests
            async for r in analytics.usage.list(
                starting_at=datetime.now(UTC) - timedelta(hours=1), service_tiers=["priority"]
            )
        ]
    tiers = {r["service_tier"]: r["output_tokens"] for b in report["data"] for r in b["results"]}
    assert tiers == {"priority": 20, "standard": 10 + 25 + 10}
    assert priority_only == [1]


async def test_organization_commitment_and_removal(stored_app: Any) -> None:
    async with stored_app(ScriptedBackend(short)) as app:
        org = await admin_post(
            app,
            "/priority_capacity",
            {
                "scope": {"type": "organization"},
                "input_tokens_per_minute": 100,
                "output_tokens_per_minute": 100,
            },
        )
        assert org.json()["scope"] == {"type": "organization"}
        message = await sdk_client(app).messages.create(
            model="scripted", max_tokens=10, messages=USER
        )
        assert message.usage.service_tier == "priority"
        listed = (await admin_get(app, "/priority_capacity")).json()["data"]
        assert [c["scope"]["type"] for c in listed] == ["organization"]
        await admin_post(
            app,
            "/priority_capacity",
            {
                "scope": {"type": "organization"},
                "input_tokens_per_minute": 0,
                "output_tokens_per_minute": 0,
            },
        )
        assert (await admin_get(app, "/priority_capacity")).json()["data"] == []
        message = await sdk_client(app).messages.create(
            model="scripted", max_tokens=10, messages=USER
        )
        assert message.usage.service_tier == "standard"
        bad = await admin_post(
            app,
            "/priority_capacity",
            {
                "scope": {"type": "workspace", "workspace_id": "wrkspc_nope"},
                "input_tokens_per_minute": 1,
                "output_tokens_per_minute": 1,
            },
        )
        assert bad.status_code == 404


async def test_batch_work_never_uses_priority(stored_app: Any) -> None:
    backend = ScriptedBackend(short)
    async with stored_app(backend, batches={"poll_interval": 0.05}) as app:
        await admin_post(
            app,
            "/priority_capacity",
            {
                "scope": {"type": "organization"},
                "input_tokens_per_minute": 1000,
                "output_tokens_per_minute": 1000,
            },
        )
        client = sdk_client(app)
        batch = await client.messages.batches.create(
            requests=[
                {
                    "custom_id": "one",
                    "params": {"model": "scripted", "max_tokens": 5, "messages": USER},
                }
            ]
        )
        await ended(client, batch.id)
        results = await results_of(client, batch.id)
    assert results["one"].type == "succeeded"
    assert results["one"].message.usage.service_tier == "batch"
    assert backend.requests[-1].priority == "batch"
