"""``clear_tool_uses_20250919`` on validated params, one option at a time.

Tokens are counted by a stand-in for the model's tokenizer (a word count of the
conversation's text), so each case's numbers can be worked out by hand.
"""

from __future__ import annotations

from typing import Any

import pytest

from parley.messages.context_edits import CLEARED_RESULT, apply_edits
from parley.wire.requests import MessageCountTokensParams, _MessageInputParams


def words(params: _MessageInputParams) -> int:
    total = 0
    for message in params.messages:
        for block in message.content:
            text = getattr(block, "text", "")
            if block.type == "tool_result":
                text = " ".join(getattr(b, "text", "") for b in block.content or [])
            if block.type == "tool_use":
                text = " ".join(str(v) for v in block.input.values())
            total += len(text.split())
    return total


async def count(params: _MessageInputParams) -> int:
    return words(params)


def loop(turns: int, *, names: tuple[str, ...] = ("read",), result_words: int = 100) -> list[Any]:
    """A tool loop: ``turns`` calls, each answered with a ``result_words``-word result."""
    messages: list[Any] = [{"role": "user", "content": "start"}]
    for i in range(turns):
        name = names[i % len(names)]
        messages.append(
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": f"toolu_{i}", "name": name, "input": {"n": i}}
                ],
            }
        )
        messages.append(
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": f"toolu_{i}",
                        "content": " ".join(["word"] * result_words),
                    }
                ],
            }
        )
    return messages


def params(messages: list[Any], *edits: dict[str, Any]) -> MessageCountTokensParams:
    return MessageCountTokensParams.model_validate(
        {"model": "m", "messages": messages, "context_management": {"edits": list(edits)}}
    )


def results(edited: MessageCountTokensParams) -> list[str]:
    """Each tool result's text, in order."""
    return [
        " ".join(b.text for b in block.content or [])  # type: ignore[union-attr]
        for message in edited.messages
        for block in message.content
        if block.type == "tool_result"
    ]


def inputs(edited: MessageCountTokensParams) -> list[dict[str, Any]]:
    return [
        dict(block.input)  # type: ignore[union-attr]
        for message in edited.messages
        for block in message.content
        if block.type == "tool_use"
    ]


EDIT = {"type": "clear_tool_uses_20250919"}
LOW = {"trigger": {"type": "input_tokens", "value": 300}}


async def test_below_the_trigger_nothing_changes() -> None:
    sent = params(loop(10), {**EDIT, "trigger": {"type": "input_tokens", "value": 5000}})
    edited = await apply_edits(sent, count)
    assert edited.params is sent
    assert edited.applied == ()
    assert edited.original_input_tokens == words(sent)
    assert edited.context_management() == {"applied_edits": []}


async def test_past_the_trigger_all_but_the_last_three_are_cleared() -> None:
    sent = params(loop(10), {**EDIT, **LOW})
    edited = await apply_edits(sent, count)
    texts = results(edited.params)
    assert texts[:7] == [CLEARED_RESULT] * 7
    assert all(t.startswith("word") for t in texts[7:])
    (applied,) = edited.applied
    assert applied.cleared_tool_uses == 7
    assert applied.cleared_input_tokens == words(sent) - words(edited.params)
    assert inputs(edited.params) == [{"n": i} for i in range(10)]  # inputs stay by default
    assert edited.context_management() == {
        "applied_edits": [
            {
                "type": "clear_tool_uses_20250919",
                "cleared_tool_uses": 7,
                "cleared_input_tokens": applied.cleared_input_tokens,
            }
        ]
    }


async def test_the_default_trigger_is_100000_tokens() -> None:
    edited = await apply_edits(params(loop(10), EDIT), count)
    assert edited.applied == ()


async def test_a_tool_uses_trigger_and_keep() -> None:
    edit = {
        **EDIT,
        "trigger": {"type": "tool_uses", "value": 5},
        "keep": {"type": "tool_uses", "value": 1},
    }
    assert (await apply_edits(params(loop(5), edit), count)).applied == ()
    edited = await apply_edits(params(loop(6), edit), count)
    assert results(edited.params)[:5] == [CLEARED_RESULT] * 5
    assert results(edited.params)[5].startswith("word")


async def test_excluded_tools_are_kept() -> None:
    edit = {**EDIT, **LOW, "keep": {"type": "tool_uses", "value": 0}, "exclude_tools": ["memory"]}
    edited = await apply_edits(params(loop(6, names=("read", "memory")), edit), count)
    texts = results(edited.params)
    assert texts[0::2] == [CLEARED_RESULT] * 3  # read
    assert all(t.startswith("word") for t in texts[1::2])  # memory


@pytest.mark.parametrize(
    ("clear_tool_inputs", "emptied"),
    [(True, {"read", "write"}), (["write"], {"write"}), (False, set())],
)
async def test_clearing_inputs(clear_tool_inputs: Any, emptied: set[str]) -> None:
    edit = {**EDIT, **LOW, "keep": {"type": "tool_uses", "value": 0}}
    edit["clear_tool_inputs"] = clear_tool_inputs
    edited = await apply_edits(params(loop(4, names=("read", "write")), edit), count)
    names = ["read", "write"] * 2
    expected = [{} if names[i] in emptied else {"n": i} for i in range(4)]
    assert inputs(edited.params) == expected


async def test_clear_at_least_leaves_the_conversation_when_too_little_is_freed() -> None:
    # Seven results of 100 words become placeholders: about 600 words freed.
    enough = {**EDIT, **LOW, "clear_at_least": {"type": "input_tokens", "value": 500}}
    assert len((await apply_edits(params(loop(10), enough), count)).applied) == 1
    too_much = {**EDIT, **LOW, "clear_at_least": {"type": "input_tokens", "value": 5000}}
    edited = await apply_edits(params(loop(10), too_much), count)
    assert edited.applied == ()
    assert all(t.startswith("word") for t in results(edited.params))


async def test_no_edits_means_no_counting() -> None:
    async def refuse(_: _MessageInputParams) -> int:
        raise AssertionError("counted without a clear_tool_uses edit")

    sent = MessageCountTokensParams.model_validate({"model": "m", "messages": loop(3)})
    edited = await apply_edits(sent, refuse)
    assert edited.params is sent and edited.context_management() is None


async def test_fewer_uses_than_keep_clears_nothing() -> None:
    edit = {**EDIT, "trigger": {"type": "input_tokens", "value": 10}}  # keep: 3 by default
    edited = await apply_edits(params(loop(2), edit), count)
    assert edited.applied == ()
    assert all(t.startswith("word") for t in results(edited.params))
