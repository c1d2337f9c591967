"""Common protocol on the wire: credentials, versions, betas, ids, envelopes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import API_KEY, V1, V2, raw_client

BODY = {"model": "scripted", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}


async def post(
    app: Any, headers: dict[str, str], body: Any = BODY, path: str = "/v1/messages"
) -> Any:
    async with raw_client(app) as client:
        return await client.post(path, headers=headers, json=body)


@pytest.mark.parametrize("headers", [V1, V2], ids=["x-api-key+2023-06-01", "bearer+2026-10-21"])
async def test_both_client_generations_work(scripted_app: Any, headers: dict[str, str]) -> None:
    async with scripted_app() as app:
        response = await post(app, headers)
    assert response.status_code == 200
    assert response.json()["type"] == "message"


async def test_request_id_on_every_response_and_error_body(scripted_app: Any) -> None:
    async with scripted_app() as app:
        ok = await post(app, V1)
        bad = await post(app, {**V1, "anthropic-version": "2024-10-22"})
    assert ok.headers["request-id"].startswith("req_")
    assert bad.json()["request_id"] == bad.headers["request-id"]


@pytest.mark.parametrize(
    ("headers", "status", "kind", "message"),
    [
        (
            {"anthropic-version": "2023-06-01"},
            401,
            "authentication_error",
            "x-api-key header is required",
        ),
        (
            {"anthropic-version": "2023-06-01", "x-api-key": "wrong"},
            401,
            "authentication_error",
            "invalid x-api-key",
        ),
        (
            {"x-api-key": API_KEY},
            400,
            "invalid_request_error",
            "anthropic-version: header is required",
        ),
        (
            {"x-api-key": API_KEY, "anthropic-version": "2023-06-01, 2023-06-01"},
            400,
            "invalid_request_error",
            'anthropic-version: "2023-06-01, 2023-06-01" is not a valid version',
        ),
    ],
)
async def test_header_errors_use_the_api_wording(
    scripted_app: Any, headers: dict[str, str], status: int, kind: str, message: str
) -> None:
    async with scripted_app() as app:
        response = await post(app, headers)
    assert response.status_code == status
    assert response.json()["error"] == {"type": kind, "message": message}


async def test_auth_is_checked_before_the_version(scripted_app: Any) -> None:
    async with scripted_app() as app:
        response = await post(app, {"anthropic-version": "bogus"})
    assert response.status_code == 401


async def test_bad_bearer_token_is_named_as_such(scripted_app: Any) -> None:
    async with scripted_app() as app:
        response = await post(
            app, {"anthropic-version": "2026-10-21", "authorization": "Bearer nope"}
        )
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "invalid bearer token"


async def test_x_api_key_wins_over_bearer(scripted_app: Any) -> None:
    headers = {
        "anthropic-version": "2023-06-01",
        "x-api-key": "wrong",
        "authorization": f"Bearer {API_KEY}",
    }
    async with scripted_app() as app:
        response = await post(app, headers)
    assert response.status_code == 401


async def test_beta_query_and_unknown_betas_accepted(scripted_app: Any) -> None:
    headers = {**V1, "anthropic-beta": "claude-code-20250219,brand-new-beta-2027-01-01"}
    async with scripted_app() as app:
        response = await post(app, headers, path="/v1/messages?beta=true")
    assert response.status_code == 200


async def test_beta_gated_field_needs_its_beta(scripted_app: Any) -> None:
    body = {
        **BODY,
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
    }
    async with scripted_app() as app:
        without = await post(app, V1, body)
        with_beta = await post(app, {**V1, "anthropic-beta": "context-management-2025-06-27"}, body)
    assert without.status_code == 400
    assert (
        without.json()["error"]["message"] == "context_management: Extra inputs are not permitted"
    )
    assert with_beta.status_code == 200


@pytest.mark.parametrize("field", ["temperature", "top_p", "top_k"])
async def test_sampling_rejected_only_on_2026_10_21(scripted_app: Any, field: str) -> None:
    body = {**BODY, field: 1}
    async with scripted_app() as app:
        new = await post(app, V2, body)
        old = await post(app, V1, body)
    assert new.status_code == 400
    assert new.json()["error"]["message"] == f"{field}: Extra inputs are not permitted"
    assert old.status_code == 200


async def test_2026_10_21_rejects_assistant_documents_and_user_citations(scripted_app: Any) -> None:
    doc = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "x"}}
    assistant_doc = {
        **BODY,
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": [doc]},
            {"role": "user", "content": "more"},
        ],
    }
    citation = {
        "type": "char_location",
        "cited_text": "x",
        "document_index": 0,
        "document_title": None,
        "start_char_index": 0,
        "end_char_index": 1,
    }
    user_cite = {
        **BODY,
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "hi", "citations": [citation]}]}
        ],
    }
    async with scripted_app() as app:
        for body in (assistant_doc, user_cite):
            assert (await post(app, V2, body)).status_code == 400
            assert (await post(app, V1, body)).status_code == 200


async def test_unknown_route_and_wrong_method(scripted_app: Any) -> None:
    async with scripted_app() as app, raw_client(app) as client:
        missing = await client.get("/v1/agents", headers=V1)
        wrong = await client.get("/v1/messages", headers=V1)
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "not_found_error"
    assert wrong.status_code == 405
    assert wrong.json()["type"] == "error"


async def test_root_answers_head_and_get(scripted_app: Any) -> None:
    async with scripted_app() as app, raw_client(app) as client:
        assert (await client.head("/")).status_code == 200
        assert (await client.get("/")).json()["name"] == "parley"
