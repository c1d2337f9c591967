"""Bad input always gets the API's error envelope and a 4xx, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support import V1, raw_client

OK = {"model": "scripted", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}


def with_(**changes: Any) -> dict[str, Any]:
    return {**OK, **changes}


CASES: list[tuple[str, bytes, str]] = [
    ("malformed json", b'{"model": ', "The request body is not valid JSON"),
    ("not an object", b"[1, 2]", "Input should be an object"),
    ("empty body", b"", "The request body is not valid JSON"),
    ("invalid utf-8", b'{"model": "\xff\xfe"}', "The request body is not valid JSON"),
    (
        "missing max_tokens",
        json.dumps({"model": "scripted", "messages": []}).encode(),
        "max_tokens: Field required",
    ),
    (
        "wrong type",
        json.dumps(with_(max_tokens="5")).encode(),
        "max_tokens: Input should be a valid integer",
    ),
    (
        "negative max_tokens",
        json.dumps(with_(max_tokens=-1)).encode(),
        "max_tokens: Input should be greater than or equal to 0",
    ),
    (
        "temperature too high",
        json.dumps(with_(temperature=1.5)).encode(),
        "temperature: Input should be less than or equal to 1",
    ),
    (
        "unknown field",
        json.dumps(with_(response_format={})).encode(),
        "response_format: Extra inputs are not permitted",
    ),
    (
        "unknown nested field",
        json.dumps(
            with_(
                messages=[{"role": "user", "content": [{"type": "text", "text": "hi", "bogus": 1}]}]
            )
        ).encode(),
        "messages.0.content.0.text.bogus: Extra inputs are not permitted",
    ),
    (
        "bad role",
        json.dumps(with_(messages=[{"role": "robot", "content": "x"}])).encode(),
        "messages.0.role: Input should be 'user', 'assistant' or 'system'",
    ),
    (
        "unknown block type",
        json.dumps(with_(messages=[{"role": "user", "content": [{"type": "video"}]}])).encode(),
        "messages.0.content.0: Input tag 'video'",
    ),
    (
        "empty messages",
        json.dumps(with_(messages=[])).encode(),
        "messages: List should have at least 1 item",
    ),
    (
        "empty content",
        json.dumps(with_(messages=[{"role": "user", "content": []}])).encode(),
        "messages.0: all messages must have non-empty content",
    ),
    (
        "whitespace text",
        json.dumps(with_(messages=[{"role": "user", "content": "  "}])).encode(),
        "messages: text content blocks must contain non-whitespace text",
    ),
    (
        "prefill trailing space",
        json.dumps(
            with_(
                messages=[
                    {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": "ok "},
                ]
            )
        ).encode(),
        "messages: final assistant content cannot end with trailing whitespace",
    ),
    (
        "dangling tool_use",
        json.dumps(
            with_(
                messages=[
                    {"role": "user", "content": "hi"},
                    {
                        "role": "assistant",
                        "content": [
                            {"type": "tool_use", "id": "toolu_x", "name": "f", "input": {}}
                        ],
                    },
                    {"role": "user", "content": "next"},
                ]
            )
        ).encode(),
        "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: "
        "toolu_x",
    ),
    (
        "orphan tool_result",
        json.dumps(
            with_(
                messages=[
                    {
                        "role": "user",
                        "content": [
                            {"type": "tool_result", "tool_use_id": "toolu_y", "content": "r"}
                        ],
                    }
                ]
            )
        ).encode(),
        "messages.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_y",
    ),
    (
        "bad tool name",
        json.dumps(
            with_(tools=[{"name": "has space", "input_schema": {"type": "object"}}])
        ).encode(),
        "tools.0.custom.name: String should match pattern",
    ),
    (
        "client tool under another name",
        json.dumps(with_(tools=[{"type": "bash_20250124", "name": "shell"}])).encode(),
        "tools.0.bash.name: Input should be 'bash'",
    ),
    (
        "computer tool without its display",
        json.dumps(with_(tools=[{"type": "computer_20250124", "name": "computer"}])).encode(),
        "tools.0.computer.display_width_px: Field required",
    ),
    (
        "unknown field on a client tool",
        json.dumps(with_(tools=[{"type": "memory_20250818", "name": "memory", "x": 1}])).encode(),
        "tools.0.memory.x: Extra inputs are not permitted",
    ),
    (
        "duplicate tools",
        json.dumps(with_(tools=[{"name": "a", "input_schema": {"type": "object"}}] * 2)).encode(),
        "tools: Tool names must be unique.",
    ),
    (
        "tool_choice unknown tool",
        json.dumps(
            with_(
                tools=[{"name": "a", "input_schema": {"type": "object"}}],
                tool_choice={"type": "tool", "name": "b"},
            )
        ).encode(),
        "tool_choice.tool.name: no tool named `b`",
    ),
    (
        "thinking budget too small",
        json.dumps(
            with_(max_tokens=5000, thinking={"type": "enabled", "budget_tokens": 10})
        ).encode(),
        "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024",
    ),
    (
        "too many cache breakpoints",
        json.dumps(
            with_(
                messages=[
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "text",
                                "text": f"t{i}",
                                "cache_control": {"type": "ephemeral"},
                            }
                            for i in range(5)
                        ],
                    }
                ]
            )
        ).encode(),
        "A maximum of 4 blocks with cache_control may be provided. Found 5.",
    ),
    (
        "deep nesting",
        (
            '{"model": "scripted", "max_tokens": 5, '
            '"messages": [{"role": "user", "content": "x"}], '
            '"metadata": ' + "[" * 5000 + "]" * 5000 + "}"
        ).encode(),
        "",
    ),
    ("fast speed", json.dumps(with_(speed="fast")).encode(), "speed: fast mode is not available"),
    ("container", json.dumps(with_(container="cntr_1")).encode(), "container: Parley does not run"),
]


@pytest.mark.parametrize(("name", "body", "message"), CASES, ids=[c[0] for c in CASES])
async def test_bad_body(scripted_app: Any, name: str, body: bytes, message: str) -> None:
    async with scripted_app() as app, raw_client(app) as client:
        response = await client.post(
            "/v1/messages", headers={**V1, "content-type": "application/json"}, content=body
        )
    assert response.status_code == 400, response.text
    payload = response.json()
    assert payload["type"] == "error"
    assert payload["error"]["type"] == "invalid_request_error"
    assert payload["error"]["message"].startswith(message), payload["error"]["message"]


async def test_body_over_the_limit_is_413(scripted_app: Any) -> None:
    async with (
        scripted_app(server={"max_body_bytes": 4096, "ping_interval": 0.05}) as app,
        raw_client(app) as client,
    ):
        big = json.dumps(with_(system="x" * 10_000)).encode()
        declared = await client.post("/v1/messages", headers=V1, content=big)

        async def chunks() -> Any:
            for i in range(0, len(big), 1000):
                yield big[i : i + 1000]

        streamed = await client.post("/v1/messages", headers=V1, content=chunks())
    for response in (declared, streamed):
        assert response.status_code == 413
        assert response.json()["error"]["type"] == "request_too_large"


async def test_count_tokens_rejects_generation_fields(scripted_app: Any) -> None:
    async with scripted_app() as app, raw_client(app) as client:
        response = await client.post("/v1/messages/count_tokens", headers=V1, json=OK)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "max_tokens: Extra inputs are not permitted"
