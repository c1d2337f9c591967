"""Rate limits on the wire: exact headers, 429 with retry-after, SDK retries, spend."""

from __future__ import annotations

import time
from typing import Any

import anthropic
import pytest

from parley.backends.base import Finished, GenerationRequest, TextChunk
from parley.backends.scripted import ScriptedBackend
from tests.admin.test_admin_api import admin_get, admin_post, client_for, new_key
from tests.support import V1, raw_client, sdk_client

BODY = {"model": "scripted", "max_tokens": 10, "messages": [{"role": "user", "content": "a b c"}]}


def tier(
    rpm: int | None = None,
    itpm: int | None = None,
    otpm: int | None = None,
    count_rpm: int | None = None,
) -> dict[str, Any]:
    default = {
        "requests_per_minute": rpm,
        "input_tokens_per_minute": itpm,
        "output_tokens_per_minute": otpm,
    }
    return {
        "tier": "test",
        "tiers": {
            "test": {
                "default": {k: v for k, v in default.items() if v},
                "count_tokens_requests_per_minute": count_rpm,
            }
        },
    }


def short(_: GenerationRequest) -> list[Any]:
    return [TextChunk("ok"), Finished("end_turn", 2)]


async def post(app: Any, body: Any = BODY, path: str = "/v1/messages") -> Any:
    async with raw_client(app) as client:
        return await client.post(path, headers=V1, json=body)


async def test_headers_count_down_and_the_429_says_when(scripted_app: Any) -> None:
    async with scripted_app(ScriptedBackend(short), rate_limits=tier(rpm=3)) as app:
        seen = [await post(app) for _ in range(4)]
    assert [r.status_code for r in seen] == [200, 200, 200, 429]
    assert [r.headers["anthropic-ratelimit-requests-remaining"] for r in seen[:3]] == [
        "2",
        "1",
        "0",
    ]
    assert all(r.headers["anthropic-ratelimit-requests-limit"] == "3" for r in seen)
    refused = seen[3]
    assert refused.json()["error"]["type"] == "rate_limit_error"
    assert "3 requests per minute" in refused.json()["error"]["message"]
    # One request refills every 20 s; the bucket was empty a moment ago.
    assert 19 <= int(refused.headers["retry-after"]) <= 20
    assert refused.headers["anthropic-ratelimit-requests-remaining"] == "0"


async def test_output_reserved_at_admission_and_returned_after(scripted_app: Any) -> None:
    async with scripted_app(ScriptedBackend(short), rate_limits=tier(otpm=1000)) as app:
        first = await post(app, {**BODY, "max_tokens": 600})
        second = await post(app, {**BODY, "max_tokens": 600})
    assert first.status_code == 200
    # 600 reserved, 598 given back when only 2 were generated: the second still fits.
    assert first.headers["anthropic-ratelimit-output-tokens-remaining"] == "400"
    assert second.status_code == 200
    assert 398 <= int(second.headers["anthropic-ratelimit-output-tokens-remaining"]) <= 400


async def test_input_tokens_limit_and_tokens_headers(scripted_app: Any) -> None:
    async with scripted_app(ScriptedBackend(short), rate_limits=tier(itpm=12, otpm=100)) as app:
        first = await post(app)
        second = await post(app)
        third = await post(app)
    # The scripted model counts 4 input tokens for BODY (role marker + three words).
    assert first.headers["anthropic-ratelimit-input-tokens-remaining"] == "8"
    assert first.headers["anthropic-ratelimit-tokens-limit"] == "12"
    assert second.status_code == 200 and third.status_code == 200
    assert third.headers["anthropic-ratelimit-input-tokens-remaining"] == "0"


async def test_request_bigger_than_the_bucket_is_not_retried(scripted_app: Any) -> None:
    async with scripted_app(ScriptedBackend(short), rate_limits=tier(otpm=5)) as app:
        response = await post(app, {**BODY, "max_tokens": 50})
    assert response.status_code == 429
    assert response.headers["x-should-retry"] == "false"
    assert "retry-after" not in response.headers


async def test_sdk_retries_succeed_after_a_burst(scripted_app: Any) -> None:
    async with scripted_app(ScriptedBackend(short), rate_limits=tier(rpm=60)) as app:
        client = sdk_client(app, max_retries=3)
        started = time.monotonic()
        for _ in range(62):
            message = await client.messages.create(
                model="scripted", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
            )
            assert message.content[0].text == "ok"  # type: ignore[union-attr]
        # 60 at once, then the SDK waited for the refill that retry-after announced.
        assert time.monotonic() - started >= 1.0


async def test_count_tokens_has_its_own_bucket(scripted_app: Any) -> None:
    async with scripted_app(ScriptedBackend(short), rate_limits=tier(rpm=1, count_rpm=2)) as app:
        count = {k: v for k, v in BODY.items() if k != "max_tokens"}
        codes = [
            (await post(app, count, "/v1/messages/count_tokens")).status_code for _ in range(3)
        ]
        message = await post(app)
    assert codes == [200, 200, 429]
    assert message.status_code == 200


async def test_workspace_limits_set_and_read_through_the_admin_api(stored_app: Any) -> None:
    async with stored_app(ScriptedBackend(short), rate_limits=tier(rpm=100)) as app:
        workspace = (await admin_post(app, "/workspaces", {"name": "limited"})).json()
        limits = (await admin_get(app, "/rate_limits")).json()["data"]
        assert limits[0]["id"] == "rl_scripted"
        assert limits[0]["limits"] == [{"type": "requests_per_minute", "value": 100}]
        too_high = await admin_post(
            app,
            f"/workspaces/{workspace['id']}/rate_limits/rl_scripted",
            {"limits": [{"type": "requests_per_minute", "value": 500}]},
        )
        assert too_high.status_code == 400
        updated = await admin_post(
            app,
            f"/workspaces/{workspace['id']}/rate_limits/rl_scripted",
            {"limits": [{"type": "requests_per_minute", "value": 2}]},
        )
        assert updated.json()["limits"][0] == {
            "type": "requests_per_minute",
            "value": 2,
            "org_limit": 100,
            "source": {"type": "workspace"},
        }
        client = client_for(app, (await new_key(app, workspace["id"]))["api_key"])
        await client.messages.create(**BODY)  # type: ignore[arg-type]
        response = await client.messages.with_raw_response.create(**BODY)  # type: ignore[arg-type]
        assert response.headers["anthropic-ratelimit-requests-limit"] == "2"  # the binding one
        with pytest.raises(anthropic.RateLimitError):
            await client.with_options(max_retries=0).messages.create(**BODY)  # type: ignore[arg-type]
        # Other workspaces only see the organization's limit.
        await sdk_client(app).messages.create(**BODY)  # type: ignore[arg-type]


async def test_spend_limits_stop_a_workspace(stored_app: Any) -> None:
    priced = [
        {"id": "scripted", "backend": "scripted", "pricing": {"input": 1000.0, "output": 1000.0}}
    ]
    async with stored_app(
        ScriptedBackend(short), models=priced, spend_limits={"refresh_seconds": 0}
    ) as app:
        workspace = (await admin_post(app, "/workspaces", {"name": "budget"})).json()
        # Parley's earlier body (USD) still sets a limit: $0.005, kept as 1 cent (rounded up).
        set_limit = await admin_post(
            app,
            "/spend_limits",
            {"scope": {"type": "workspace", "workspace_id": workspace["id"]}, "monthly_usd": 0.005},
        )
        assert set_limit.status_code == 200
        assert set_limit.json()["amount"] == "1" and set_limit.json()["type"] == "spend_limit"
        client = client_for(app, (await new_key(app, workspace["id"]))["api_key"])
        for _ in range(2):  # 6 tokens each: 0.6 cents; the second starts at 0.6 < 1
            await client.messages.create(**BODY)  # type: ignore[arg-type]
        with pytest.raises(anthropic.BadRequestError) as info:
            await client.messages.create(**BODY)  # type: ignore[arg-type]
        assert info.value.body["error"]["message"].startswith(
            "You have reached your specified workspace API usage limits. You will regain access on "
        )
        await sdk_client(app).messages.create(**BODY)  # type: ignore[arg-type]  # other workspaces go on
        listed = (await admin_get(app, "/spend_limits")).json()["data"]
        assert any(item["scope"].get("workspace_id") == workspace["id"] for item in listed)
