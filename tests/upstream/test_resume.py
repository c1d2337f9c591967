"""A replica dying mid-answer: a text answer goes on on another replica and the client
sees one answer; a tool call cut short ends in an error event.
The replicas are scripted (``tests/fixtures/counting_upstream.py``, OpenAI-compatible,
and ``claude_upstream.py``) so the continuation can be checked token by token; Parley
in front is the real server, driven by the SDK."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest
from fastapi import FastAPI

from parley.app import create_app
from tests.fixtures.claude_upstream import WORDS, Shared, claude_upstream
from tests.fixtures.counting_upstream import Script, counting_upstream
from tests.support import API_KEY, ServerThread, make_settings

pytestmark = pytest.mark.live


@contextlib.contextmanager
def front_door(
    tmp_path: Path, upstreams: list[FastAPI], backend: str, options: dict[str, Any]
) -> Iterator[ServerThread]:
    """Parley serving model "up" from ``upstreams``, each a real server on a socket."""
    with contextlib.ExitStack() as stack:
        urls = [stack.enter_context(ServerThread(app)).base_url for app in upstreams]
        # A long check interval: a replica that died stays out for the whole test.
        options = {"urls": urls, "check_interval": 60, **options}
        model = {"id": "up", "backend": backend, "options": options}
        yield stack.enter_context(ServerThread(create_app(make_settings(tmp_path, models=[model]))))


@contextlib.contextmanager
def front(tmp_path: Path, scripts: list[Script]) -> Iterator[anthropic.Anthropic]:
    apps = [counting_upstream(s) for s in scripts]
    options = {"model": "counter", "tokenizer": "llama-server"}
    with front_door(tmp_path, apps, "openai", options) as server:
        yield anthropic.Anthropic(api_key=API_KEY, base_url=server.base_url, max_retries=0)


COUNT = [{"role": "user", "content": "Count to twenty"}]
TWENTY = "".join(f" {n}" for n in range(1, 21))


@pytest.mark.parametrize("streaming", [True, False])
def test_text_answer_goes_on_after_replicas_die(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, streaming: bool
) -> None:
    # Every replica dies five tokens into its first fresh answer, so wherever the
    # request lands, that replica dies under it, and the answer goes on elsewhere.
    scripts = [Script(die_after=5), Script(die_after=5)]
    with caplog.at_level(logging.WARNING), front(tmp_path, scripts) as client:
        if streaming:
            with client.messages.stream(model="up", max_tokens=20, messages=COUNT) as stream:
                text = "".join(stream.text_stream)
                message = stream.get_final_message()
        else:
            message = client.messages.create(model="up", max_tokens=20, messages=COUNT)
            text = message.content[0].text  # type: ignore[union-attr]
    assert text == TWENTY  # nothing repeated, nothing lost
    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens == 20
    # The prompt alone ("user Count to twenty"), not the continuation's longer one.
    assert message.usage.input_tokens == 4
    assert "resuming on another replica" in caplog.text
    sent = [body for s in scripts for body in s.requests]
    assert len(sent) == 2
    continued = sent[0] if sent[0].get("continue_final_message") else sent[1]
    # The text so far as the assistant prefill, the rest of max_tokens.
    assert continued["messages"][-1] == {"role": "assistant", "content": " 1 2 3 4 5"}
    assert continued["max_tokens"] == 15 and continued["add_generation_prompt"] is False


def test_tool_call_cut_short_ends_in_an_error_event(tmp_path: Path) -> None:
    scripts = [Script(die_after=3, tool_call=True), Script(die_after=3, tool_call=True)]
    tool = {"name": "count", "input_schema": {"type": "object", "properties": {}}}
    with (
        front(tmp_path, scripts) as client,
        pytest.raises(anthropic.APIStatusError, match="mid-answer"),
        client.messages.stream(
            model="up",
            max_tokens=20,
            messages=COUNT,
            tools=[tool],  # type: ignore[list-item]
        ) as stream,
    ):
        for _ in stream:
            pass
    # Half a tool call cannot be continued from a prefill: no second request was made.
    assert sum(len(s.requests) for s in scripts) == 1


def test_claude_api_replica_dying_before_its_first_block(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The client already has ``message_start`` when the replica dies: the request starts
    over on the other replica, and the client sees one message, its start sent once."""
    shared = Shared()
    apps = [claude_upstream(shared), claude_upstream(shared)]
    options = {"model": "scripted", "health_path": "/"}
    with front_door(tmp_path, apps, "anthropic", options) as server:
        client = anthropic.Anthropic(api_key=API_KEY, base_url=server.base_url, max_retries=0)
        with caplog.at_level(logging.WARNING):
            raw = httpx.post(
                f"{server.base_url}/v1/messages",
                headers={"x-api-key": API_KEY, "anthropic-version": "2023-06-01"},
                json={"model": "up", "max_tokens": 20, "stream": True, "messages": COUNT},
                timeout=30,
            )
            names = [line[7:] for line in raw.text.splitlines() if line.startswith("event: ")]
            with client.messages.stream(model="up", max_tokens=20, messages=COUNT) as stream:
                text = "".join(stream.text_stream)
    assert names.count("message_start") == 1 and names[-1] == "message_stop", names
    assert "error" not in names
    assert "resuming on another replica" in caplog.text
    assert len(shared.requests) == 3  # the one that died, its restart, the SDK's request
    # Nothing was said yet, so no prefill: the restart is the original request.
    assert shared.requests[1]["messages"] == shared.requests[0]["messages"]
    assert text == "".join(WORDS)
