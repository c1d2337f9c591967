"""The SDK's ``AnthropicVertex`` and ``AnthropicFoundry`` clients, unchanged, against the app.

Each is given a base URL and a Parley key (Vertex's ``access_token``, Foundry's
``api_key``) and nothing else; the SDK builds its own paths, bodies and headers.
"""

from __future__ import annotations

from typing import Any

import anthropic
import pytest
from fastapi import FastAPI

from parley.backends.scripted import ScriptedBackend
from tests.support import API_KEY, BASE_URL, asgi_http, raw_client

USER: list[Any] = [{"role": "user", "content": "one two three"}]


def vertex(app: FastAPI, token: str = API_KEY) -> anthropic.AsyncAnthropicVertex:
    return anthropic.AsyncAnthropicVertex(
        region="us-east5",
        project_id="my-project",
        access_token=token,
        base_url=f"{BASE_URL}/v1",
        http_client=asgi_http(app),
        max_retries=0,
        _strict_response_validation=True,
    )


def foundry(app: FastAPI, key: str = API_KEY) -> anthropic.AsyncAnthropicFoundry:
    return anthropic.AsyncAnthropicFoundry(
        api_key=key,
        base_url=f"{BASE_URL}/anthropic/",
        http_client=asgi_http(app),
        max_retries=0,
        _strict_response_validation=True,
    )


async def test_vertex_create_stream_and_count(scripted_app: Any) -> None:
    backend = ScriptedBackend()
    async with scripted_app(backend) as app:
        client = vertex(app)
        message = await client.messages.create(model="scripted", max_tokens=50, messages=USER)
        async with client.messages.stream(model="scripted", max_tokens=50, messages=USER) as stream:
            streamed = await stream.get_final_message()
        counted = await client.messages.count_tokens(model="scripted", messages=USER)
    assert message.model == "scripted"
    assert [b.text for b in message.content if b.type == "text"] == ["one two three"]
    assert [b.text for b in streamed.content if b.type == "text"] == ["one two three"]
    assert streamed.stop_reason == "end_turn"
    assert counted.input_tokens == message.usage.input_tokens
    assert len(backend.requests) == 2


async def test_vertex_errors_are_the_clients_own(scripted_app: Any) -> None:
    async with scripted_app() as app:
        with pytest.raises(anthropic.AuthenticationError):
            await vertex(app, token="sk-parley-api01-wrong" + "0" * 47).messages.create(
                model="scripted", max_tokens=5, messages=USER
            )
        with pytest.raises(anthropic.NotFoundError) as missing:
            await vertex(app).messages.create(model="nope", max_tokens=5, messages=USER)
        with pytest.raises(anthropic.BadRequestError) as bad:
            await vertex(app).messages.create(model="scripted", max_tokens=-1, messages=USER)
    assert "nope" in missing.value.message
    assert "max_tokens" in bad.value.message


@pytest.mark.parametrize(
    ("path", "body", "status", "words"),
    [
        ("scripted:rawPredict", {"max_tokens": 5, "messages": USER}, 400, "anthropic_version"),
        (
            "scripted:rawPredict",
            {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5, "messages": USER},
            400,
            "neither",
        ),
        (
            "scripted:rawPredict",
            {
                "anthropic_version": "vertex-2023-10-16",
                "max_tokens": 5,
                "messages": USER,
                "stream": True,
            },
            400,
            "rawPredict takes stream false",
        ),
        (
            "scripted:predict",
            {"anthropic_version": "vertex-2023-10-16", "max_tokens": 5, "messages": USER},
            404,
            "expected <model>:rawPredict",
        ),
    ],
)
async def test_vertex_paths_say_what_is_wrong(
    scripted_app: Any, path: str, body: Any, status: int, words: str
) -> None:
    url = f"/v1/projects/p/locations/r/publishers/anthropic/models/{path}"
    async with scripted_app() as app, raw_client(app) as client:
        response = await client.post(url, headers={"authorization": f"Bearer {API_KEY}"}, json=body)
    assert response.status_code == status
    assert words in response.json()["error"]["message"]


async def test_foundry_create_and_stream_under_its_prefix(scripted_app: Any) -> None:
    async with scripted_app() as app:
        client = foundry(app)
        message = await client.messages.create(model="scripted", max_tokens=50, messages=USER)
        async with client.messages.stream(model="scripted", max_tokens=50, messages=USER) as stream:
            text = await stream.get_final_text()
        counted = await client.messages.count_tokens(model="scripted", messages=USER)
        with pytest.raises(anthropic.AuthenticationError):
            await foundry(app, key="sk-parley-api01-wrong" + "0" * 47).messages.create(
                model="scripted", max_tokens=5, messages=USER
            )
    assert message._request_id is not None and message._request_id.startswith("req_")
    assert text == "one two three"
    assert counted.input_tokens == message.usage.input_tokens


async def test_the_whole_api_is_under_the_foundry_prefix(scripted_app: Any) -> None:
    headers = {"x-api-key": API_KEY, "anthropic-version": "2023-06-01"}
    async with scripted_app() as app, raw_client(app) as client:
        prefixed = await client.get("/anthropic/v1/models", headers=headers)
        plain = await client.get("/v1/models", headers=headers)
        batches = await client.get("/anthropic/v1/messages/batches", headers=headers)
        outside = await client.get("/anthropicx/v1/models", headers=headers)
    assert prefixed.status_code == 200 and prefixed.json() == plain.json()
    assert batches.status_code == 200
    assert outside.status_code == 404
