"""Property-based fuzzing of every endpoint family against a real server.

A real uvicorn server (in a thread, on a socket) serves the app with the scripted
backend, so thousands of requests run in seconds. Every response must be below 500;
every error must be the API's envelope with the ``request-id`` header; no request may
hang (a 30 s client timeout fails the test); a stream may not carry an ``api_error``
event; and the server must answer a plain request normally afterwards.

Budget: ``PARLEY_FUZZ_EXAMPLES`` examples per test (40 in ``make test``). The long
run, thousands per test:

    PARLEY_FUZZ_EXAMPLES=3000 .venv/bin/pytest tests/fuzz
"""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from parley.app import create_app
from parley.backends.base import Capabilities
from parley.backends.scripted import ScriptedBackend
from parley.compat.openai.wire import ChatCompletionCreateParams
from parley.wire.admin import APIKeyCreateParams, APIKeyUpdateParams, WorkspaceCreateParams
from parley.wire.batches import MessageBatchCreateParams
from parley.wire.requests import MessageCountTokensParams, MessageCreateParams
from tests.fuzz.strategies import (
    FUZZ,
    any_json,
    from_model,
    from_sdk,
    mutated,
    openai_chat_body,
    sdk_message_body,
    sdk_type,
    text,
)
from tests.support import ADMIN_KEY, API_KEY, V1, ServerThread, make_settings

ADMIN = {"x-api-key": ADMIN_KEY, "anthropic-version": "2023-06-01"}
VALID = {"model": "scripted", "max_tokens": 8, "messages": [{"role": "user", "content": "a b"}]}
API_ERRORS = {
    "invalid_request_error",
    "authentication_error",
    "permission_error",
    "not_found_error",
    "request_too_large",
    "rate_limit_error",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    capabilities = Capabilities(context_window=8192, max_output_tokens=1024, images=True)
    settings = make_settings(tmp_path_factory.mktemp("fuzz"), models=[])
    app = create_app(settings, backends={"scripted": ScriptedBackend(capabilities=capabilities)})
    with (
        ServerThread(app) as running,
        httpx.Client(base_url=running.base_url, timeout=30) as client,
    ):
        yield client
        healthy = client.post("/v1/messages", headers=V1, json=VALID)
        assert healthy.status_code == 200, f"after the fuzzing: {healthy.text}"


def check(response: httpx.Response) -> None:
    """The properties every answer has, whatever was asked."""
    assert response.status_code < 500, (response.status_code, response.text[:800])
    request_id = response.headers.get("request-id", "")
    assert request_id.startswith("req_")
    if response.status_code >= 400:
        body = response.json()
        assert body["type"] == "error" and body["request_id"] == request_id, body
        assert body["error"]["type"] in API_ERRORS and body["error"]["message"], body
    elif response.headers.get("content-type", "").startswith("text/event-stream"):
        for line in response.text.splitlines():
            if line.startswith("data:") and '"type":"error"' in line.replace(" ", ""):
                error = json.loads(line[5:])["error"]
                assert error["type"] in API_ERRORS, error


OPENAI_ERRORS = {*API_ERRORS - {"api_error"}}
BEARER = {"authorization": f"Bearer {API_KEY}"}


def check_openai(response: httpx.Response) -> None:
    """The same properties for OpenAI's protocol: its envelope, its stream's errors."""
    assert response.status_code < 500, (response.status_code, response.text[:800])
    assert response.headers.get("request-id", "").startswith("req_")
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["type"] in OPENAI_ERRORS and error["message"], error
        assert set(error) == {"message", "type", "param", "code"}, error
    elif response.headers.get("content-type", "").startswith("text/event-stream"):
        lines = [line for line in response.text.splitlines() if line]
        assert lines[-1] == "data: [DONE]" or '"error"' in lines[-1], lines[-3:]
        for line in lines[:-1]:
            assert line.startswith((": ping", "data: {")), line


def segment(value: str) -> str:
    """``value`` as one path segment, whatever characters it holds."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def query(params: dict[str, str]) -> str:
    """``params`` as a query string, lone surrogates and all (as raw bytes would be)."""
    return "&".join(f"{segment(k)}={segment(v)}" for k, v in params.items())


def utf8(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")


def post_json(client: httpx.Client, path: str, body: Any, headers: dict[str, str] = V1) -> None:
    check(client.post(path, headers=headers, content=json.dumps(body).encode()))


messages_bodies = from_model(MessageCreateParams) | sdk_message_body()


@FUZZ
@given(body=messages_bodies, stream=st.sampled_from([None, True, False]))
def test_messages(server: httpx.Client, body: Any, stream: bool | None) -> None:
    if isinstance(body, dict) and stream is not None:
        body = {**body, "stream": stream}
    post_json(server, "/v1/messages", body)


@FUZZ
@given(body=from_model(MessageCountTokensParams) | sdk_message_body(generation=False))
def test_count_tokens(server: httpx.Client, body: Any) -> None:
    post_json(server, "/v1/messages/count_tokens", body)


@FUZZ
@given(body=from_model(MessageCreateParams).map(lambda b: {**b, "model": "scripted"}))
def test_messages_on_the_served_model(server: httpx.Client, body: dict[str, Any]) -> None:
    """Bodies that name the model Parley serves, so they go past the lookup."""
    post_json(server, "/v1/messages", body)


@FUZZ
@given(body=from_model(ChatCompletionCreateParams) | openai_chat_body())
def test_chat_completions(server: httpx.Client, body: Any) -> None:
    check_openai(
        server.post("/v1/chat/completions", headers=BEARER, content=json.dumps(body).encode())
    )


@FUZZ
@given(data=st.data())
def test_mutated_chat_completions(server: httpx.Client, data: st.DataObject) -> None:
    valid = {"model": "scripted", "messages": [{"role": "user", "content": "a b"}]}
    raw = data.draw(mutated(valid))
    headers = {**BEARER, "content-type": "application/json"}
    check_openai(server.post("/v1/chat/completions", headers=headers, content=raw))


BOUNDARY = "fuzz-boundary-7f3a"


def multipart_headers() -> dict[str, str]:
    return {**V1, "content-type": f"multipart/form-data; boundary={BOUNDARY}"}


def multipart(parts: list[tuple[str, bytes | None, bytes, str]]) -> bytes:
    """A multipart body written by hand, so any filename bytes can be sent."""
    out = b""
    for name, filename, body, content_type in parts:
        disposition = f'form-data; name="{name}"'.encode()
        if filename is not None:
            disposition += b'; filename="' + filename.replace(b'"', b"%22") + b'"'
        out += f"--{BOUNDARY}\r\n".encode() + b"Content-Disposition: " + disposition + b"\r\n"
        if content_type:
            out += f"Content-Type: {content_type}\r\n".encode("utf-8", "surrogatepass")
        out += b"\r\n" + body + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


MUTABLE = [
    ("/v1/messages", VALID, V1),
    ("/v1/messages/count_tokens", {k: v for k, v in VALID.items() if k != "max_tokens"}, V1),
    ("/v1/messages/batches", {"requests": [{"custom_id": "a", "params": VALID}]}, V1),
    ("/v1/organizations/workspaces", {"name": "w"}, ADMIN),
    ("/v1/organizations/api_keys", {"name": "k"}, ADMIN),
]


@FUZZ
@given(data=st.data(), target=st.sampled_from(MUTABLE))
def test_mutated_bodies(server: httpx.Client, data: st.DataObject, target: Any) -> None:
    path, valid, headers = target
    raw = data.draw(mutated(valid))
    check(server.post(path, headers={**headers, "content-type": "application/json"}, content=raw))


@FUZZ
@given(
    body=from_model(MessageBatchCreateParams)
    | st.fixed_dictionaries(
        {
            "requests": st.lists(
                st.fixed_dictionaries({"custom_id": text, "params": sdk_message_body()}), max_size=3
            )
        }
    ),
    batch_id=text,
)
def test_batches(server: httpx.Client, body: Any, batch_id: str) -> None:
    post_json(server, "/v1/messages/batches", body)
    path = "/v1/messages/batches/" + segment(batch_id)
    for method, suffix in (("GET", ""), ("POST", "/cancel"), ("GET", "/results"), ("DELETE", "")):
        check(server.request(method, path + suffix, headers=V1))


@FUZZ
@given(
    filename=text,
    content=st.binary(max_size=4096),
    content_type=st.sampled_from(["text/plain", "application/pdf", "image/png", "", "x/\x00"]),
    field=st.sampled_from(["file", "files", "other"]),
    expires=st.one_of(st.none(), text),
)
def test_file_uploads(
    server: httpx.Client,
    filename: str,
    content: bytes,
    content_type: str,
    field: str,
    expires: str | None,
) -> None:
    parts = [(field, utf8(filename), content, content_type)]
    if expires is not None:
        parts.append(("expires_in_seconds", None, utf8(expires), ""))
    check(server.post("/v1/files", headers=multipart_headers(), content=multipart(parts)))


@FUZZ
@given(raw=st.binary(max_size=2048), boundary=st.sampled_from(["b", "", "x" * 100]))
def test_garbage_multipart(server: httpx.Client, raw: bytes, boundary: str) -> None:
    headers = {**V1, "content-type": f"multipart/form-data; boundary={boundary}"}
    for path in ("/v1/files", "/v1/skills"):
        check(server.post(path, headers=headers, content=raw))


skill_entries = st.lists(
    st.tuples(
        st.one_of(
            text, st.sampled_from(["s/SKILL.md", "../x", "/abs", "s/a/../../b", "s/" + "d/" * 50])
        ),
        st.one_of(
            st.binary(max_size=512),
            st.builds(
                lambda n, d: utf8(f"---\nname: {n}\ndescription: {d}\n---\nbody"), text, text
            ),
        ),
    ),
    max_size=5,
)


@FUZZ
@given(entries=skill_entries, as_zip=st.booleans(), title=st.one_of(st.none(), text))
def test_skill_uploads(
    server: httpx.Client, entries: list[tuple[str, bytes]], as_zip: bool, title: str | None
) -> None:
    parts: list[tuple[str, bytes | None, bytes, str]] = []
    if as_zip:
        buffer = io.BytesIO()
        # Duplicate names are part of the attack; zipfile only warns about writing them.
        with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w") as archive:
            warnings.simplefilter("ignore", UserWarning)
            for name, body in entries:
                archive.writestr(
                    zipfile.ZipInfo(utf8(name or "x").decode("utf-8", "replace")), body
                )
        parts.append(("files[]", b"skill.zip", buffer.getvalue(), "application/zip"))
    else:
        parts += [("files[]", utf8(name), body, "text/markdown") for name, body in entries]
    if title is not None:
        parts.append(("display_name", None, utf8(title), ""))
    check(server.post("/v1/skills", headers=multipart_headers(), content=multipart(parts)))


@FUZZ
@given(
    params=st.dictionaries(st.sampled_from(["limit", "before_id", "after_id", "x"]), text),
    model_id=text,
)
def test_models(server: httpx.Client, params: dict[str, str], model_id: str) -> None:
    check(server.get(f"/v1/models?{query(params)}", headers=V1))
    check(server.get(f"/v1/models/{segment(model_id)}", headers=V1))
    # The same paths as the openai SDK calls them.
    check_openai(server.get(f"/v1/models?{query(params)}", headers=BEARER))
    check_openai(server.get(f"/v1/models/{segment(model_id)}", headers=BEARER))


REPORT_PARAMS = [
    "starting_at",
    "ending_at",
    "bucket_width",
    "limit",
    "page",
    "group_by[]",
    "models[]",
]


@FUZZ
@given(
    workspace=from_model(WorkspaceCreateParams)
    | from_sdk(
        sdk_type("anthropic.types.organization.workspace_create_params.WorkspaceCreateParams")
    ),
    key=from_model(APIKeyCreateParams),
    update=from_model(APIKeyUpdateParams),
    limits=any_json,
    report=st.dictionaries(
        st.sampled_from(REPORT_PARAMS), st.one_of(text, st.just("2026-11-01T00:00:00Z"))
    ),
)
def test_admin(
    server: httpx.Client, workspace: Any, key: Any, update: Any, limits: Any, report: dict[str, str]
) -> None:
    post_json(server, "/v1/organizations/workspaces", workspace, ADMIN)
    post_json(server, "/v1/organizations/api_keys", key, ADMIN)
    post_json(server, "/v1/organizations/api_keys/apikey_missing", update, ADMIN)
    post_json(server, "/v1/organizations/rate_limits/rl_scripted", limits, ADMIN)
    post_json(server, "/v1/organizations/spend_limits", limits, ADMIN)
    for path in (
        "/v1/organizations/usage_report/messages",
        "/v1/organizations/cost_report",
        "/v1/organizations/api_keys",
    ):
        check(server.get(f"{path}?{query(report)}", headers=ADMIN))


@FUZZ
@given(
    headers=st.dictionaries(
        st.sampled_from(
            [
                "x-api-key",
                "authorization",
                "anthropic-version",
                "anthropic-beta",
                "anthropic-workspace-id",
                "content-type",
            ]
        ),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
    )
)
def test_headers(server: httpx.Client, headers: dict[str, str]) -> None:
    # HTTP has no leading or trailing whitespace in header values; clients strip it.
    sent = {k: v.strip() for k, v in headers.items()}
    check(server.post("/v1/messages", headers=sent, json=VALID))
    # Authorization and no anthropic-version or x-api-key: how the openai SDK asks.
    openai_style = "authorization" in sent and not {"anthropic-version", "x-api-key"} & set(sent)
    (check_openai if openai_style else check)(server.get("/v1/models", headers=sent))
