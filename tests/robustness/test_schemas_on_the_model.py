"""Schemas that once crashed the server or answered 500, sent to the bundled model.

The first case killed the whole process (llama.cpp's grammar parser overflowed its
stack on ``maxLength: 100000``); the malformed ones answered 500 because the
schema-to-grammar converter's errors escaped. Each must now be the API's 400 naming
the field — in ``output_config.format``, streaming or not, and in a forced tool's
``input_schema`` — and the server must answer normally afterwards.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support import V1, raw_client

pytestmark = pytest.mark.slow

MODEL = "smollm2-135m-instruct"
ASK = [{"role": "user", "content": "Say something."}]

# (schema, where the 400 must point inside it, words the message must hold)
BAD: list[tuple[str, dict[str, Any], str, str]] = [
    ("huge maxLength", {"type": "string", "maxLength": 100000}, ".maxLength", "100000"),
    ("property not a schema", {"type": "object", "properties": {"a": 1}}, ".properties.a", ""),
    ("unknown type", {"type": "nonsense"}, ".type", ""),
    ("anyOf holds a number", {"anyOf": [1]}, ".anyOf.0", ""),
    ("items is a number", {"type": "array", "items": 5}, ".items", ""),
    ("dangling $ref", {"$ref": "#/$defs/missing"}, ".$ref", "does not point"),
    ("pattern not a regex", {"type": "string", "pattern": "(("}, ".pattern", "regex"),
]
IDS = [case[0] for case in BAD]


def _message(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert response.headers["request-id"].startswith("req_")
    return str(error["message"])


async def _still_answers(client: httpx.AsyncClient) -> None:
    ok = await client.post(
        "/v1/messages", headers=V1, json={"model": MODEL, "max_tokens": 2, "messages": ASK}
    )
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(("name", "schema", "where", "words"), BAD, ids=IDS)
async def test_output_format_schema(
    model_app: Any, name: str, schema: dict[str, Any], where: str, words: str, stream: bool
) -> None:
    body = {
        "model": MODEL,
        "max_tokens": 4,
        "stream": stream,
        "messages": ASK,
        "output_config": {"format": {"type": "json_schema", "schema": schema}},
    }
    async with raw_client(model_app) as client:
        message = _message(await client.post("/v1/messages", headers=V1, json=body))
        assert message.startswith(f"output_config.format.schema{where}:"), message
        assert words in message


@pytest.mark.parametrize("choice", [{"type": "any"}, {"type": "tool", "name": "f"}])
@pytest.mark.parametrize(("name", "schema", "where", "words"), BAD, ids=IDS)
async def test_forced_tool_input_schema(
    model_app: Any, name: str, schema: dict[str, Any], where: str, words: str, choice: Any
) -> None:
    tool_schema = {"type": "object", "properties": {"x": schema}, "required": ["x"]}
    if where == ".$ref":
        tool_schema = {"type": "object", **schema}
    body = {
        "model": MODEL,
        "max_tokens": 4,
        "messages": ASK,
        "tools": [
            {"name": "ok", "input_schema": {"type": "object"}},
            {"name": "f", "input_schema": tool_schema},
        ],
        "tool_choice": choice,
    }
    prefix = "tools.1.input_schema" + ("" if where == ".$ref" else ".properties.x")
    async with raw_client(model_app) as client:
        message = _message(await client.post("/v1/messages", headers=V1, json=body))
        assert message.startswith(f"{prefix}{where}:"), message
        counted = await client.post(
            "/v1/messages/count_tokens",
            headers=V1,
            json={k: v for k, v in body.items() if k != "max_tokens"},
        )
        if name == "huge maxLength":
            # A valid JSON Schema: only the decoding grammar has a bound on it.
            assert counted.status_code == 200, counted.text
        else:
            assert _message(counted).startswith(f"{prefix}{where}:")


async def test_a_property_with_only_a_description_means_any_value(model_app: Any) -> None:
    """Claude Code's tools have such properties; every request it sent got 500."""
    tool = {
        "name": "Task",
        "description": "Run a task.",
        "input_schema": {
            "type": "object",
            "properties": {"prompt": {"type": "string"}, "extra": {"description": "anything"}},
            "required": ["prompt", "extra"],
        },
    }
    async with raw_client(model_app) as client:
        for choice in ({"type": "auto"}, {"type": "any"}):
            response = await client.post(
                "/v1/messages",
                headers=V1,
                json={
                    "model": MODEL,
                    "max_tokens": 48,
                    "temperature": 0,
                    "messages": ASK,
                    "tools": [tool],
                    "tool_choice": choice,
                },
            )
            assert response.status_code == 200, response.text
        uses = [b for b in response.json()["content"] if b["type"] == "tool_use"]
        if response.json()["stop_reason"] == "tool_use":
            assert uses and "extra" in uses[0]["input"]


async def test_the_server_still_answers_after_every_bad_schema(model_app: Any) -> None:
    """The model the cases above sent bad schemas to still generates. (A crash in
    llama.cpp's parser would have killed this test process outright: the old
    ``maxLength: 100000`` did.)"""
    async with raw_client(model_app) as client:
        await _still_answers(client)
