"""Every request is attributed and reported exactly, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from parley.backends.base import Finished, GenerationRequest, TextChunk
from parley.backends.scripted import ScriptedBackend
from tests.admin.test_admin_api import admin_get, admin_post, client_for, new_key

PRICED = [{"id": "scripted", "backend": "scripted", "pricing": {"input": 3.0, "output": 15.0}}]


def fixed(_: GenerationRequest) -> list[Any]:
    return [TextChunk("ok"), Finished("end_turn", 7)]


def since() -> str:
    return (datetime.now(UTC) - timedelta(hours=1)).isoformat()


async def test_200_parallel_requests_over_10_keys_in_3_workspaces(stored_app: Any) -> None:
    backend = ScriptedBackend(fixed)
    async with stored_app(backend, models=PRICED) as app:
        workspaces = [
            (await admin_post(app, "/workspaces", {"name": f"ws{i}"})).json()["id"]
            for i in range(3)
        ]
        keys = [await new_key(app, workspaces[i % 3]) for i in range(10)]
        clients = [client_for(app, k["api_key"]) for k in keys]
        messages = [
            {"role": "user", "content": "a b c d"}
        ]  # the scripted model counts 5 input tokens

        async def call(i: int) -> None:
            await clients[i % 10].messages.create(
                model="scripted", max_tokens=50, messages=messages
            )

        await asyncio.gather(*(call(i) for i in range(200)))
        report = (
            await admin_get(
                app,
                "/usage_report/messages",
                starting_at=since(),
                bucket_width="1d",
                **{"group_by[]": ["api_key_id", "workspace_id"]},
            )
        ).json()
    results = [r for bucket in report["data"] for r in bucket["results"]]
    per_key = {r["api_key_id"]: r for r in results}
    assert set(per_key) == {k["id"] for k in keys}
    for key in keys:
        row = per_key[key["id"]]
        assert row["uncached_input_tokens"] == 20 * 5
        assert row["output_tokens"] == 20 * 7
        assert row["workspace_id"] == key["scope"]["workspace_id"]
    per_workspace = Counter()
    for r in results:
        per_workspace[r["workspace_id"]] += r["output_tokens"]
    assert per_workspace == {
        workspaces[0]: 4 * 20 * 7,
        workspaces[1]: 3 * 20 * 7,
        workspaces[2]: 3 * 20 * 7,
    }


async def test_usage_report_buckets_groups_and_pages(stored_app: Any) -> None:
    async with stored_app(ScriptedBackend(fixed), models=PRICED) as app:
        client = client_for(app, (await new_key(app))["api_key"])
        for _ in range(3):
            await client.messages.create(
                model="scripted", max_tokens=50, messages=[{"role": "user", "content": "hi"}]
            )
        start = (datetime.now(UTC) - timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
        first = (
            await admin_get(
                app,
                "/usage_report/messages",
                starting_at=start.isoformat(),
                bucket_width="1h",
                limit=2,
                **{"group_by[]": ["model", "service_tier"]},
            )
        ).json()
        assert len(first["data"]) == 2 and first["has_more"] is True
        assert first["data"][0]["starting_at"] == start.strftime("%Y-%m-%dT%H:%M:%SZ")
        second = (
            await admin_get(
                app,
                "/usage_report/messages",
                starting_at=start.isoformat(),
                bucket_width="1h",
                limit=2,
                page=first["next_page"],
                **{"group_by[]": ["model", "service_tier"]},
            )
        ).json()
        results = [r for page in (first, second) for b in page["data"] for r in b["results"]]
        assert len(results) == 1
        row = results[0]
        assert (row["model"], row["service_tier"], row["output_tokens"]) == (
            "scripted",
            "standard",
            21,
        )
        assert row["api_key_id"] is None and row["workspace_id"] is None  # not grouped
        minutes = (
            await admin_get(
                app, "/usage_report/messages", starting_at=since(), bucket_width="1m", limit=120
            )
        ).json()
        assert sum(r["output_tokens"] for b in minutes["data"] for r in b["results"]) == 21
        assert len(minutes["data"]) >= 60


async def test_cost_report_prices_usage(stored_app: Any) -> None:
    async with stored_app(ScriptedBackend(fixed), models=PRICED) as app:
        client = client_for(app, (await new_key(app))["api_key"])
        await client.messages.create(
            model="scripted", max_tokens=50, messages=[{"role": "user", "content": "a b c d"}]
        )
        total = (await admin_get(app, "/cost_report", starting_at=since())).json()
        by_line = (
            await admin_get(
                app, "/cost_report", starting_at=since(), **{"group_by[]": ["description"]}
            )
        ).json()
    # 5 input tokens at $3/M + 7 output tokens at $15/M = $0.00012 = 0.012 cents
    amounts = [r["amount"] for b in total["data"] for r in b["results"]]
    assert amounts == ["0.012"]
    lines = {
        r["token_type"]: r for b in by_line["data"] for r in b["results"] if r["amount"] != "0"
    }
    assert lines["uncached_input_tokens"]["amount"] == "0.0015"
    assert lines["output_tokens"]["amount"] == "0.0105"
    assert lines["output_tokens"]["description"] == "scripted Usage - Output Tokens"
    assert lines["output_tokens"]["currency"] == "USD"


async def test_report_parameter_errors(stored_app: Any) -> None:
    async with stored_app() as app:
        missing = await admin_get(app, "/usage_report/messages")
        assert missing.status_code == 400 and "starting_at" in missing.json()["error"]["message"]
        bad_width = await admin_get(
            app, "/usage_report/messages", starting_at=since(), bucket_width="2h"
        )
        assert bad_width.status_code == 400
        bad_group = await admin_get(
            app, "/usage_report/messages", starting_at=since(), **{"group_by[]": "colour"}
        )
        assert bad_group.status_code == 400
        cost_hourly = await admin_get(app, "/cost_report", starting_at=since(), bucket_width="1h")
        assert cost_hourly.status_code == 400
