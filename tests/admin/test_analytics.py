"""Usage and cost as the SDK's analytics resources read them (strict SDK 2.15 models),
on SQLite and PostgreSQL, and the README's report examples returning what was just
used."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anthropic
import pytest
from fastapi import FastAPI

from parley.app import create_app
from parley.backends.base import Finished, GenerationRequest, TextChunk
from parley.backends.scripted import ScriptedBackend
from tests.admin.test_admin_api import admin_get, client_for, new_key
from tests.support import ADMIN_KEY, make_settings, running, sdk_client

# Three input tokens ("<user> a b") and 7 output tokens per request.
USER = [{"role": "user", "content": "a b"}]
MODELS = [
    {"id": "alpha", "backend": "scripted", "pricing": {"input": 3.0, "output": 15.0}},
    {"id": "beta", "backend": "scripted", "pricing": {"input": 1.0, "output": 5.0}},
]


def fixed(_: GenerationRequest) -> list[Any]:
    return [TextChunk("ok"), Finished("end_turn", 7)]


@pytest.fixture
def two_models(tmp_path: Path, database_url: str) -> Callable[[], Any]:
    @asynccontextmanager
    async def factory() -> AsyncIterator[FastAPI]:
        settings = make_settings(tmp_path, database={"url": database_url}, models=MODELS)
        backends = {"alpha": ScriptedBackend(fixed), "beta": ScriptedBackend(fixed)}
        async with running(create_app(settings, backends=backends)) as app:
            yield app

    return factory


async def traffic(app: Any) -> str:
    """2 requests to alpha in a new workspace, 1 to beta in the default one."""
    ws = (await admin(app).organization.workspaces.create(name="research")).id
    client = client_for(app, (await new_key(app, ws))["api_key"])
    for _ in range(2):
        await client.messages.create(model="alpha", max_tokens=20, messages=USER)
    await sdk_client(app).messages.create(model="beta", max_tokens=20, messages=USER)
    return ws


def admin(app: Any) -> anthropic.AsyncAnthropic:
    return sdk_client(app).with_options(api_key=ADMIN_KEY)


def week_ago() -> datetime:
    return datetime.now(UTC) - timedelta(days=7)


async def test_usage_and_cost_by_model_and_workspace(two_models: Any) -> None:
    async with two_models() as app:
        ws = await traffic(app)
        default = app.state.services.organization.default_workspace_id
        analytics = admin(app).beta.organization.analytics
        rows = [
            r
            async for r in analytics.usage.list(
                starting_at=week_ago(), group_by=["model", "workspace_id"]
            )
        ]
        seen = {(r.group.model, r.group.workspace_id): r.usage for r in rows}
        assert set(seen) == {("alpha", ws), ("beta", default)}  # the default workspace by id
        alpha = seen[("alpha", ws)]
        assert (alpha.uncached_input_tokens, alpha.output_tokens, alpha.requests) == (6, 14, 2)
        assert alpha.total_tokens == 20 and rows[0].group.model == "alpha"  # biggest first
        assert all(r.group.api_key_id is None for r in rows)  # not grouped by it

        costs = {
            r.group.model: r.cost
            async for r in analytics.cost.list(starting_at=week_ago(), group_by=["model"])
        }
        # alpha: 6 x $3/M + 14 x $15/M = $0.000228; beta: 3 x $1/M + 7 x $5/M = $0.000038
        assert (costs["alpha"].amount, costs["beta"].amount) == ("0.0228", "0.0038")
        assert costs["alpha"].currency == "USD" and costs["alpha"].requests == 2
        lines = [
            r
            async for r in analytics.cost.list(
                starting_at=week_ago(), group_by=["model", "token_type"], models=["alpha"]
            )
        ]
        by_type = {r.group.token_type: r.cost.amount for r in lines}
        assert by_type["output_tokens"] == "0.021" and by_type["uncached_input_tokens"] == "0.0018"
        assert all(r.group.cost_type == "tokens" and r.cost.requests is None for r in lines)


async def test_buckets_filters_and_pages(two_models: Any) -> None:
    async with two_models() as app:
        ws = await traffic(app)
        analytics = admin(app).beta.organization.analytics
        now = datetime.now(UTC)
        hourly = analytics.usage.list(
            starting_at=now - timedelta(hours=3),
            ending_at=now + timedelta(hours=1),
            time_bucket_width="1h",
            group_by=["workspace_id"],
            limit=1,
        )
        first = await hourly
        assert len(first.data) == 1 and first.has_more and first.next_page
        rows = [r async for r in first]  # the SDK follows next_page
        assert sorted(r.group.workspace_id or "" for r in rows) == sorted(
            [ws, app.state.services.organization.default_workspace_id]
        )
        assert all(r.ending_at - r.starting_at == timedelta(hours=1) for r in rows)
        standard = [
            r.usage.requests
            async for r in analytics.usage.list(
                starting_at=week_ago(), service_tiers=["standard"], workspace_ids=[ws]
            )
        ]
        assert standard == [2]
        nothing = [r async for r in analytics.usage.list(starting_at=week_ago(), agent_ids=["x"])]
        assert nothing == []  # Parley records no agent sessions

        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        buckets = [b async for b in analytics.usage_report.list(starting_at=today)]
        assert sum(r.requests or 0 for b in buckets for r in b.results) == 3
        per_model = [
            b async for b in analytics.cost_report.list(starting_at=today, group_by=["model"])
        ]
        amounts = {r.model: r.amount for b in per_model for r in b.results}
        assert amounts == {"alpha": "0.0228", "beta": "0.0038"}


async def test_analytics_parameter_errors(stored_app: Any) -> None:
    async with stored_app() as app:
        analytics = admin(app).beta.organization.analytics
        with pytest.raises(anthropic.BadRequestError) as unknown:
            await analytics.usage.list(starting_at=week_ago(), group_by=["colour"])  # type: ignore[list-item]
        assert "group_by" in unknown.value.body["error"]["message"]
        with pytest.raises(anthropic.BadRequestError) as width:
            await analytics.usage.list(starting_at=week_ago(), time_bucket_width="1h")
        assert "ending_at" in width.value.body["error"]["message"]
        with pytest.raises(anthropic.BadRequestError):  # more than 31 days
            await analytics.cost.list(
                starting_at=datetime.now(UTC) - timedelta(days=40), ending_at=datetime.now(UTC)
            )
        with pytest.raises(anthropic.BadRequestError):
            await analytics.usage.list(starting_at=week_ago(), page="not-a-page")


async def test_readme_usage_report_example_returns_todays_requests(two_models: Any) -> None:
    async with two_models() as app:
        await traffic(app)
        today = datetime.now(UTC).strftime("%Y-%m-%dT00:00:00Z")  # as the README's curl
        report = (
            await admin_get(
                app,
                "/usage_report/messages",
                starting_at=today,
                **{"group_by[]": ["workspace_id", "model"]},
            )
        ).json()
        cost = (
            await admin_get(app, "/cost_report", starting_at=today, **{"group_by[]": "description"})
        ).json()
    assert report["has_more"] is False and len(report["data"]) == 1
    rows = report["data"][0]["results"]
    assert sorted(r["output_tokens"] for r in rows) == [7, 14]
    # The older report keeps the hosted API's null for the default workspace.
    assert None in {r["workspace_id"] for r in rows}
    assert cost["has_more"] is False
    assert any(r["amount"] != "0" for b in cost["data"] for r in b["results"])
