"""The official ``openai`` client (async, strict validation) against the app, scripted model.

What the client sends is checked where it lands, in the backend's neutral request;
what comes back is parsed by the client's own models.
"""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from parley.backends.base import (
    Capabilities,
    Finished,
    GenerationRequest,
    ImagePart,
    TextChunk,
    TextPart,
    ToolCallChunk,
    ToolCallEnd,
    ToolCallPart,
    ToolCallStart,
    ToolResultPart,
)
from parley.backends.scripted import ScriptedBackend
from tests.support import openai_client, raw_client

PNG_1PX_B64 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    "YPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)

USER: list[Any] = [{"role": "user", "content": "one two three four five"}]
WEATHER: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def tool_script(_: GenerationRequest) -> list[Any]:
    return [
        ToolCallStart("get_weather"),
        ToolCallChunk('{"city": '),
        ToolCallChunk('"Paris"}'),
        ToolCallEnd({"city": "Paris"}),
        Finished("tool_use", 7),
    ]


async def test_create_answers_in_openais_shape(scripted_app: Any) -> None:
    async with scripted_app() as app:
        answer = await openai_client(app).chat.completions.create(model="scripted", messages=USER)
    assert answer.object == "chat.completion"
    assert answer.model == "scripted"
    (choice,) = answer.choices
    assert choice.message.role == "assistant"
    assert choice.message.content == "one two three four five"
    assert choice.finish_reason == "stop"
    assert answer.usage is not None
    assert answer.usage.completion_tokens == 5
    assert answer.usage.total_tokens == answer.usage.prompt_tokens + 5
    assert answer.usage.prompt_tokens_details is not None
    assert answer.usage.prompt_tokens_details.cached_tokens == 0


async def test_max_completion_tokens_and_max_tokens_end_with_length(scripted_app: Any) -> None:
    async with scripted_app() as app:
        client = openai_client(app)
        newer = await client.chat.completions.create(
            model="scripted", messages=USER, max_completion_tokens=2
        )
        older = await client.chat.completions.create(model="scripted", messages=USER, max_tokens=3)
    assert (newer.choices[0].finish_reason, newer.choices[0].message.content) == (
        "length",
        "one two",
    )
    assert older.choices[0].message.content == "one two three"


async def test_conversation_roles_reach_the_model(scripted_app: Any) -> None:
    backend = ScriptedBackend()
    conversation: Any = [
        {"role": "system", "content": "Be brief."},
        {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        {"role": "user", "content": "And tomorrow?"},
    ]
    async with scripted_app(backend) as app:
        await openai_client(app).chat.completions.create(
            model="scripted",
            messages=conversation,
            tools=[WEATHER],
            temperature=1.7,
            top_p=0.9,
            stop=["tomorrow"],
            seed=42,
        )
    (request,) = backend.requests
    assert request.system == "Be brief.\n\nAnswer in French."
    assert [t.role for t in request.turns] == ["user", "assistant", "user"]
    call = request.turns[1].parts[0]
    assert isinstance(call, ToolCallPart)
    assert (call.call_id, call.name, call.arguments) == ("call_1", "get_weather", {"city": "Paris"})
    result, text = request.turns[2].parts
    assert isinstance(result, ToolResultPart) and result.call_id == "call_1"
    assert isinstance(text, TextPart) and text.text == "And tomorrow?"
    assert request.tools[0].name == "get_weather"
    # Temperature above Claude's 1 is taken as 1, as the hosted compatibility does.
    assert (request.sampling.temperature, request.sampling.top_p) == (1.0, 0.9)
    assert request.sampling.seed == 42
    assert request.stop_sequences == ("tomorrow",)


@pytest.mark.parametrize(
    ("choice", "kind", "only"),
    [
        ("required", "required", None),
        ({"type": "function", "function": {"name": "get_weather"}}, "required", "get_weather"),
        ("none", "none", None),
        ("auto", "auto", None),
    ],
)
async def test_tool_choice_maps_to_the_tool_mode(
    scripted_app: Any, choice: Any, kind: str, only: str | None
) -> None:
    backend = ScriptedBackend()
    async with scripted_app(backend) as app:
        await openai_client(app).chat.completions.create(
            model="scripted",
            messages=USER,
            tools=[WEATHER],
            tool_choice=choice,
            parallel_tool_calls=False,
        )
    mode = backend.requests[0].tool_mode
    assert (mode.kind, mode.only) == (kind, only)
    assert mode.single is (kind != "none")


async def test_a_tool_call_comes_back_as_tool_calls(scripted_app: Any) -> None:
    async with scripted_app(ScriptedBackend(tool_script)) as app:
        answer = await openai_client(app).chat.completions.create(
            model="scripted", messages=USER, tools=[WEATHER], tool_choice="required"
        )
    choice = answer.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls or []
    assert call.type == "function"
    assert call.id.startswith("toolu_")
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}


async def test_stream_with_usage(scripted_app: Any) -> None:
    async with scripted_app() as app:
        stream = await openai_client(app).chat.completions.create(
            model="scripted",
            messages=USER,
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "one two three four five"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop" and set(finishes[:-1]) == {None}
    *body, last = chunks
    assert last.choices == [] and last.usage is not None
    assert last.usage.completion_tokens == 5
    assert all(c.usage is None for c in body)


async def test_stream_without_usage_has_no_usage_field(scripted_app: Any) -> None:
    async with scripted_app() as app, raw_client(app) as client:
        response = await client.post(
            "/v1/chat/completions",
            headers={"authorization": f"Bearer {openai_client(app).api_key}"},
            json={"model": "scripted", "messages": USER, "stream": True},
        )
    assert response.status_code == 200
    lines = [line for line in response.text.splitlines() if line]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]
    assert chunks and all("usage" not in c for c in chunks)


async def test_streamed_tool_call_arguments_arrive_in_pieces(scripted_app: Any) -> None:
    async with scripted_app(ScriptedBackend(tool_script)) as app:
        stream = await openai_client(app).chat.completions.create(
            model="scripted", messages=USER, tools=[WEATHER], stream=True
        )
        chunks = [chunk async for chunk in stream]
    calls = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or []]
    assert calls[0].id is not None and calls[0].function is not None
    assert calls[0].function.name == "get_weather"
    assert {tc.index for tc in calls} == {0}
    arguments = "".join(tc.function.arguments or "" for tc in calls if tc.function)
    assert json.loads(arguments) == {"city": "Paris"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


@pytest.mark.parametrize(
    ("response_format", "schema"),
    [
        ({"type": "json_object"}, {"type": "object"}),
        (
            {
                "type": "json_schema",
                "json_schema": {
                    "name": "city",
                    "schema": {"type": "object", "properties": {"name": {"type": "string"}}},
                },
            },
            {"type": "object", "properties": {"name": {"type": "string"}}},
        ),
    ],
)
async def test_response_format_constrains_the_output(
    scripted_app: Any, response_format: Any, schema: Any
) -> None:
    backend = ScriptedBackend()
    async with scripted_app(backend) as app:
        await openai_client(app).chat.completions.create(
            model="scripted", messages=USER, response_format=response_format
        )
    assert backend.requests[0].json_schema == schema


async def test_an_image_part_reaches_a_vision_model(scripted_app: Any) -> None:
    backend = ScriptedBackend(capabilities=Capabilities(4096, 1024, images=True))
    content: Any = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_1PX_B64}"}},
    ]
    async with scripted_app(backend) as app:
        await openai_client(app).chat.completions.create(
            model="scripted", messages=[{"role": "user", "content": content}]
        )
    parts = backend.requests[0].turns[0].parts
    assert isinstance(parts[1], ImagePart) and parts[1].media_type == "image/png"


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"n": 2}, "n: 2 is not supported"),
        ({"logprobs": True}, "logprobs: true is not supported"),
        ({"frequency_penalty": 0.5}, "frequency_penalty: 0.5 is not supported"),
        ({"audio": {"voice": "alloy", "format": "mp3"}}, "audio: not supported"),
        ({"reasoning_effort": "high"}, "reasoning_effort: not supported"),
        ({"stream_options": {"include_usage": True}}, "stream_options: only allowed"),
    ],
)
async def test_what_parley_does_not_honour_is_a_400_saying_so(
    scripted_app: Any, extra: dict[str, Any], words: str
) -> None:
    async with scripted_app() as app:
        with pytest.raises(openai.BadRequestError) as caught:
            await openai_client(app).chat.completions.create(
                model="scripted", messages=USER, **extra
            )
    assert words in caught.value.message
    assert caught.value.status_code == 400


async def test_neutral_values_of_unhonoured_fields_are_accepted(scripted_app: Any) -> None:
    async with scripted_app() as app:
        answer = await openai_client(app).chat.completions.create(
            model="scripted", messages=USER, n=1, logprobs=False, presence_penalty=0, store=False
        )
    assert answer.choices[0].message.content == "one two three four five"


async def test_errors_raise_what_the_client_raises_against_openai(scripted_app: Any) -> None:
    async with scripted_app() as app:
        with pytest.raises(openai.AuthenticationError):
            await openai_client(app, api_key="sk-parley-api01-nope" + "0" * 48).models.list()
        with pytest.raises(openai.NotFoundError) as missing:
            await openai_client(app).chat.completions.create(model="no-such-model", messages=USER)
        with pytest.raises(openai.BadRequestError) as bad:
            await openai_client(app).chat.completions.create(model="scripted", messages=[])
    assert "no-such-model" in missing.value.message
    assert bad.value.body is not None and bad.value.code is None
    assert isinstance(bad.value.body, dict) and bad.value.body["param"] == "messages"


async def test_a_rate_limit_is_a_rate_limit_error_with_retry_after(scripted_app: Any) -> None:
    limits = {"tier": "t", "tiers": {"t": {"default": {"requests_per_minute": 1}}}}
    async with scripted_app(rate_limits=limits) as app:
        client = openai_client(app)
        await client.chat.completions.create(model="scripted", messages=USER)
        with pytest.raises(openai.RateLimitError) as caught:
            await client.chat.completions.create(model="scripted", messages=USER)
    assert int(caught.value.response.headers["retry-after"]) > 0
    assert caught.value.code == "rate_limit_exceeded"


async def test_a_failing_model_is_an_internal_server_error(scripted_app: Any) -> None:
    def broken(_: GenerationRequest) -> list[Any]:
        raise RuntimeError("the model fell over")

    async with scripted_app(ScriptedBackend(broken)) as app:
        with pytest.raises(openai.InternalServerError) as caught:
            await openai_client(app).chat.completions.create(model="scripted", messages=USER)
    assert caught.value.status_code == 500
    assert caught.value.response.headers["request-id"].startswith("req_")


async def test_models_list_and_retrieve_in_openais_shape(scripted_app: Any) -> None:
    async with scripted_app(aliases={"gpt-4o": "scripted"}) as app:
        client = openai_client(app)
        listed = [m async for m in client.models.list()]
        one = await client.models.retrieve("gpt-4o")
    assert [m.id for m in listed] == ["scripted"]
    assert listed[0].object == "model" and listed[0].owned_by == "parley"
    assert one.id == "scripted"


async def test_model_aliases_apply(scripted_app: Any) -> None:
    async with scripted_app(aliases={"gpt-4o-mini": "scripted"}) as app:
        answer = await openai_client(app).chat.completions.create(
            model="gpt-4o-mini", messages=USER
        )
    assert answer.model == "scripted"


async def test_the_claude_models_list_is_unchanged(scripted_app: Any) -> None:
    async with scripted_app() as app, raw_client(app) as client:
        claude = await client.get(
            "/v1/models",
            headers={
                "anthropic-version": "2023-06-01",
                "authorization": f"Bearer {openai_client(app).api_key}",
            },
        )
        missing_version = await client.get(
            "/v1/models", headers={"x-api-key": openai_client(app).api_key}
        )
    assert claude.json()["data"][0]["type"] == "model"
    assert claude.json()["has_more"] is False
    assert missing_version.status_code == 400
    assert missing_version.json()["type"] == "error"


async def test_an_error_after_the_stream_began_is_an_error_chunk(scripted_app: Any) -> None:
    def breaks(_: GenerationRequest) -> Any:
        yield TextChunk("one")
        raise RuntimeError("gone")

    async with scripted_app(ScriptedBackend(breaks)) as app:
        stream = await openai_client(app).chat.completions.create(
            model="scripted", messages=USER, stream=True
        )
        with pytest.raises(openai.APIError) as caught:
            async for _ in stream:
                pass
    assert "gone" in caught.value.message
