"""A real uvicorn server on the bundled model, driven over a socket.

The sync SDK (as most users write it), streaming timing, pings while the model
prefills, and client disconnects that must stop generation at once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest

from parley.app import create_app
from parley.config import BUNDLED_MODEL_ID
from tests.fixtures import claude_code
from tests.support import API_KEY, V1, ServerThread, make_settings, usage_rows

pytestmark = [pytest.mark.live, pytest.mark.slow]
COUNT_FIELDS = ("model", "messages", "system", "tools", "tool_choice", "thinking")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    settings = make_settings(
        Path(tmp_path_factory.mktemp("live")),
        aliases={"claude-*": BUNDLED_MODEL_ID},
        server={"ping_interval": 0.2},
    )
    with ServerThread(create_app(settings)) as running:
        yield running


def engine_of(server: ServerThread) -> Any:
    model = server.app.state.services.catalog.resolve(BUNDLED_MODEL_ID)
    return model.backend._engine


def sse_events(response: httpx.Response) -> Iterator[tuple[str, dict[str, Any]]]:
    kind = None
    for line in response.iter_lines():
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: ") and kind is not None:
            yield kind, json.loads(line.removeprefix("data: "))


def test_sync_sdk_against_a_socket(server: ServerThread) -> None:
    client = anthropic.Anthropic(api_key=API_KEY, base_url=server.base_url, max_retries=0)
    request: dict[str, Any] = {
        "model": "claude-haiku-4-5",
        "messages": [{"role": "user", "content": "Hi!"}],
    }
    message = client.messages.create(max_tokens=20, **request)
    assert message.model == BUNDLED_MODEL_ID
    assert client.messages.count_tokens(**request).input_tokens == message.usage.input_tokens
    with client.messages.stream(max_tokens=20, **request) as stream:
        text = "".join(stream.text_stream)
        assert stream.get_final_message().content[0].text == text  # type: ignore[union-attr]
    assert [m.id for m in client.models.list()] == [BUNDLED_MODEL_ID]


def test_disconnect_stops_generation_and_meters_what_was_said(tmp_path: Path) -> None:
    """The client goes away after five deltas: the slot is free at once, and usage
    records the prompt and the tokens generated until then, as the hosted API bills."""
    body: dict[str, Any] = {
        "model": BUNDLED_MODEL_ID,
        "max_tokens": 4000,
        "stream": True,
        "temperature": 0,
        "messages": [{"role": "user", "content": "Count from 1 to 5000, one number per line."}],
    }
    with ServerThread(create_app(make_settings(tmp_path))) as server:
        engine = engine_of(server)
        with (
            httpx.Client(base_url=server.base_url, timeout=60) as client,
            client.stream("POST", "/v1/messages", headers=V1, json=body) as response,
        ):
            deltas = 0
            for kind, _ in sse_events(response):
                deltas += kind == "content_block_delta"
                if deltas == 5:
                    break
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(s.job is not None for s in engine._slots):
            time.sleep(0.01)
        assert all(s.job is None for s in engine._slots), "generation kept running"

        count = {k: v for k, v in body.items() if k in COUNT_FIELDS}
        prompt = httpx.post(
            f"{server.base_url}/v1/messages/count_tokens", headers=V1, json=count
        ).json()["input_tokens"]
        row = metered_usage(server)
        assert row["uncached_input_tokens"] + row["cache_read_input_tokens"] == prompt
        assert 5 <= row["output_tokens"] < 4000


def metered_usage(server: ServerThread) -> dict[str, Any]:
    """The one usage row of the day, once buffered usage has landed (10 s at most)."""
    deadline = time.monotonic() + 10
    while not (rows := usage_rows(server.base_url)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(rows) == 1, rows
    return rows[0]


def test_claude_code_shaped_request(server: ServerThread) -> None:
    """24 tools, thinking, context management, cache markers, 32k max_tokens, ?beta=true."""
    body = claude_code.request(description_words=8, user_text="Say hello in one word.")
    headers = {**claude_code.HEADERS, "x-api-key": API_KEY}
    count_headers = {
        "anthropic-version": "2023-06-01",
        "x-api-key": API_KEY,
        "anthropic-beta": claude_code.HEADERS["anthropic-beta"],
    }
    count_body = {k: v for k, v in body.items() if k in COUNT_FIELDS}
    with httpx.Client(base_url=server.base_url, timeout=300) as client:
        counted = client.post("/v1/messages/count_tokens", headers=count_headers, json=count_body)
        assert counted.status_code == 200, counted.text
        events: list[tuple[str, dict[str, Any]]] = []
        with client.stream(
            "POST", "/v1/messages?beta=true", headers=headers, json=body
        ) as response:
            assert response.status_code == 200
            for kind, data in sse_events(response):
                events.append((kind, data))
                content = [e for e in events if e[0] == "content_block_delta"]
                if kind == "message_stop" or len(content) >= 10:
                    break
    kinds = [k for k, _ in events]
    assert kinds[0] == "message_start"
    # Prefilling ~4k tokens takes seconds here: pings keep the connection alive meanwhile.
    assert "ping" in kinds[: kinds.index("content_block_start")]
    usage = next(d for k, d in events if k == "message_start")["message"]["usage"]
    total = usage["input_tokens"] + usage["cache_read_input_tokens"]
    total += usage["cache_creation_input_tokens"]
    assert total == counted.json()["input_tokens"]
    # Breakpoints on the system prompt and the last user block: all but the tail after
    # the last breakpoint is cache traffic, and the uncached rest is small.
    assert usage["cache_creation_input_tokens"] + usage["cache_read_input_tokens"] > 4000
    blocks = [d["content_block"]["type"] for k, d in events if k == "content_block_start"]
    assert blocks and blocks[0] in ("text", "tool_use") and "thinking" not in blocks


def test_claude_code_request_too_long_for_the_model(server: ServerThread) -> None:
    body = claude_code.request()
    assert len(json.dumps(body)) > 100_000
    headers = {**claude_code.HEADERS, "x-api-key": API_KEY}
    response = httpx.post(
        f"{server.base_url}/v1/messages?beta=true", headers=headers, json=body, timeout=120
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("prompt is too long:")


def test_full_queue_is_529_and_a_queued_stream_gets_pings(tmp_path: Path) -> None:
    model = {"id": BUNDLED_MODEL_ID, "options": {"slots": 1, "max_queue": 1, "ctx_per_slot": 1024}}
    settings = make_settings(tmp_path, models=[model], server={"ping_interval": 0.1})
    long = {
        "model": BUNDLED_MODEL_ID,
        "max_tokens": 600,
        "stream": True,
        "temperature": 0,
        "messages": [{"role": "user", "content": "Count from 1 to 1000, one per line."}],
    }
    # Nested on purpose: each stream is checked before the next one opens.
    with (  # noqa: SIM117
        ServerThread(create_app(settings)) as server,
        httpx.Client(base_url=server.base_url, timeout=120) as first,
        httpx.Client(base_url=server.base_url, timeout=120) as second,
    ):
        with first.stream("POST", "/v1/messages", headers=V1, json=long) as running:
            events = sse_events(running)
            assert next(events)[0] == "message_start"
            with second.stream("POST", "/v1/messages", headers=V1, json=long) as queued:
                assert queued.status_code == 200
                waiting = sse_events(queued)
                assert next(waiting)[0] == "ping"  # queued behind the first: kept alive
                third = httpx.post(
                    f"{server.base_url}/v1/messages",
                    headers=V1,
                    json={**long, "stream": False, "max_tokens": 5},
                )
                assert third.status_code == 529
                assert third.json()["error"] == {
                    "type": "overloaded_error",
                    "message": "Overloaded",
                }
                running.close()  # the first client leaves: the queued stream starts
                kinds = [kind for kind, _ in waiting if kind != "ping"]
                assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
