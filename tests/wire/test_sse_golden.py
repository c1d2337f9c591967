"""Golden SSE transcripts: the exact bytes of a stream, ids normalised.

To update after a deliberate change: ``PARLEY_UPDATE_GOLDEN=1 pytest tests/wire``,
then read the diff of ``tests/fixtures/sse/`` before committing it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from parley.backends.base import (
    Finished,
    GenerationRequest,
    TextChunk,
    ToolCallChunk,
    ToolCallEnd,
    ToolCallStart,
)
from parley.backends.scripted import ScriptedBackend
from parley.errors import OverloadedError
from tests.support import V1, raw_client

GOLDEN = Path(__file__).parent.parent / "fixtures" / "sse"


def text_script(_: GenerationRequest) -> list[Any]:
    return [TextChunk("Hello"), TextChunk("!"), Finished("end_turn", 2)]


def tool_script(_: GenerationRequest) -> list[Any]:
    return [
        TextChunk("I'll check the weather."),
        TextChunk("\n"),
        ToolCallStart("get_weather"),
        ToolCallChunk('{"location":'),
        ToolCallChunk(' "Paris"}'),
        ToolCallEnd({"location": "Paris"}),
        TextChunk("\n"),
        Finished("tool_use", 21),
    ]


def normalise(text: str) -> str:
    text = re.sub(r"msg_01[1-9A-HJ-NP-Za-km-z]{22}", "msg_ID", text)
    return re.sub(r"toolu_01[1-9A-HJ-NP-Za-km-z]{22}", "toolu_ID", text)


@pytest.mark.parametrize(("name", "script"), [("text", text_script), ("tool_use", tool_script)])
async def test_transcript(scripted_app: Any, name: str, script: Any) -> None:
    body = {
        "model": "scripted",
        "max_tokens": 50,
        "stream": True,
        "messages": [{"role": "user", "content": "weather in Paris"}],
    }
    async with scripted_app(ScriptedBackend(script)) as app, raw_client(app) as client:
        response = await client.post("/v1/messages", headers=V1, json=body)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    got = normalise(response.text)
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("PARLEY_UPDATE_GOLDEN"):
        path.write_text(got)
    assert got == path.read_text()


def failing_script(_: GenerationRequest) -> Any:
    yield TextChunk("Partial")
    raise OverloadedError("Overloaded")


async def test_error_after_the_stream_started_is_an_error_event(scripted_app: Any) -> None:
    body = {
        "model": "scripted",
        "max_tokens": 50,
        "stream": True,
        "messages": [{"role": "user", "content": "hi"}],
    }
    async with scripted_app(ScriptedBackend(failing_script)) as app, raw_client(app) as client:
        response = await client.post("/v1/messages", headers=V1, json=body)
    assert response.status_code == 200
    events = [line for line in response.text.splitlines() if line.startswith("event: ")]
    assert events[-1] == "event: error"
    assert "event: message_stop" not in events
    last_data = response.text.strip().splitlines()[-1]
    assert '"error":{"type":"overloaded_error","message":"Overloaded"}' in last_data


async def test_pings_while_the_model_is_busy(scripted_app: Any) -> None:
    body = {
        "model": "scripted",
        "max_tokens": 50,
        "stream": True,
        "messages": [{"role": "user", "content": "hi"}],
    }
    async with scripted_app(ScriptedBackend(first_delay=0.3)) as app, raw_client(app) as client:
        response = await client.post("/v1/messages", headers=V1, json=body)
    events = [line for line in response.text.splitlines() if line.startswith("event: ")]
    assert events[0] == "event: ping"
    assert 'data: {"type": "ping"}' in response.text
    assert events[-1] == "event: message_stop"
