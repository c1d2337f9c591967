"""Neutral requests ↔ OpenAI chat completions: every mapping, both directions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from parley.backends.base import (
    Finished,
    GenerationRequest,
    ImagePart,
    PromptProcessed,
    Reasoning,
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
from parley.backends.common.upstream import ReplicaPool
from parley.backends.openai.chat_completions import ChunkReader, chat_request, continuation

TOOL = ToolSpec(
    "get_weather", "Weather", {"type": "object", "properties": {"city": {"type": "string"}}}
)


def request(**changes: object) -> GenerationRequest:
    base: dict[str, object] = {
        "model": "m",
        "system": "Be brief.",
        "max_tokens": 50,
        "tools": (TOOL,),
        "turns": (
            Turn("user", (TextPart("Weather?"), ImagePart("image/png", b"\x89PNG"))),
            Turn(
                "assistant",
                (TextPart("Checking."), ToolCallPart("toolu_1", "get_weather", {"city": "Paris"})),
            ),
            Turn(
                "user",
                (ToolResultPart("toolu_1", (TextPart("18C"),), is_error=True), TextPart("thanks")),
            ),
        ),
    }
    base.update(changes)
    return GenerationRequest(**base)  # type: ignore[arg-type]


def test_messages_tools_and_sampling() -> None:
    body = chat_request(
        request(stop_sequences=("END",), sampling=Sampling(0.5, 0.9, 40, seed=7)), "up"
    )
    system, user, assistant, tool, thanks = body["messages"]
    assert system == {"role": "system", "content": "Be brief."}
    assert user["content"][1] == {
        "type": "image_url",
        "image_url": {"url": "data:image/png;base64,iVBORw=="},
    }
    assert assistant["content"] == "Checking."
    assert assistant["tool_calls"][0]["function"] == {
        "name": "get_weather",
        "arguments": '{"city": "Paris"}',
    }
    assert tool == {"role": "tool", "tool_call_id": "toolu_1", "content": "Error: 18C"}
    assert thanks == {"role": "user", "content": "thanks"}
    assert body["tools"][0]["function"]["parameters"] == TOOL.input_schema
    assert (body["temperature"], body["top_p"], body["top_k"], body["seed"]) == (0.5, 0.9, 40, 7)
    assert body["stop"] == ["END"] and body["stream_options"] == {"include_usage": True}


def test_tool_choice_mapping() -> None:
    def choice(mode: ToolMode) -> object:
        body = chat_request(request(tool_mode=mode), "up")
        return body["tool_choice"], body.get("parallel_tool_calls")

    assert choice(ToolMode("auto")) == ("auto", None)
    assert choice(ToolMode("required")) == ("required", None)
    assert choice(ToolMode("required", only="get_weather", single=True)) == (
        {"type": "function", "function": {"name": "get_weather"}},
        False,
    )
    assert choice(ToolMode("none")) == ("none", None)


def test_json_schema_output() -> None:
    body = chat_request(request(json_schema={"type": "object"}), "up")
    assert body["response_format"]["json_schema"]["schema"] == {"type": "object"}


def chunk(
    delta: dict[str, object] | None = None, finish: str | None = None, **extra: object
) -> dict[str, object]:
    choice: dict[str, object] = {"index": 0, "delta": delta or {}, "finish_reason": finish, **extra}
    return {"choices": [choice]}


def test_stream_of_reasoning_text_and_tool_calls() -> None:
    reader = ChunkReader()
    events = []
    for c in (
        chunk({"reasoning_content": "Think."}),
        chunk({"content": "Sure."}),
        chunk(
            {
                "tool_calls": [
                    {"index": 0, "id": "c1", "function": {"name": "get_weather", "arguments": ""}}
                ]
            }
        ),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Rome"}'}}]}),
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 1,
                        "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
                    }
                ]
            }
        ),
        chunk(finish="tool_calls"),
        {
            "choices": [],
            "usage": {
                "prompt_tokens": 30,
                "completion_tokens": 12,
                "prompt_tokens_details": {"cached_tokens": 16},
            },
        },
    ):
        events += reader.feed(c)
    events += reader.finish()
    assert events[0] == PromptProcessed(input_tokens=0)
    assert events[1:4] == [
        ThinkingChunk("Think."),
        TextChunk("Sure."),
        ToolCallStart("get_weather"),
    ]
    arguments = "".join(e.json for e in events[4:6])  # type: ignore[union-attr]
    assert json.loads(arguments) == {"city": "Rome"}
    assert events[6] == ToolCallEnd({"city": "Rome"})
    assert events[7:10] == [
        ToolCallStart("get_weather"),
        ToolCallChunk('{"city": "Oslo"}'),
        ToolCallEnd({"city": "Oslo"}),
    ]
    assert events[-1] == Finished("tool_use", 12, None, prompt=PromptProcessed(30, 16))


def test_finish_reasons_and_named_stops() -> None:
    def finished(reason: str, **extra: object) -> Finished:
        reader = ChunkReader(stop_sequences=("END",))
        reader.feed(chunk({"content": "x"}, finish=reason, **extra))
        end = reader.finish()[-1]
        assert isinstance(end, Finished)
        return end

    assert finished("stop").reason == "end_turn"
    assert finished("length").reason == "max_tokens"
    named = finished("stop", stop_reason="END")  # vLLM says which stop sequence matched
    assert (named.reason, named.stop_sequence) == ("stop_sequence", "END")


def test_replicas_least_busy_with_affinity() -> None:
    pool = ReplicaPool(["http://a", "http://b", "http://c"], health_path="/")
    a, b, c = pool.replicas
    a.outstanding, b.outstanding, c.outstanding = 3, 0, 1
    assert pool.candidates(None) == [b, c, a]
    home = pool.candidates("conversation-1")[0]
    home.outstanding = 10  # far busier than the others: affinity yields
    assert pool.candidates("conversation-1")[0] is not home
    c.healthy = False
    assert pool.candidates(None)[-1] is c


def test_prefill_continues_the_final_message() -> None:
    ask = (Turn("user", (TextPart("Count"),)),)
    fresh = chat_request(request(turns=ask, tools=()), "up")
    assert "continue_final_message" not in fresh
    prefilled = request(turns=(*ask, Turn("assistant", (TextPart("1, 2,"),))), tools=())
    body = chat_request(prefilled, "up")
    assert body["messages"][-1] == {"role": "assistant", "content": "1, 2,"}
    assert body["continue_final_message"] is True and body["add_generation_prompt"] is False
    # Resuming after " 3, 4," was streamed: one prefill, both parts, 3 tokens fewer.
    resumed = continuation(prefilled, " 3, 4,", used_tokens=3)
    assert resumed.turns[-1] == Turn("assistant", (TextPart("1, 2, 3, 4,"),))
    assert len(resumed.turns) == 2 and resumed.max_tokens == 47
    assert continuation(prefilled, "", used_tokens=0) is prefilled


@pytest.mark.parametrize(
    ("reasoning", "dialect", "fields"),
    [
        (Reasoning("enabled", budget_tokens=2048), "none", {}),
        (Reasoning("disabled"), "reasoning_effort", {"reasoning_effort": "low"}),
        (Reasoning("enabled", budget_tokens=2048), "reasoning_effort", {"reasoning_effort": "low"}),
        (
            Reasoning("enabled", budget_tokens=10000),
            "reasoning_effort",
            {"reasoning_effort": "medium"},
        ),
        (
            Reasoning("enabled", budget_tokens=32000),
            "reasoning_effort",
            {"reasoning_effort": "high"},
        ),
        (Reasoning("adaptive", effort="max"), "reasoning_effort", {"reasoning_effort": "high"}),
        (Reasoning("adaptive"), "reasoning_effort", {}),
        (
            Reasoning("disabled"),
            "enable_thinking",
            {"chat_template_kwargs": {"enable_thinking": False}},
        ),
        (
            Reasoning("enabled", budget_tokens=2048),
            "enable_thinking",
            {"chat_template_kwargs": {"enable_thinking": True}},
        ),
        (
            Reasoning("adaptive"),
            "enable_thinking",
            {"chat_template_kwargs": {"enable_thinking": True}},
        ),
    ],
)
def test_thinking_in_each_dialect(
    reasoning: Reasoning, dialect: Any, fields: dict[str, Any]
) -> None:
    body = chat_request(request(reasoning=reasoning), "up", dialect)
    assert {k: body[k] for k in ("reasoning_effort", "chat_template_kwargs") if k in body} == fields


@pytest.mark.parametrize(
    ("dialect", "field", "sent"),
    [
        ("enable_thinking", "thinking_budget_tokens", {"thinking_budget_tokens": 2048}),
        ("enable_thinking", "thinking_token_budget", {"thinking_token_budget": 2048}),
        ("reasoning_effort", "thinking_token_budget", {"thinking_token_budget": 2048}),
        ("none", "thinking_budget_tokens", {}),
        ("enable_thinking", "none", {}),
    ],
)
def test_a_budget_goes_where_the_upstream_takes_it(
    dialect: Any, field: Any, sent: dict[str, Any]
) -> None:
    enabled = Reasoning("enabled", budget_tokens=2048)
    body = chat_request(request(reasoning=enabled), "up", dialect, field)
    assert {
        k: body[k] for k in ("thinking_budget_tokens", "thinking_token_budget") if k in body
    } == sent
    adaptive = chat_request(request(reasoning=Reasoning("adaptive")), "up", dialect, field)
    assert "thinking_budget_tokens" not in adaptive and "thinking_token_budget" not in adaptive


def test_a_budget_as_a_template_variable() -> None:
    enabled = Reasoning("enabled", budget_tokens=512)
    body = chat_request(request(reasoning=enabled), "up", "enable_thinking", "thinking_budget")
    assert body["chat_template_kwargs"] == {"enable_thinking": True, "thinking_budget": 512}


def test_reasoning_tokens_the_upstream_counted_are_thinking_tokens() -> None:
    reader = ChunkReader()
    reader.feed(chunk({"reasoning": "Hmm."}))
    reader.feed(chunk({"content": "Yes."}, finish="stop"))
    details = {"reasoning_tokens": 3}
    usage = {"prompt_tokens": 9, "completion_tokens": 5, "completion_tokens_details": details}
    reader.feed({"choices": [], "usage": usage})
    (finished,) = reader.finish()
    assert finished == Finished("end_turn", 5, None, PromptProcessed(9), thinking_tokens=3)
