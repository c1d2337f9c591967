"""The Claude-API backend's neutral path: a ``GenerationRequest`` as a Claude body, and
the upstream's events back as neutral ones — against a scripted upstream at the HTTP
edge (``httpx.MockTransport``)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from parley.backends.anthropic import AnthropicBackend, AnthropicOptions, _EventReader, claude_body
from parley.backends.base import (
    Accepted,
    CachePoint,
    Finished,
    GenerationRequest,
    ImagePart,
    Passthrough,
    PromptProcessed,
    Sampling,
    TextChunk,
    TextPart,
    ThinkingChunk,
    ToolCallChunk,
    ToolCallEnd,
    ToolCallPart,
    ToolCallStart,
    ToolMode,
    ToolResultPart,
    ToolSpec,
    Turn,
)
from parley.backends.common.upstream import upstream_client
from parley.errors import InvalidRequestError, OverloadedError, RateLimitError

REQUEST = GenerationRequest(
    model="up",
    system="Be brief.",
    turns=(
        Turn("user", (TextPart("Weather?"), ImagePart("image/png", b"\x89PNG"), CachePoint())),
        Turn("assistant", (ToolCallPart("toolu_1", "get_weather", {"city": "Paris"}),)),
        Turn("user", (ToolResultPart("toolu_1", (TextPart("sunny"),), is_error=False),)),
    ),
    max_tokens=50,
    tools=(ToolSpec("get_weather", "Weather.", {"type": "object"}),),
    tool_mode=ToolMode("required", only="get_weather", single=True),
    stop_sequences=("END",),
    sampling=Sampling(temperature=1.5),
)


def test_claude_body() -> None:
    body = claude_body(REQUEST)
    assert body["system"] == "Be brief." and body["max_tokens"] == 50
    assert body["temperature"] == 1.0  # the Claude API's maximum
    assert body["stop_sequences"] == ["END"]
    assert body["tool_choice"] == {
        "type": "tool",
        "name": "get_weather",
        "disable_parallel_tool_use": True,
    }
    first, call, result = body["messages"]
    assert [b["type"] for b in first["content"]] == ["text", "image"]
    assert first["content"][1]["source"]["data"] == "iVBORw=="
    assert call["content"] == [
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}
    ]
    assert result["content"][0]["content"] == [{"type": "text", "text": "sunny"}]


def sse(events: list[tuple[str, dict[str, Any]]]) -> bytes:
    return b"".join(f"event: {n}\ndata: {json.dumps(d)}\n\n".encode() for n, d in events)


STREAM = [
    (
        "message_start",
        {
            "type": "message_start",
            "message": {
                "usage": {"input_tokens": 5, "cache_read_input_tokens": 3, "output_tokens": 1}
            },
        },
    ),
    (
        "content_block_start",
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "thinking", "thinking": ""},
        },
    ),
    (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "hm"},
        },
    ),
    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    (
        "content_block_start",
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "text", "text": "It "},
        },
    ),
    (
        "content_block_delta",
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "is"}},
    ),
    ("content_block_stop", {"type": "content_block_stop", "index": 1}),
    (
        "content_block_start",
        {
            "type": "content_block_start",
            "index": 2,
            "content_block": {
                "type": "tool_use",
                "id": "toolu_2",
                "name": "get_weather",
                "input": {},
            },
        },
    ),
    (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 2,
            "delta": {"type": "input_json_delta", "partial_json": '{"city": "Nice"}'},
        },
    ),
    ("content_block_stop", {"type": "content_block_stop", "index": 2}),
    (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use"},
            "usage": {"output_tokens": 9},
        },
    ),
    ("message_stop", {"type": "message_stop"}),
]


def test_the_event_reader() -> None:
    reader = _EventReader()
    out = [e for name, data in STREAM for e in reader.feed(name, data)]
    assert out == [
        PromptProcessed(input_tokens=8, cached_tokens=3),
        ThinkingChunk("hm"),
        TextChunk("It "),
        TextChunk("is"),
        ToolCallStart("get_weather"),
        ToolCallChunk('{"city": "Nice"}'),
        ToolCallEnd({"city": "Nice"}),
        Finished("tool_use", 9, None, prompt=PromptProcessed(input_tokens=8, cached_tokens=3)),
    ]


class Upstream:
    """The scripted edge: answers each path with what the test put there."""

    def __init__(self, routes: dict[str, httpx.Response]) -> None:
        self.routes = routes
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={})
        self.bodies.append(json.loads(request.content))
        return self.routes[request.url.path]


async def backend_on(upstream: Upstream) -> AnthropicBackend:
    backend = AnthropicBackend("up", AnthropicOptions(urls=["http://up.test"], model="claude-x"))
    await backend.start()
    assert backend._client is not None
    await backend._client.aclose()
    client = upstream_client(5.0, httpx.Limits())
    client._transport = httpx.MockTransport(upstream)
    backend._client = client
    return backend


async def test_generate_and_count_through_the_upstream() -> None:
    upstream = Upstream(
        {
            "/v1/messages": httpx.Response(
                200, content=sse(STREAM), headers={"content-type": "text/event-stream"}
            ),
            "/v1/messages/count_tokens": httpx.Response(200, json={"input_tokens": 12}),
        }
    )
    backend = await backend_on(upstream)
    try:
        assert isinstance(backend, Passthrough)
        events = [e async for e in backend.generate(REQUEST)]
        assert isinstance(events[0], Accepted) and isinstance(events[-1], Finished)
        assert upstream.bodies[0]["model"] == "claude-x" and upstream.bodies[0]["stream"] is True
        assert await backend.count_tokens(REQUEST) == 12
        assert "max_tokens" not in upstream.bodies[-1]
        assert await backend.count_tokens("") == 0
        assert (await backend.health()).ok
    finally:
        await backend.aclose()


@pytest.mark.parametrize(
    ("status", "error"),
    [(429, RateLimitError), (529, OverloadedError), (400, InvalidRequestError)],
)
async def test_upstream_errors_keep_their_meaning(status: int, error: type[Exception]) -> None:
    body = {"type": "error", "error": {"type": "x_error", "message": "no"}}
    upstream = Upstream(
        {
            "/v1/messages/count_tokens": httpx.Response(
                status, json=body, headers={"retry-after": "3"}
            )
        }
    )
    backend = await backend_on(upstream)
    try:
        with pytest.raises(error) as raised:
            await backend.count_body({"model": "up", "messages": []}, frozenset())
        if status == 429:
            assert raised.value.headers["retry-after"] == "3"  # type: ignore[attr-defined]
    finally:
        await backend.aclose()
