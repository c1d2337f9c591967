"""Usage tiers that advance with cumulative spend: the move is recorded with its time and
reason, shown by the Admin API, and the next request already gets the higher limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import anthropic
import pytest

from parley.backends.base import Finished, GenerationRequest, TextChunk
from parley.backends.scripted import ScriptedBackend
from parley.metering.usage import UsageEvent
from tests.admin.test_admin_api import admin_get
from tests.support import ADMIN_KEY, V1, raw_client, sdk_client

# $1,000 per million tokens: each request (4 input, 2 output tokens) costs 0.6 cents.
PRICED = [{"id": "scripted", "backend": "scripted", "pricing": {"input": 1000.0, "output": 1000.0}}]
BODY = {"model": "scripted", "max_tokens": 10, "messages": [{"role": "user", "content": "a b c"}]}


def short(_: GenerationRequest) -> list[Any]:
    return [TextChunk("ok"), Finished("end_turn", 2)]


def ladder(*, wait_days: float = 0, cap_usd: float | None = None) -> dict[str, Any]:
    return {
        "tier": "small",
        "ladder": ["small", "large"],
        "tiers": {
            "small": {
                "default": {"requests_per_minute": 3},
                "monthly_spend_cap_usd": cap_usd,
            },
            "large": {
                "default": {"requests_per_minute": 100},
                "advance_at_usd": 0.01,  # one cent: two requests
                "advance_after_days": wait_days,
            },
        },
    }


async def post(app: Any) -> Any:
    async with raw_client(app) as client:
        return await client.post("/v1/messages", headers=V1, json=BODY)


async def test_crossing_the_threshold_raises_the_limits_at_once(stored_app: Any) -> None:
    async with stored_app(
        ScriptedBackend(short),
        models=PRICED,
        rate_limits=ladder(),
        spend_limits={"refresh_seconds": 0},
    ) as app:
        first, second = await post(app), await post(app)
        assert first.headers["anthropic-ratelimit-requests-limit"] == "3"
        # The second request's admission saw 0.6 cents spent: not there yet.
        assert second.headers["anthropic-ratelimit-requests-limit"] == "3"
        third = await post(app)  # 1.2 cents spent: this one moves the organization up
        assert third.status_code == 200
        assert third.headers["anthropic-ratelimit-requests-limit"] == "100"
        codes = [(await post(app)).status_code for _ in range(5)]
        assert codes == [200] * 5  # far past the small tier's 3 per minute
        tier = (await admin_get(app, "/usage_tier")).json()
        limits = [
            r
            async for r in sdk_client(app)
            .with_options(api_key=ADMIN_KEY)
            .organization.rate_limits.list()
        ]
    assert tier["tier"] == "large" and tier["configured_tier"] == "small"
    assert tier["next_tier"] is None
    [move] = tier["history"]
    assert (move["from_tier"], move["to_tier"]) == ("small", "large")
    assert move["reason"].startswith("cumulative spend $0.01 reached the large tier's $0.01")
    assert move["cumulative_spend"] == "1.2"
    moved_at = datetime.fromisoformat(move["changed_at"])
    assert datetime.now(UTC) - moved_at < timedelta(minutes=10)
    assert limits[0].limits[0].value == 100  # the Admin API reads the new tier's limits


async def test_the_waiting_period_counts_from_the_first_usage(stored_app: Any) -> None:
    async with stored_app(
        ScriptedBackend(short),
        models=PRICED,
        rate_limits=ladder(wait_days=7),
        spend_limits={"refresh_seconds": 0},
    ) as app:
        for _ in range(3):
            await post(app)
        waiting = (await admin_get(app, "/usage_tier")).json()
        assert waiting["tier"] == "small" and waiting["history"] == []
        assert waiting["next_tier"] == {
            "tier": "large",
            "advance_at": "1",
            "advance_after_days": 7.0,
        }
        # Usage eight days old (recorded as the service records any usage) starts the clock.
        app.state.services.usage.record(
            UsageEvent(
                api_key_id=None,
                workspace_id=None,
                model="scripted",
                input_tokens=1,
                output_tokens=0,
                at=datetime.now(UTC) - timedelta(days=8),
            )
        )
        moved = (await admin_get(app, "/usage_tier")).json()
        assert moved["tier"] == "large"
        assert "7 days after the first usage" in moved["history"][0]["reason"]
        assert (await post(app)).headers["anthropic-ratelimit-requests-limit"] == "100"


async def test_the_tier_spend_cap_is_the_hosted_apis_429(stored_app: Any) -> None:
    tiers = ladder(cap_usd=0.01)  # one cent a month: two requests
    tiers["ladder"] = []  # no advancement: only the cap
    async with stored_app(
        ScriptedBackend(short),
        models=PRICED,
        rate_limits=tiers,
        spend_limits={"refresh_seconds": 0},
    ) as app:
        client = sdk_client(app)
        for _ in range(2):
            await client.messages.create(**BODY)  # type: ignore[arg-type]
        with pytest.raises(anthropic.RateLimitError) as info:
            await client.messages.create(**BODY)  # type: ignore[arg-type]
        limits = [
            s.scope.type
            async for s in sdk_client(app)
            .with_options(api_key=ADMIN_KEY)
            .beta.organization.spend_limits.list()
        ]
    error = info.value.body["error"]
    assert error["details"] == {"error_code": "enforced_spend_limit_reached"}
    assert error["message"].startswith("You have reached your API usage limits")
    assert "retry-after" not in info.value.response.headers
    assert limits == ["usage_tier"]
