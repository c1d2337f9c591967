"""Browser access: preflights, CORS headers on answers, the direct-access header, origins."""

from __future__ import annotations

from typing import Any

from tests.support import API_KEY, V1, raw_client

ORIGIN = "http://app.example"
BODY = {"model": "scripted", "max_tokens": 5, "messages": [{"role": "user", "content": "a b"}]}
DIRECT = {"anthropic-dangerous-direct-browser-access": "true", "origin": ORIGIN}


async def test_a_preflight_is_answered(scripted_app: Any) -> None:
    asked = "anthropic-dangerous-direct-browser-access,anthropic-version,content-type,x-api-key"
    async with scripted_app() as app, raw_client(app) as client:
        response = await client.options(
            "/v1/messages",
            headers={
                "origin": ORIGIN,
                "access-control-request-method": "POST",
                "access-control-request-headers": asked,
            },
        )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in response.headers["access-control-allow-methods"]
    assert response.headers["access-control-allow-headers"] == asked
    assert "access-control-allow-credentials" not in response.headers


async def test_an_answer_exposes_request_id_and_rate_limits(scripted_app: Any) -> None:
    limits = {"tier": "t", "tiers": {"t": {"default": {"requests_per_minute": 50}}}}
    async with scripted_app(rate_limits=limits) as app, raw_client(app) as client:
        response = await client.post("/v1/messages", headers={**V1, **DIRECT}, json=BODY)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    exposed = {h.strip() for h in response.headers["access-control-expose-headers"].split(",")}
    assert {"request-id", "retry-after", "anthropic-ratelimit-requests-remaining"} <= exposed
    assert "anthropic-ratelimit-requests-remaining" in response.headers


async def test_without_the_direct_access_header_the_page_is_told_why(scripted_app: Any) -> None:
    async with scripted_app() as app, raw_client(app) as client:
        response = await client.post("/v1/messages", headers={**V1, "origin": ORIGIN}, json=BODY)
    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["request-id"].startswith("req_")
    error = response.json()["error"]
    assert error["type"] == "authentication_error"
    assert "anthropic-dangerous-direct-browser-access" in error["message"]


async def test_only_configured_origins_get_cors_headers(scripted_app: Any) -> None:
    server = {"browser_origins": [ORIGIN]}
    async with scripted_app(server=server) as app, raw_client(app) as client:
        allowed = await client.post("/v1/messages", headers={**V1, **DIRECT}, json=BODY)
        other = await client.post(
            "/v1/messages", headers={**V1, **DIRECT, "origin": "http://evil.example"}, json=BODY
        )
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "access-control-allow-origin" not in other.headers


async def test_browser_access_can_be_turned_off(scripted_app: Any) -> None:
    async with scripted_app(server={"browser_origins": []}) as app, raw_client(app) as client:
        preflight = await client.options(
            "/v1/messages", headers={"origin": ORIGIN, "access-control-request-method": "POST"}
        )
        answer = await client.post("/v1/messages", headers={**V1, **DIRECT}, json=BODY)
    assert "access-control-allow-origin" not in preflight.headers
    assert preflight.status_code == 405
    assert answer.status_code == 200 and "access-control-allow-origin" not in answer.headers


async def test_requests_without_an_origin_are_untouched(scripted_app: Any) -> None:
    async with scripted_app() as app, raw_client(app) as client:
        response = await client.post(
            "/v1/messages", headers={**V1, "x-api-key": API_KEY}, json=BODY
        )
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


async def test_a_same_origin_page_needs_no_direct_access_header(scripted_app: Any) -> None:
    async with scripted_app() as app, raw_client(app) as client:
        response = await client.post(
            "/v1/messages", headers={**V1, "origin": "http://parley.test"}, json=BODY
        )
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


async def test_without_keys_any_origin_is_not_enough(scripted_app: Any) -> None:
    # With open access, "*" would let every page the user visits use the server.
    auth = {"open_access": True}
    async with scripted_app(auth=auth) as app, raw_client(app) as client:
        response = await client.post("/v1/messages", headers={**V1, **DIRECT}, json=BODY)
    assert "access-control-allow-origin" not in response.headers
