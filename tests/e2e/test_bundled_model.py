"""End to end on the bundled SmolLM2-135M GGUF, driven by the official SDK in-process."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import anthropic
import jsonschema
import pytest

from tests.support import sdk_client

pytestmark = pytest.mark.slow

MODEL = "smollm2-135m-instruct"
WEATHER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "City name"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer"},
    },
    "required": ["city", "unit"],
}
TOOLS = [
    {
        "name": "get_weather",
        "description": "Get the weather forecast for a city.",
        "input_schema": WEATHER_SCHEMA,
    },
    {
        "name": "get_time",
        "description": "Current time in a timezone.",
        "input_schema": {
            "type": "object",
            "properties": {"tz": {"type": "string"}},
            "required": ["tz"],
        },
    },
]
ASK = [{"role": "user", "content": "What is the weather like in Paris this week?"}]


def v1_client(app: Any) -> anthropic.AsyncAnthropic:
    return sdk_client(app, default_headers={"anthropic-version": "2023-06-01"})


async def test_create_stream_and_count_agree(model_app: Any) -> None:
    client = sdk_client(model_app)
    request: dict[str, Any] = {"model": MODEL, "system": "You are terse.", "messages": ASK}
    counted = await client.messages.count_tokens(**request)
    message = await client.messages.create(max_tokens=40, **request)
    async with client.messages.stream(max_tokens=40, **request) as stream:
        streamed = "".join([t async for t in stream.text_stream])
        final = await stream.get_final_message()
    assert counted.input_tokens == message.usage.input_tokens == final.usage.input_tokens
    assert message.content and message.content[0].type == "text" and message.content[0].text
    assert streamed == final.content[0].text  # type: ignore[union-attr]
    assert 0 < final.usage.output_tokens <= 40


async def test_temperature_zero_is_deterministic(model_app: Any) -> None:
    client = v1_client(model_app)
    outputs = [
        (
            await client.messages.create(
                model=MODEL, max_tokens=30, messages=ASK, extra_body={"temperature": 0.0}
            )
        )
        .content[0]
        .text  # type: ignore[union-attr]
        for _ in range(2)
    ]
    assert outputs[0] == outputs[1]


async def test_max_tokens_is_exact(model_app: Any) -> None:
    message = await sdk_client(model_app).messages.create(
        model=MODEL, max_tokens=7, messages=[{"role": "user", "content": "Write a long story."}]
    )
    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens == 7


async def test_stop_sequence_on_the_model(model_app: Any) -> None:
    message = await v1_client(model_app).messages.create(
        model=MODEL,
        max_tokens=60,
        stop_sequences=["7"],
        extra_body={"temperature": 0.0},
        messages=[
            {"role": "user", "content": "Count from 1 to 20, separated by commas."},
            {"role": "assistant", "content": "1, 2, 3,"},
        ],
    )
    assert message.stop_reason == "stop_sequence"
    assert message.stop_sequence == "7"
    text = message.content[0].text  # type: ignore[union-attr]
    assert "7" not in text and "6" in text


async def test_prefill_is_continued_not_repeated(model_app: Any) -> None:
    message = await v1_client(model_app).messages.create(
        model=MODEL,
        max_tokens=20,
        extra_body={"temperature": 0.0},
        messages=[
            {"role": "user", "content": "What is the capital of France?"},
            {"role": "assistant", "content": "The capital of France is"},
        ],
    )
    text = message.content[0].text  # type: ignore[union-attr]
    assert not text.startswith("The capital")
    assert "Paris" in text


@pytest.mark.parametrize(
    "choice",
    [
        {"type": "any"},
        {"type": "any", "disable_parallel_tool_use": True},
        {"type": "tool", "name": "get_weather"},
    ],
)
async def test_forced_tool_use_validates_against_the_schema(model_app: Any, choice: Any) -> None:
    message = await sdk_client(model_app).messages.create(
        model=MODEL, max_tokens=300, messages=ASK, tools=TOOLS, tool_choice=choice
    )
    uses = [b for b in message.content if b.type == "tool_use"]
    assert uses and uses[0] is message.content[0]  # forced calls start the response
    assert all(b.type == "tool_use" for b in message.content)
    if choice.get("disable_parallel_tool_use"):
        assert message.stop_reason == "tool_use"
        assert len(uses) == 1
    else:
        # Parallel calls are allowed, and a 135M model may keep calling until max_tokens
        # cuts the last call short; every call it finished must still validate.
        assert message.stop_reason in ("tool_use", "max_tokens")
        if message.stop_reason == "max_tokens":
            uses = uses[:-1]
        assert uses
    for use in uses:
        assert use.id.startswith("toolu_")
        schema = next(t["input_schema"] for t in TOOLS if t["name"] == use.name)
        jsonschema.validate(use.input, schema)
        if choice["type"] == "tool":
            assert use.name == "get_weather"


@pytest.mark.timeout(600)  # eight sampled answers, on a possibly busy machine
async def test_a_forced_call_is_never_repeated_word_for_word(model_app: Any) -> None:
    # Sampled (temperature 1), the 135M model often wrote the same call twice or more in
    # one answer; an identical call now ends the turn instead of reaching the client.
    client = v1_client(model_app)
    answers = await asyncio.gather(
        *(
            client.messages.create(
                model=MODEL,
                max_tokens=160,
                messages=ASK,
                tools=TOOLS,
                tool_choice=choice,
                extra_body={"temperature": 1.0},
            )
            for choice in [{"type": "any"}, {"type": "tool", "name": "get_weather"}] * 4
        )
    )
    for answer in answers:
        calls = [(b.name, json.dumps(b.input, sort_keys=True)) for b in answer.content]  # type: ignore[union-attr]
        assert len(calls) == len(set(calls)), calls
        assert answer.stop_reason in ("tool_use", "max_tokens")


async def test_forced_calls_cut_by_max_tokens_leave_only_tool_use(model_app: Any) -> None:
    # The grammar lets a forced answer go on with another call, so max_tokens can land
    # anywhere, the next call's opening tag included: never text, and every call that
    # was finished is the one the whole answer has.
    client = v1_client(model_app)
    request: dict[str, Any] = {
        "model": MODEL,
        "messages": ASK,
        "tools": TOOLS,
        "tool_choice": {"type": "any"},
        "extra_body": {"temperature": 0.0},
    }
    whole = await client.messages.create(max_tokens=300, **request)
    # Eight cuts spread over the answer (every other token cost minutes on a busy machine).
    cuts = sorted(set(range(1, whole.usage.output_tokens, max(1, whole.usage.output_tokens // 8))))
    answers = await asyncio.gather(*(client.messages.create(max_tokens=n, **request) for n in cuts))
    for answer in answers:
        assert answer.stop_reason == "max_tokens"
        assert all(b.type == "tool_use" for b in answer.content)
        finished = answer.content[:-1]  # the last call may be cut short
        assert [b.input for b in finished] == [b.input for b in whole.content[: len(finished)]]  # type: ignore[union-attr]


async def test_streamed_tool_use_fragments_concatenate(model_app: Any) -> None:
    client = sdk_client(model_app)
    async with client.messages.stream(
        model=MODEL,
        max_tokens=300,
        messages=ASK,
        tools=TOOLS,
        tool_choice={"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True},
    ) as stream:
        fragments = [
            e.delta.partial_json
            async for e in stream
            if e.type == "content_block_delta" and e.delta.type == "input_json_delta"
        ]
        final = await stream.get_final_message()
    use = final.content[0]
    assert use.type == "tool_use"
    assert json.loads("".join(fragments)) == use.input
    jsonschema.validate(use.input, WEATHER_SCHEMA)


async def test_tool_result_round_trip_on_the_model(model_app: Any) -> None:
    client = sdk_client(model_app)
    first = await client.messages.create(
        model=MODEL,
        max_tokens=200,
        messages=ASK,
        tools=TOOLS,
        tool_choice={"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True},
    )
    use = first.content[0]
    assert use.type == "tool_use"
    follow_up = [
        *ASK,
        {"role": "assistant", "content": [use.model_dump()]},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": use.id, "content": "Sunny, 21 degrees."}
            ],
        },
    ]
    counted = await client.messages.count_tokens(model=MODEL, messages=follow_up, tools=TOOLS)
    answer = await client.messages.create(
        model=MODEL, max_tokens=40, messages=follow_up, tools=TOOLS
    )
    assert answer.usage.input_tokens == counted.input_tokens
    assert answer.stop_reason in ("end_turn", "max_tokens", "tool_use")


async def test_structured_output_is_valid_json(model_app: Any) -> None:
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string"}, "confident": {"type": "boolean"}},
        "required": ["answer", "confident"],
        "additionalProperties": False,
    }
    message = await sdk_client(model_app).messages.create(
        model=MODEL,
        max_tokens=100,
        messages=[{"role": "user", "content": "Capital of Italy?"}],
        output_config={"format": {"type": "json_schema", "schema": schema}},
    )
    jsonschema.validate(json.loads(message.content[0].text), schema)  # type: ignore[union-attr]


async def test_prompt_too_long(model_app: Any) -> None:
    long_text = "word " * 9000
    with pytest.raises(anthropic.BadRequestError) as info:
        await sdk_client(model_app).messages.create(
            model=MODEL, max_tokens=10, messages=[{"role": "user", "content": long_text}]
        )
    message = info.value.body["error"]["message"]
    assert message.startswith("prompt is too long: ")
    assert message.endswith(" > 8192 maximum")


async def test_native_tool_template_on_the_model(tmp_path: Any) -> None:
    """A model whose template renders tools itself: calls still parse and validate."""
    from parley.app import create_app
    from parley.config import BUNDLED_MODEL_ID
    from tests.fixtures.templates import HERMES_WITH_TOOLS
    from tests.support import make_settings, running

    model = {
        "id": BUNDLED_MODEL_ID,
        "options": {"gguf": "bundled:smollm2", "chat_template": HERMES_WITH_TOOLS},
    }
    async with running(create_app(make_settings(tmp_path, models=[model]))) as app:
        client = sdk_client(app)
        message = await client.messages.create(
            model=MODEL,
            max_tokens=200,
            messages=ASK,
            tools=TOOLS,
            tool_choice={"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True},
        )
        use = message.content[0]
        assert use.type == "tool_use" and message.stop_reason == "tool_use"
        jsonschema.validate(use.input, WEATHER_SCHEMA)
        follow_up = [
            *ASK,
            {"role": "assistant", "content": [use.model_dump()]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "Sunny"}],
            },
        ]
        counted = await client.messages.count_tokens(model=MODEL, messages=follow_up, tools=TOOLS)
        answer = await client.messages.create(
            model=MODEL, max_tokens=20, messages=follow_up, tools=TOOLS
        )
        assert answer.usage.input_tokens == counted.input_tokens


async def test_sdk_batches_on_the_bundled_model(model_app: Any) -> None:
    import asyncio

    client = sdk_client(model_app)
    questions = ["Capital of France?", "Name a colour.", "What is 2 + 2?"]
    batch = await client.messages.batches.create(
        requests=[
            {
                "custom_id": f"q{i}",
                "params": {
                    "model": MODEL,
                    "max_tokens": 16,
                    "messages": [{"role": "user", "content": q}],
                },
            }
            for i, q in enumerate(questions)
        ]
    )
    while batch.processing_status != "ended":
        await asyncio.sleep(0.1)
        batch = await client.messages.batches.retrieve(batch.id)
    assert batch.request_counts.succeeded == 3
    results = {r.custom_id: r.result async for r in await client.messages.batches.results(batch.id)}
    assert set(results) == {"q0", "q1", "q2"}
    for result in results.values():
        assert result.type == "succeeded"
        assert result.message.usage.service_tier == "batch"
        assert result.message.content and result.message.content[0].text  # type: ignore[union-attr]


async def test_answers_from_an_uploaded_pdf(model_app: Any) -> None:
    from tests.fixtures.pdf import make_pdf

    client = sdk_client(model_app)
    pdf = await client.files.upload(
        file=("memo.pdf", make_pdf(["Memo. The secret code is PINEAPPLE-42."]), "application/pdf")
    )
    messages = [
        {
            "role": "user",
            "content": [
                {
                    "type": "document",
                    "source": {"type": "file", "file_id": pdf.id},
                    "title": "Memo",
                },
                {
                    "type": "text",
                    "text": "What is the secret code in the memo? Answer with the code.",
                },
            ],
        }
    ]
    counted = await client.messages.count_tokens(model=MODEL, messages=messages)
    answer = await client.messages.create(
        model=MODEL,
        max_tokens=30,
        messages=messages,
        extra_headers={"anthropic-version": "2023-06-01"},
        extra_body={"temperature": 0.0},
    )
    usage = answer.usage
    total = usage.input_tokens + (usage.cache_read_input_tokens or 0)
    total += usage.cache_creation_input_tokens or 0
    assert total == counted.input_tokens
    assert "PINEAPPLE" in answer.content[0].text  # type: ignore[union-attr]
