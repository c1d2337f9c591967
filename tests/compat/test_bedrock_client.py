"""The SDK's ``AnthropicBedrock``, unchanged, against the app: SigV4 signed by botocore
with the Parley key as access key id and secret, streams in AWS's event-stream framing
read back by botocore, and Bedrock API keys as bearer tokens."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import anthropic
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from fastapi import FastAPI

from parley.backends.base import GenerationRequest, TextChunk
from parley.backends.scripted import ScriptedBackend
from tests.support import API_KEY, BASE_URL, asgi_http, raw_client

USER: list[Any] = [{"role": "user", "content": "one two three"}]
WRONG = "sk-parley-api01-wrong" + "0" * 47
BODY = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5, "messages": USER}
VERTEX_PATH = "/v1/projects/p/locations/r/publishers/anthropic/models/scripted:rawPredict"


def bedrock(app: FastAPI, *, secret: str = API_KEY, **auth: Any) -> anthropic.AsyncAnthropicBedrock:
    credentials = auth or {"aws_access_key": API_KEY, "aws_secret_key": secret}
    return anthropic.AsyncAnthropicBedrock(
        aws_region="us-east-1",
        base_url=BASE_URL,
        http_client=asgi_http(app),
        max_retries=0,
        _strict_response_validation=True,
        **credentials,
    )


def signed(
    body: bytes,
    *,
    when: datetime | None = None,
    key: str = API_KEY,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """Headers for POST /model/scripted/invoke signed by botocore, as the client signs."""
    request = AWSRequest(
        method="POST",
        url=f"{BASE_URL}/model/scripted/invoke",
        headers={"content-type": "application/json", "host": "parley.test", **(extra or {})},
        data=body,
    )
    signer = SigV4Auth(Credentials(key, key), "bedrock", "us-east-1")
    if when is None:
        signer.add_auth(request)
    else:
        stamp = when.strftime("%Y%m%dT%H%M%SZ")
        request.context["timestamp"] = stamp
        request.headers["X-Amz-Date"] = stamp
        # The signer's own steps, at a chosen time.
        canonical = signer.canonical_request(request)
        signature = signer.signature(signer.string_to_sign(request, canonical), request)
        signer._inject_signature_to_request(request, signature)
    return dict(request.headers.items())


async def read_stream(client: anthropic.AsyncAnthropicBedrock) -> None:
    async with client.messages.stream(model="scripted", max_tokens=5, messages=USER) as stream:
        async for _ in stream:
            pass


async def test_create_and_stream_signed_with_sigv4(scripted_app: Any) -> None:
    backend = ScriptedBackend()
    async with scripted_app(backend) as app:
        client = bedrock(app)
        message = await client.messages.create(model="scripted", max_tokens=50, messages=USER)
        async with client.messages.stream(model="scripted", max_tokens=50, messages=USER) as stream:
            deltas = [text async for text in stream.text_stream]
            final = await stream.get_final_message()
    assert message.model == "scripted"
    assert [b.text for b in message.content if b.type == "text"] == ["one two three"]
    assert "".join(deltas) == "one two three" and len(deltas) == 3
    assert [b.text for b in final.content if b.type == "text"] == ["one two three"]
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 3
    assert len(backend.requests) == 2


async def test_betas_travel_in_the_body(scripted_app: Any) -> None:
    async with scripted_app() as app:
        message = await bedrock(app).beta.messages.create(
            model="scripted",
            max_tokens=20,
            messages=USER,
            betas=["context-management-2025-06-27"],
            context_management={"edits": [{"type": "clear_thinking_20251015"}]},
        )
    assert message.content[0].type == "text"


async def test_a_wrong_secret_is_refused(scripted_app: Any) -> None:
    async with scripted_app() as app:
        with pytest.raises(anthropic.AuthenticationError) as caught:
            await bedrock(app, secret=WRONG).messages.create(
                model="scripted", max_tokens=5, messages=USER
            )
    assert "signature does not match" in caught.value.message


async def test_an_unknown_key_is_refused(scripted_app: Any) -> None:
    async with scripted_app() as app:
        with pytest.raises(anthropic.AuthenticationError):
            await bedrock(app, aws_access_key=WRONG, aws_secret_key=WRONG).messages.create(
                model="scripted", max_tokens=5, messages=USER
            )


async def test_a_bedrock_api_key_is_a_bearer_key(scripted_app: Any) -> None:
    async with scripted_app() as app:
        message = await bedrock(app, api_key=API_KEY).messages.create(
            model="scripted", max_tokens=5, messages=USER
        )
    assert message.content[0].type == "text"


async def test_a_tampered_body_or_an_old_signature_is_refused(scripted_app: Any) -> None:
    body = json.dumps(BODY).encode()
    async with scripted_app() as app, raw_client(app) as client:
        fine = await client.post("/model/scripted/invoke", headers=signed(body), content=body)
        tampered = await client.post(
            "/model/scripted/invoke", headers=signed(body), content=body.replace(b"5", b"9")
        )
        old = datetime.now(UTC) - timedelta(minutes=20)
        stale = await client.post(
            "/model/scripted/invoke", headers=signed(body, when=old), content=body
        )
    assert fine.status_code == 200, fine.text
    assert tampered.status_code == 401
    assert "signature does not match" in tampered.json()["error"]["message"]
    assert stale.status_code == 401
    assert "Signature expired" in stale.json()["error"]["message"]


async def test_errors_before_and_after_the_stream_began(scripted_app: Any) -> None:
    def breaks(_: GenerationRequest) -> Any:
        yield TextChunk("one")
        raise RuntimeError("the model fell over")

    async with scripted_app(ScriptedBackend(breaks)) as app:
        client = bedrock(app)
        with pytest.raises(anthropic.NotFoundError):
            await client.messages.create(model="nope", max_tokens=5, messages=USER)
        with pytest.raises(anthropic.APIError) as caught:
            await read_stream(client)
    assert "the model fell over" in str(caught.value)


async def test_the_body_must_be_bedrocks(scripted_app: Any) -> None:
    cases = [
        ({**BODY, "anthropic_version": "vertex-2023-10-16"}, "anthropic_version"),
        ({**BODY, "model": "scripted"}, "model: Bedrock takes it from the path"),
        ({**BODY, "anthropic_beta": "x"}, "anthropic_beta"),
    ]
    headers = {"authorization": f"Bearer {API_KEY}"}
    async with scripted_app() as app, raw_client(app) as client:
        for body, words in cases:
            response = await client.post("/model/scripted/invoke", headers=headers, json=body)
            assert response.status_code == 400, body
            assert words in response.json()["error"]["message"]


async def test_what_a_signature_does_not_cover_is_refused(scripted_app: Any) -> None:
    body = json.dumps(BODY).encode()
    unsigned_payload = signed(body, extra={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    async with scripted_app() as app, raw_client(app) as client:
        payload = await client.post(
            "/model/scripted/invoke", headers=unsigned_payload, content=body
        )
        beta = await client.post(
            "/model/scripted/invoke",
            headers={**signed(body), "anthropic-beta": "files-api-2025-04-14"},
            content=body,
        )
        signed_beta = await client.post(
            "/model/scripted/invoke",
            headers=signed(body, extra={"anthropic-beta": "files-api-2025-04-14"}),
            content=body,
        )
        bad_host = await client.post(
            "/model/scripted/invoke", headers={**signed(body), "host": "["}, content=body
        )
    assert payload.status_code == 401
    assert "x-amz-content-sha256" in payload.json()["error"]["message"]
    assert beta.status_code == 401
    assert "anthropic-beta" in beta.json()["error"]["message"]
    assert signed_beta.status_code == 200, signed_beta.text
    assert bad_host.status_code == 401


@pytest.mark.parametrize("path", ["/model/scripted/invoke", VERTEX_PATH])
async def test_a_deeply_nested_body_is_a_400(scripted_app: Any, path: str) -> None:
    headers = {"authorization": f"Bearer {API_KEY}", "content-type": "application/json"}
    async with scripted_app() as app, raw_client(app) as client:
        response = await client.post(path, headers=headers, content=b'{"a":' * 5000)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
