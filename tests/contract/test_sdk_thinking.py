"""Thinking blocks through the SDK: signed by the deployment, sent back unchanged in the
next turn, refused when edited or signed elsewhere; thinking tokens in usage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anthropic
import pytest

from parley.app import create_app
from parley.backends.base import (
    BackendEvent,
    Capabilities,
    Finished,
    GenerationRequest,
    TextChunk,
    ThinkingChunk,
)
from parley.backends.scripted import ScriptedBackend
from tests.support import make_settings, running, sdk_client

MODEL = "thinker"


def think_then_answer(request: GenerationRequest) -> list[BackendEvent]:
    if request.reasoning.mode == "disabled":
        return [TextChunk("Four."), Finished("end_turn", 1)]
    return [
        ThinkingChunk("2 and 2 make 4."),
        TextChunk("Four."),
        Finished("end_turn", 6, thinking_tokens=5),
    ]


@pytest.fixture
async def thinker(tmp_path: Path) -> Any:
    models = [{"id": MODEL, "backend": "scripted"}, {"id": "plain", "backend": "scripted"}]
    settings = make_settings(tmp_path, models=models)
    caps = Capabilities(context_window=4096, max_output_tokens=2048, thinking=True)
    backend = ScriptedBackend(think_then_answer, capabilities=caps)
    backends = {MODEL: backend, "plain": ScriptedBackend()}
    async with running(create_app(settings, backends=backends)) as app:
        yield app, backend


THINKING = {"type": "enabled", "budget_tokens": 1024}
ASK = {"role": "user", "content": "What is 2+2?"}


async def test_a_signed_block_round_trips(thinker: Any) -> None:
    app, backend = thinker
    sdk = sdk_client(app)
    first = await sdk.messages.create(
        model=MODEL, max_tokens=2000, thinking=THINKING, messages=[ASK]
    )
    assert [b.type for b in first.content] == ["thinking", "text"]
    block = first.content[0]
    assert block.type == "thinking" and block.signature
    assert first.usage.output_tokens_details is not None
    assert first.usage.output_tokens_details.thinking_tokens == 5
    assert backend.requests[-1].reasoning.mode == "enabled"
    assert backend.requests[-1].reasoning.budget_tokens == 1024

    turn = [ASK, {"role": "assistant", "content": [b.model_dump() for b in first.content]}]
    follow_up = [*turn, {"role": "user", "content": "And 3+3?"}]
    second = await sdk.messages.create(
        model=MODEL, max_tokens=2000, thinking=THINKING, messages=follow_up
    )
    assert second.content[-1].type == "text"

    async with sdk.messages.stream(
        model=MODEL, max_tokens=2000, thinking=THINKING, messages=follow_up
    ) as stream:
        final = await stream.get_final_message()
    streamed = final.content[0]
    assert streamed.type == "thinking" and streamed.signature == block.signature


@pytest.mark.parametrize(
    "replayed",
    [
        {"type": "thinking", "thinking": "2 and 2 make 5.", "signature": None},  # edited
        {
            "type": "thinking",
            "thinking": "2 and 2 make 4.",
            "signature": "EqQBCgIYAhIM1gbcDa9GJwZA",
        },
        {"type": "thinking", "thinking": "2 and 2 make 4.", "signature": ""},
        {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4a"},
        {"type": "thinking", "thinking": "2 and 2 make 4.", "signature": "sïgné"},
    ],
    ids=["edited", "foreign", "unsigned", "redacted", "not-ascii"],
)
async def test_blocks_not_signed_here_are_refused(thinker: Any, replayed: dict[str, Any]) -> None:
    app, _ = thinker
    sdk = sdk_client(app)
    first = await sdk.messages.create(
        model=MODEL, max_tokens=2000, thinking=THINKING, messages=[ASK]
    )
    block = dict(replayed)
    if block.get("signature", "") is None:
        block["signature"] = first.content[0].signature  # type: ignore[union-attr]
    messages = [
        ASK,
        {"role": "assistant", "content": [block, {"type": "text", "text": "Four."}]},
        {"role": "user", "content": "And 3+3?"},
    ]
    with pytest.raises(anthropic.BadRequestError) as info:
        await sdk.messages.create(
            model=MODEL, max_tokens=2000, thinking=THINKING, messages=messages
        )
    assert info.value.body["error"]["message"].startswith("messages.1.content.0: ")  # type: ignore[index]
    with pytest.raises(anthropic.BadRequestError):
        await sdk.messages.count_tokens(model=MODEL, thinking=THINKING, messages=messages)


async def test_no_thinking_asked_none_given(thinker: Any) -> None:
    app, backend = thinker
    message = await sdk_client(app).messages.create(model=MODEL, max_tokens=100, messages=[ASK])
    assert [b.type for b in message.content] == ["text"]
    assert backend.requests[-1].reasoning.mode == "disabled"
    assert message.usage.output_tokens_details is None


async def test_a_model_that_does_not_think_drops_replayed_thinking_unchecked(thinker: Any) -> None:
    # A conversation begun elsewhere (hosted Claude's signatures) can go on here.
    app, _ = thinker
    foreign = {"type": "thinking", "thinking": "Let me see.", "signature": "EqQBCgIYAhIM1gbcDa9G"}
    messages = [
        ASK,
        {"role": "assistant", "content": [foreign, {"type": "text", "text": "Four."}]},
        {"role": "user", "content": "And 3+3?"},
    ]
    message = await sdk_client(app).messages.create(model="plain", max_tokens=50, messages=messages)
    assert message.content[0].type == "text"
