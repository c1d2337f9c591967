"""The Claude stream as OpenAI chunks, event by event (the converter alone)."""

from __future__ import annotations

from typing import Any

from parley.compat.openai.chunks import ChunkWriter
from parley.compat.openai.convert import completion

START = {
    "type": "message_start",
    "message": {"id": "msg_1", "model": "m", "usage": {"input_tokens": 7, "output_tokens": 0}},
}


def feed_all(writer: ChunkWriter, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [chunk for event in events for chunk in writer.feed(event)]


def test_two_tool_calls_are_numbered_in_order_and_text_is_content() -> None:
    tool = {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}
    events = [
        START,
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": tool},
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": "{}"},
        },
        {"type": "content_block_start", "index": 2, "content_block": {**tool, "id": "toolu_2"}},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use"},
            "usage": {"output_tokens": 9},
        },
        {"type": "message_stop"},
    ]
    chunks = feed_all(ChunkWriter(created=1, include_usage=True), events)
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert deltas[0] == {"role": "assistant", "content": ""}
    assert deltas[1] == {"content": "Hi"}
    assert deltas[2]["tool_calls"][0]["index"] == 0
    assert deltas[2]["tool_calls"][0]["id"] == "toolu_1"
    assert deltas[3] == {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}
    assert deltas[4]["tool_calls"][0]["index"] == 1
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["usage"] == {
        "prompt_tokens": 7,
        "completion_tokens": 9,
        "total_tokens": 16,
        "prompt_tokens_details": {"cached_tokens": 0},
    }


def test_an_upstream_error_event_becomes_an_error_object() -> None:
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}
    chunks = feed_all(ChunkWriter(created=1, include_usage=False), [START, error])
    # As the same error outside a stream would be written.
    assert chunks[-1] == {
        "error": {"message": "busy", "type": "server_error", "param": None, "code": "overloaded"}
    }


def test_cached_tokens_are_part_of_the_prompt() -> None:
    message = {
        "id": "msg_1",
        "model": "m",
        "content": [{"type": "thinking", "thinking": "hm"}, {"type": "text", "text": "ok"}],
        "stop_reason": "max_tokens",
        "usage": {
            "input_tokens": 3,
            "cache_read_input_tokens": 100,
            "cache_creation_input_tokens": 20,
            "output_tokens": 4,
        },
    }
    answer = completion(message, created=5)
    assert answer["choices"][0]["message"]["content"] == "ok"
    assert answer["choices"][0]["finish_reason"] == "length"
    assert answer["usage"]["prompt_tokens"] == 123
    assert answer["usage"]["prompt_tokens_details"] == {"cached_tokens": 100}
