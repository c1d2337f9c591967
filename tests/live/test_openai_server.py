"""The official ``openai`` client, synchronous, against a real server on the bundled model.

The same conversation through ``/v1/chat/completions`` and ``/v1/messages`` gives the
same text at temperature 0; ``response_format`` is enforced by llama.cpp's grammar; and
what the OpenAI door spends shows in the Admin usage report like any other request.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from parley.app import create_app
from parley.config import BUNDLED_MODEL_ID
from tests.support import API_KEY, V1, ServerThread, make_settings, usage_rows

pytestmark = [pytest.mark.live, pytest.mark.slow]
SYSTEM = "You are a terse assistant."
QUESTION = "Name three colours."


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    settings = make_settings(
        Path(tmp_path_factory.mktemp("openai")), aliases={"gpt-4o-mini": BUNDLED_MODEL_ID}
    )
    with ServerThread(create_app(settings)) as running:
        yield running


def client(server: ServerThread) -> openai.OpenAI:
    return openai.OpenAI(api_key=API_KEY, base_url=f"{server.base_url}/v1", max_retries=0)


def test_same_text_as_the_messages_api_at_temperature_0(server: ServerThread) -> None:
    answer = client(server).chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}],
        max_tokens=24,
        temperature=0,
    )
    # SDK 2.x speaks 2026-10-21, which has no temperature: ask as curl users do.
    message = httpx.post(
        f"{server.base_url}/v1/messages",
        headers=V1,
        json={
            "model": BUNDLED_MODEL_ID,
            "system": SYSTEM,
            "messages": [{"role": "user", "content": QUESTION}],
            "max_tokens": 24,
            "temperature": 0,
        },
        timeout=60,
    ).json()
    text = "".join(b["text"] for b in message["content"] if b["type"] == "text")
    assert text.strip()
    assert answer.choices[0].message.content == text
    assert answer.model == BUNDLED_MODEL_ID
    assert answer.usage is not None
    usage = message["usage"]
    assert answer.usage.completion_tokens == usage["output_tokens"]
    assert answer.usage.prompt_tokens == usage["input_tokens"] + usage["cache_read_input_tokens"]


def test_a_stream_says_what_the_whole_answer_says(server: ServerThread) -> None:
    request: dict[str, Any] = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": QUESTION}],
        "max_completion_tokens": 16,
        "temperature": 0,
    }
    whole = client(server).chat.completions.create(**request)
    chunks = list(
        client(server).chat.completions.create(
            **request, stream=True, stream_options={"include_usage": True}
        )
    )
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed == whole.choices[0].message.content
    assert chunks[-1].usage is not None and whole.usage is not None
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens


def test_json_schema_is_enforced_by_the_grammar(server: ServerThread) -> None:
    schema = {
        "type": "object",
        "properties": {"colour": {"type": "string", "maxLength": 12}},
        "required": ["colour"],
        "additionalProperties": False,
    }
    answer = client(server).chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Pick a colour."}],
        max_tokens=40,
        response_format={"type": "json_schema", "json_schema": {"name": "c", "schema": schema}},
    )
    choice = answer.choices[0]
    assert choice.finish_reason == "stop"
    value = json.loads(choice.message.content or "")
    assert set(value) == {"colour"} and isinstance(value["colour"], str)


def test_models_list_names_the_served_model(server: ServerThread) -> None:
    assert [m.id for m in client(server).models.list()] == [BUNDLED_MODEL_ID]


def test_usage_shows_in_the_admin_report(server: ServerThread) -> None:
    before = sum(row["output_tokens"] for row in usage_rows(server.base_url))
    answer = client(server).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello!"}], max_tokens=8
    )
    assert answer.usage is not None
    spent = answer.usage.completion_tokens
    deadline = time.monotonic() + 10
    after = before
    while after < before + spent and time.monotonic() < deadline:
        time.sleep(0.2)
        after = sum(row["output_tokens"] for row in usage_rows(server.base_url))
    assert after == before + spent
