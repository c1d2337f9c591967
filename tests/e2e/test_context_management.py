"""Context management on the bundled model, through the SDK's beta messages: a 30-turn
tool loop whose whole history is past the model's window runs to the end with
``clear_tool_uses_20250919``, and count_tokens says what the edit saved.

The model is served with a 4,096-token window, half its own, so the loop is
past it within thirty short turns (each turn's prompt is decoded again from where the
edit changed it, which on a longer window takes minutes on two cores)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anthropic
import pytest

from parley.app import create_app
from tests.support import make_settings, running, sdk_client

pytestmark = pytest.mark.slow

MODEL = "smollm2-135m-instruct"
WINDOW = 4096
BETA = "context-management-2025-06-27"
TOOL = {
    "name": "read_page",
    "description": "Read one page of the manual.",
    "input_schema": {
        "type": "object",
        "properties": {"page": {"type": "integer"}},
        "required": ["page"],
    },
}
CLEAR = {
    "edits": [
        {
            "type": "clear_tool_uses_20250919",
            "trigger": {"type": "input_tokens", "value": 2000},
            "keep": {"type": "tool_uses", "value": 2},
        }
    ]
}


def page(n: int) -> str:
    """About 120 tokens of text: thirty pages and their calls are past the window."""
    return f"Page {n}. " + " ".join(
        f"Paragraph {n}.{k} describes valve {k * n} and its pressure rating." for k in range(8)
    )


@pytest.fixture(scope="module")
async def small_window(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    options = {"gguf": "bundled:smollm2", "slots": 1, "ctx_per_slot": WINDOW}
    settings = make_settings(
        tmp_path_factory.mktemp("small-window"), models=[{"id": MODEL, "options": options}]
    )
    async with running(create_app(settings)) as app:
        yield app


async def test_a_30_turn_tool_loop_stays_inside_the_window(small_window: Any) -> None:
    sdk = sdk_client(small_window)
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "Read the manual page by page, one call per page."}
    ]
    request: dict[str, Any] = {
        "model": MODEL,
        "tools": [TOOL],
        "tool_choice": {"type": "tool", "name": "read_page", "disable_parallel_tool_use": True},
        "context_management": CLEAR,
        "betas": [BETA],
    }
    for turn in range(30):
        message = await sdk.beta.messages.create(max_tokens=48, messages=messages, **request)
        assert message.usage.input_tokens < WINDOW
        use = message.content[0]
        assert use.type == "tool_use"
        messages.append({"role": "assistant", "content": [use.model_dump(exclude_none=True)]})
        messages.append(
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": use.id, "content": page(turn)}],
            }
        )
        assert message.context_management is not None
        if turn >= 14:  # past 2,000 tokens: each turn clears all but the last two
            (applied,) = message.context_management.applied_edits
            assert applied.type == "clear_tool_uses_20250919"
            assert applied.cleared_tool_uses == turn - 2
            assert applied.cleared_input_tokens > 0

    # The history the client holds is past the window; without the edit it is refused.
    plain = {k: v for k, v in request.items() if k not in ("context_management", "betas")}
    whole = await sdk.messages.count_tokens(messages=messages, **plain)  # type: ignore[arg-type]
    assert whole.input_tokens > WINDOW
    with pytest.raises(anthropic.BadRequestError) as info:
        await sdk.messages.create(max_tokens=48, messages=messages, **plain)  # type: ignore[arg-type]
    assert "prompt is too long" in info.value.message

    counted = await sdk.beta.messages.count_tokens(messages=messages, **request)
    assert counted.input_tokens < WINDOW
    assert counted.context_management is not None
    assert counted.context_management.original_input_tokens == whole.input_tokens

    # Streamed, the edit is reported in message_delta and the final message has it.
    async with sdk.beta.messages.stream(max_tokens=48, messages=messages, **request) as stream:
        final = await stream.get_final_message()
    assert final.usage.input_tokens == counted.input_tokens
    assert final.context_management is not None
    (applied,) = final.context_management.applied_edits
    assert applied.cleared_tool_uses == 28
    assert applied.cleared_input_tokens == whole.input_tokens - counted.input_tokens


COMPACT_WINDOW = 2048
COMPACT = {
    "edits": [{"type": "compact_20260112", "trigger": {"type": "input_tokens", "value": 1000}}]
}


@pytest.fixture(scope="module")
async def smaller_window(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    options = {"gguf": "bundled:smollm2", "slots": 1, "ctx_per_slot": COMPACT_WINDOW}
    settings = make_settings(
        tmp_path_factory.mktemp("compact-window"), models=[{"id": MODEL, "options": options}]
    )
    async with running(create_app(settings)) as app:
        yield app


def notes(n: int) -> str:
    """About 200 tokens of a user's notes for day ``n`` of a trip: the chat passes the
    trigger within five turns, and the test goes on two turns after its compaction."""
    return f"Day {n} notes. " + " ".join(
        f"At stop {k} of day {n} we saw tile {k * n} and ate {k + n} pastries." for k in range(12)
    )


@pytest.mark.timeout(600)
async def test_a_chat_past_its_trigger_is_compacted_and_goes_on(smaller_window: Any) -> None:
    sdk = sdk_client(smaller_window)
    messages: list[dict[str, Any]] = []
    request: dict[str, Any] = {
        "model": MODEL,
        "max_tokens": 24,
        "context_management": COMPACT,
        "betas": ["compact-2026-01-12"],
    }
    compacted_at = None
    for turn in range(7):
        messages.append({"role": "user", "content": notes(turn)})
        counted = await sdk.beta.messages.count_tokens(
            messages=messages, model=MODEL, betas=["compact-2026-01-12"]
        )
        message = await sdk.beta.messages.create(messages=messages, **request)
        kinds = [b.type for b in message.content]
        assert message.usage.input_tokens + message.usage.output_tokens < COMPACT_WINDOW
        if kinds[0] == "compaction":
            assert counted.input_tokens >= 1000  # compacted exactly when past the trigger
            compaction = message.content[0]
            assert compaction.type == "compaction"
            # Signed when the model wrote a summary (a summary of nothing is a failed
            # compaction, content null, and the reply is written from the whole chat).
            assert bool(compaction.signature) == (compaction.content is not None)
            assert message.usage.iterations is not None
            assert [i.type for i in message.usage.iterations] == ["compaction", "message"]
            compacted_at = compacted_at if compacted_at is not None else turn
        else:
            # What count_tokens saw (the history as sent, read from its last summary on)
            # is what the model was given.
            assert counted.input_tokens < 1000
            assert message.usage.input_tokens + (message.usage.cache_read_input_tokens or 0) == (
                counted.input_tokens
            )
        messages.append(
            {
                "role": "assistant",
                "content": [b.model_dump(exclude_none=True) for b in message.content],
            }
        )
    assert compacted_at is not None and compacted_at < 6  # it compacted, and went on after
