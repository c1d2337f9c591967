"""The official SDK (async, strict response validation) against the app, scripted model."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from parley.backends.base import (
    Capabilities,
    Finished,
    GenerationRequest,
    TextChunk,
    ToolCallChunk,
    ToolCallEnd,
    ToolCallStart,
)
from parley.backends.scripted import ScriptedBackend
from tests.support import sdk_client

USER = [{"role": "user", "content": "one two three four five"}]
WEATHER_TOOL: dict[str, Any] = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def tool_script(_: GenerationRequest) -> list[Any]:
    return [
        TextChunk("Checking."),
        ToolCallStart("get_weather"),
        ToolCallChunk('{"city": '),
        ToolCallChunk('"Paris"}'),
        ToolCallEnd({"city": "Paris"}),
        Finished("tool_use", 7),
    ]


async def test_create_returns_a_message(scripted_app: Any) -> None:
    async with scripted_app() as app:
        client = sdk_client(app)
        message = await client.messages.create(model="scripted", max_tokens=100, messages=USER)
    assert message.id.startswith("msg_")
    assert message._request_id is not None and message._request_id.startswith("req_")
    assert message.content[0].type == "text"
    assert message.content[0].text == "one two three four five"
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens == 5
    assert message.model == "scripted"


async def test_max_tokens_stop(scripted_app: Any) -> None:
    async with scripted_app() as app:
        message = await sdk_client(app).messages.create(
            model="scripted", max_tokens=2, messages=USER
        )
    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens == 2


async def test_stop_sequence_reported(scripted_app: Any) -> None:
    async with scripted_app() as app:
        message = await sdk_client(app).messages.create(
            model="scripted", max_tokens=100, messages=USER, stop_sequences=["four"]
        )
    assert message.stop_reason == "stop_sequence"
    assert message.stop_sequence == "four"
    assert message.content[0].text == "one two three "


async def test_stream_helper_and_final_message_agree(scripted_app: Any) -> None:
    async with scripted_app() as app:
        client = sdk_client(app)
        async with client.messages.stream(
            model="scripted", max_tokens=100, messages=USER
        ) as stream:
            texts = [t async for t in stream.text_stream]
            final = await stream.get_final_message()
        plain = await client.messages.create(model="scripted", max_tokens=100, messages=USER)
    assert "".join(texts) == "one two three four five"
    assert final.content[0].text == plain.content[0].text
    assert final.usage.input_tokens == plain.usage.input_tokens
    assert final.usage.output_tokens == 5
    assert final.stop_reason == "end_turn"


async def test_streamed_tool_use(scripted_app: Any) -> None:
    async with scripted_app(ScriptedBackend(tool_script)) as app:
        client = sdk_client(app)
        async with client.messages.stream(
            model="scripted", max_tokens=100, messages=USER, tools=[WEATHER_TOOL]
        ) as stream:
            fragments = [
                e.delta.partial_json
                async for e in stream
                if e.type == "content_block_delta" and e.delta.type == "input_json_delta"
            ]
            final = await stream.get_final_message()
    assert "".join(fragments) == '{"city": "Paris"}'
    assert final.stop_reason == "tool_use"
    tool_use = final.content[1]
    assert tool_use.type == "tool_use"
    assert tool_use.id.startswith("toolu_")
    assert tool_use.input == {"city": "Paris"}


async def test_tool_result_round_trip(scripted_app: Any) -> None:
    backend = ScriptedBackend()
    async with scripted_app(backend) as app:
        await sdk_client(app).messages.create(
            model="scripted",
            max_tokens=50,
            tools=[WEATHER_TOOL],
            messages=[
                {"role": "user", "content": "weather?"},
                {
                    "role": "assistant",
                    "content": [
                        {
                            "type": "tool_use",
                            "id": "toolu_1",
                            "name": "get_weather",
                            "input": {"city": "Paris"},
                        }
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": "toolu_1",
                            "content": [{"type": "text", "text": "18C"}],
                            "is_error": False,
                        },
                        {"type": "text", "text": "thanks"},
                    ],
                },
            ],
        )
    turns = backend.requests[-1].turns
    call = turns[1].parts[0]
    result = turns[2].parts[0]
    assert (call.name, call.arguments) == ("get_weather", {"city": "Paris"})  # type: ignore[union-attr]
    assert result.call_id == "toolu_1" and result.parts[0].text == "18C"  # type: ignore[union-attr]


async def test_count_tokens_equals_input_tokens(scripted_app: Any) -> None:
    request: dict[str, Any] = {
        "model": "scripted",
        "system": [{"type": "text", "text": "Be brief."}],
        "messages": USER,
        "tools": [WEATHER_TOOL],
    }
    async with scripted_app() as app:
        client = sdk_client(app)
        counted = await client.messages.count_tokens(**request)
        message = await client.messages.create(max_tokens=10, **request)
    assert counted.input_tokens == message.usage.input_tokens > 0


async def test_conversation_semantics_reach_the_backend(scripted_app: Any) -> None:
    backend = ScriptedBackend()
    async with scripted_app(backend) as app:
        await sdk_client(app).messages.create(
            model="scripted",
            max_tokens=50,
            system="sys prompt",
            metadata={"user_id": "user-123"},
            messages=[
                {"role": "user", "content": "a"},
                {"role": "user", "content": [{"type": "text", "text": "b"}]},
                {"role": "assistant", "content": "The answer is ("},
            ],
        )
    sent = backend.requests[-1]
    assert sent.system == "sys prompt"
    assert [t.role for t in sent.turns] == ["user", "assistant"]
    assert [p.text for p in sent.turns[0].parts] == ["a", "b"]  # type: ignore[union-attr]
    assert sent.prefill == "The answer is ("


async def test_sampling_params_follow_the_version(scripted_app: Any) -> None:
    backend = ScriptedBackend()
    async with scripted_app(backend) as app:
        current = sdk_client(app)
        with pytest.raises(anthropic.BadRequestError) as info:
            await current.messages.create(
                model="scripted", max_tokens=5, messages=USER, extra_body={"temperature": 1.0}
            )
        assert info.value.body["error"]["message"] == "temperature: Extra inputs are not permitted"
        older = sdk_client(app, default_headers={"anthropic-version": "2023-06-01"})
        await older.messages.create(
            model="scripted",
            max_tokens=5,
            messages=USER,
            extra_body={"temperature": 0.0, "top_k": 5, "top_p": 0.5},
        )
    sampling = backend.requests[-1].sampling
    assert (sampling.temperature, sampling.top_k, sampling.top_p) == (0.0, 5, 0.5)


async def test_max_tokens_clamped_to_model(scripted_app: Any) -> None:
    backend = ScriptedBackend(capabilities=Capabilities(context_window=4096, max_output_tokens=256))
    async with scripted_app(backend) as app:
        await sdk_client(app).messages.create(model="scripted", max_tokens=20000, messages=USER)
    assert backend.requests[-1].max_tokens == 256


async def test_thinking_accepted_without_thinking_block(scripted_app: Any) -> None:
    async with scripted_app() as app:
        message = await sdk_client(app).messages.create(
            model="scripted",
            max_tokens=4096,
            messages=USER,
            thinking={"type": "enabled", "budget_tokens": 2048},
        )
    assert [b.type for b in message.content] == ["text"]


async def test_tool_choice_maps_to_modes(scripted_app: Any) -> None:
    backend = ScriptedBackend()
    async with scripted_app(backend) as app:
        client = sdk_client(app)
        for choice in (
            {"type": "auto", "disable_parallel_tool_use": True},
            {"type": "any"},
            {"type": "tool", "name": "get_weather"},
            {"type": "none"},
        ):
            await client.messages.create(
                model="scripted",
                max_tokens=5,
                messages=USER,
                tools=[WEATHER_TOOL],
                tool_choice=choice,  # type: ignore[arg-type]
            )
    modes = [(r.tool_mode.kind, r.tool_mode.only, r.tool_mode.single) for r in backend.requests]
    assert modes == [
        ("auto", None, True),
        ("required", None, False),
        ("required", "get_weather", False),
        ("none", None, False),
    ]


async def test_unknown_model_is_404(scripted_app: Any) -> None:
    async with scripted_app() as app:
        with pytest.raises(anthropic.NotFoundError) as info:
            await sdk_client(app).messages.create(model="claude-nope", max_tokens=5, messages=USER)
    error = info.value.body["error"]
    assert error["type"] == "not_found_error"
    assert error["message"].startswith("model: claude-nope (this server serves scripted;")


@pytest.mark.parametrize(
    ("block", "needle"),
    [
        (
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"},
            },
            "cannot read images",
        ),
        (
            {"type": "document", "source": {"type": "url", "url": "https://x/y.pdf"}},
            "does not fetch URLs",
        ),
    ],
)
async def test_unsupported_input_is_a_clear_400(scripted_app: Any, block: Any, needle: str) -> None:
    async with scripted_app() as app:
        with pytest.raises(anthropic.BadRequestError) as info:
            await sdk_client(app).messages.create(
                model="scripted",
                max_tokens=5,
                messages=[{"role": "user", "content": [block, {"type": "text", "text": "hi"}]}],
            )
    message = info.value.body["error"]["message"]
    assert message.startswith("messages.0.content.0")
    assert needle in message


async def test_server_tools_refused_by_name(scripted_app: Any) -> None:
    async with scripted_app() as app:
        with pytest.raises(anthropic.BadRequestError) as info:
            await sdk_client(app).messages.create(
                model="scripted",
                max_tokens=5,
                messages=USER,
                tools=[{"type": "web_search_20250305", "name": "web_search", "max_uses": 2}],
            )
    assert "tools.0: tool type `web_search_20250305`" in info.value.body["error"]["message"]
