"""``count_tokens`` through an OpenAI-compatible upstream with ``tokenizer =
"llama-server"``: the body generation would send (tools included) is counted in one
round trip where the server can, in two where it cannot, and the fallback is learnt once;
a body counted before is not asked again.
The upstream is scripted (``tests/fixtures/counting_upstream.py``: one token per word of
its template); Parley in front is the real server, driven by the SDK."""

from __future__ import annotations

from pathlib import Path

import pytest

from parley.backends.openai import backend as openai_backend
from parley.backends.openai.backend import _prompt_key
from tests.fixtures.counting_upstream import Script
from tests.upstream.test_resume import front

pytestmark = pytest.mark.live

WEATHER = {
    "name": "get_weather",
    "description": "The weather in a city.",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}
ASK = [{"role": "user", "content": "Weather in Paris?"}]


def count_twice(tmp_path: Path, script: Script) -> tuple[int, int]:
    """Counts of ``ASK`` without and with the tool, through Parley."""
    with front(tmp_path, [script]) as client:
        bare = client.messages.count_tokens(model="up", messages=ASK)  # type: ignore[arg-type]
        tooled = client.messages.count_tokens(
            model="up",
            messages=ASK,  # type: ignore[arg-type]
            tools=[WEATHER],  # type: ignore[list-item]
        )
    return bare.input_tokens, tooled.input_tokens


def test_one_round_trip_where_the_upstream_counts_chat_bodies(tmp_path: Path) -> None:
    script = Script()
    bare, tooled = count_twice(tmp_path, script)
    # "user Weather in Paris?", then the same with the tool's name: the tool is counted.
    assert (bare, tooled) == (4, 5)
    assert script.counting == ["/v1/chat/completions/input_tokens"] * 2


def test_two_round_trips_on_an_upstream_without_the_route(tmp_path: Path) -> None:
    script = Script(counts_chat_bodies=False)
    bare, tooled = count_twice(tmp_path, script)
    assert (bare, tooled) == (4, 5)  # the same counts, tools included, the long way
    # The missing route is asked once; the second count goes straight the long way.
    assert script.counting == [
        "/v1/chat/completions/input_tokens",
        "/apply-template",
        "/tokenize",
        "/apply-template",
        "/tokenize",
    ]


def test_a_body_counted_before_is_not_asked_again(tmp_path: Path) -> None:
    script = Script()
    with front(tmp_path, [script]) as client:
        counts = [
            client.messages.count_tokens(model="up", messages=ASK).input_tokens  # type: ignore[arg-type]
            for _ in range(3)
        ]
        other = client.messages.count_tokens(
            model="up",
            messages=[{"role": "user", "content": "What about Rome then?"}],
        )
    assert counts == [4, 4, 4] and other.input_tokens == 5
    assert script.counting == ["/v1/chat/completions/input_tokens"] * 2


def test_the_missing_route_is_tried_again_once_the_counts_expire(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upstream upgraded to a build with the route gets one-round-trip counts again:
    a route found missing is asked again after the kept counts' age (here zero)."""
    monkeypatch.setattr(openai_backend, "COUNTS_TTL_SECONDS", 0.0)
    script = Script(counts_chat_bodies=False)
    count_twice(tmp_path, script)
    long_way = ["/v1/chat/completions/input_tokens", "/apply-template", "/tokenize"]
    assert script.counting == long_way * 2


def test_the_cache_key_is_the_prompt_not_the_sampling() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 5}
    assert _prompt_key(body) == _prompt_key({**body, "max_tokens": 900, "temperature": 0.2})
    assert _prompt_key(body) != _prompt_key({**body, "messages": []})
    # A schema's properties render in the client's order, which can change the count.
    tool = {"type": "object", "properties": {"a": {}, "b": {}}}
    swapped = {"type": "object", "properties": {"b": {}, "a": {}}}
    assert _prompt_key({**body, "tools": [tool]}) != _prompt_key({**body, "tools": [swapped]})
