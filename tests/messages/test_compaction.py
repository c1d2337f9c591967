"""``messages/compaction.py``: which requests compact, what the summary request is, and
how a conversation sent back with a compaction block is read."""

from __future__ import annotations

from typing import Any

import pytest

from parley.errors import InvalidRequestError
from parley.messages import compaction
from parley.wire.requests import MessageCountTokensParams, MessageCreateParams

SUMMARY_TURN_START = "This conversation continues from a summary of its earlier part:"


def create(**fields: Any) -> MessageCreateParams:
    body = {"model": "m", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}
    return MessageCreateParams.model_validate(body | fields)


def edit(**fields: Any) -> dict[str, Any]:
    return {"edits": [{"type": "compact_20260112", **fields}]}


def test_the_default_trigger_is_the_apis_but_inside_the_window() -> None:
    assert compaction.default_trigger(1_000_000) == 150_000
    assert compaction.default_trigger(8192) == 6144


@pytest.mark.parametrize(
    ("tokens", "window", "compacts"),
    [(6143, 8192, False), (6144, 8192, True), (149_999, 1_000_000, False)],
)
def test_the_edit_compacts_from_its_trigger_on(tokens: int, window: int, compacts: bool) -> None:
    params = create(context_management=edit())
    assert (compaction.plan(params, tokens, window) is not None) == compacts


def test_a_plan_says_what_was_asked() -> None:
    params = create(
        context_management={
            "edits": [
                {"type": "clear_tool_uses_20250919"},
                {
                    "type": "compact_20260112",
                    "trigger": {"type": "input_tokens", "value": 100},
                    "instructions": "Keep the numbers.",
                    "pause_after_compaction": True,
                },
            ]
        }
    )
    plan = compaction.plan(params, 100, 4096)
    assert plan == compaction.CompactionPlan(
        "Keep the numbers.", True, "context_management.edits.1"
    )
    assert compaction.plan(params, 99, 4096) is None


def test_the_parameter_always_compacts_and_pauses() -> None:
    plan = compaction.plan(create(compaction={"type": "summarize", "instructions": "  "}), 1, 4096)
    assert plan == compaction.CompactionPlan(compaction.DEFAULT_INSTRUCTIONS, True, "compaction")
    assert compaction.asks_for_compaction(create(compaction={"type": "summarize"}))
    assert not compaction.asks_for_compaction(create())


def test_the_summary_request_is_the_conversation_plus_the_instructions() -> None:
    tool = {"name": "t", "input_schema": {"type": "object"}}
    params = create(
        system="Be brief.",
        tools=[tool],
        tool_choice={"type": "any"},
        stop_sequences=["END"],
        thinking={"type": "enabled", "budget_tokens": 1024},
        context_management=edit(),
    )
    plan = compaction.CompactionPlan("Summarize.", False, "x")
    summary = compaction.summary_params(params, plan)
    assert summary.system == params.system and summary.tools == params.tools
    assert summary.tool_choice is not None and summary.tool_choice.type == "auto"
    assert summary.messages[:-1] == params.messages
    assert summary.messages[-1].role == "user"
    assert summary.messages[-1].content[0].text == "Summarize."  # type: ignore[union-attr]
    assert summary.thinking is None and summary.stop_sequences is None
    assert summary.context_management is None


def test_a_conversation_at_the_message_cap_cannot_be_compacted() -> None:
    turns = [{"role": ("user", "assistant")[i % 2], "content": "x"} for i in range(100_000)]
    params = create(messages=[*turns[:-1], {"role": "user", "content": "y"}])
    plan = compaction.CompactionPlan("Summarize.", False, "context_management.edits.0")
    with pytest.raises(InvalidRequestError, match=r"^context_management.edits.0: .*100000"):
        compaction.summary_params(params, plan)


def test_room_for_the_summary() -> None:
    plan = compaction.CompactionPlan("s", False, "context_management.edits.0")
    assert compaction.summary_room(1000, 32768, 4096, plan) == compaction.SUMMARY_MAX_TOKENS
    assert compaction.summary_room(1000, 8192, 4096, plan) == 1024
    assert compaction.summary_room(8000, 8192, 4096, plan) == 192
    with pytest.raises(InvalidRequestError, match=r"^context_management.edits.0: the conversation"):
        compaction.summary_room(8150, 8192, 4096, plan)


@pytest.mark.parametrize(
    ("written", "summary"),
    [
        ("<summary>\nThe plan.\n</summary>", "The plan."),
        ("Sure! <summary>The plan.</summary> Anything else?", "The plan."),
        ("<summary>The plan, cut short", "The plan, cut short"),
        ("The plan, without tags.", "The plan, without tags."),
        ("  \n", None),
        ("<summary> </summary>", None),
    ],
)
def test_the_summary_in_what_the_model_wrote(written: str, summary: str | None) -> None:
    assert compaction.summary_text(written) == summary


def conversation(*assistant: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": [{"type": "text", "text": "two"}]},
        {"role": "user", "content": "three"},
        {"role": "assistant", "content": list(assistant)},
        {"role": "user", "content": "five"},
    ]


def texts(params: MessageCountTokensParams) -> list[tuple[str, str]]:
    return [(m.role, getattr(b, "text", b.type)) for m in params.messages for b in m.content]


def count_params(messages: list[dict[str, Any]]) -> MessageCountTokensParams:
    return MessageCountTokensParams.model_validate({"model": "m", "messages": messages})


def test_a_summary_stands_for_everything_before_it() -> None:
    block = {
        "type": "compaction",
        "content": "one to three",
        "cache_control": {"type": "ephemeral"},
    }
    params = compaction.resumed(count_params(conversation(block, {"type": "text", "text": "four"})))
    (first, *rest) = texts(params)
    assert first[0] == "user" and first[1].startswith(SUMMARY_TURN_START)
    assert "<summary>\none to three\n</summary>" in first[1]
    assert rest == [("assistant", "four"), ("user", "five")]
    # The block's cache breakpoint stays on the text that stands for it.
    assert params.messages[0].content[0].cache_control is not None


def test_a_summary_alone_in_its_message() -> None:
    params = compaction.resumed(count_params(conversation({"type": "compaction", "content": "s"})))
    assert [role for role, _ in texts(params)] == ["user", "user"]


def test_the_last_summary_wins_and_failed_ones_are_no_ops() -> None:
    messages = conversation({"type": "compaction", "content": None}, {"type": "text", "text": "4"})
    params = compaction.resumed(count_params(messages))
    assert texts(params) == [
        ("user", "one"),
        ("assistant", "two"),
        ("user", "three"),
        ("assistant", "4"),
        ("user", "five"),
    ]
    twice = conversation({"type": "compaction", "content": "old"})
    twice[1]["content"].insert(0, {"type": "compaction", "content": "older"})
    latest = texts(compaction.resumed(count_params(twice)))
    assert "old\n" in latest[0][1] and "older" not in latest[0][1]


def test_without_compaction_blocks_nothing_changes() -> None:
    params = count_params(conversation({"type": "text", "text": "four"}))
    assert compaction.resumed(params) is params


def test_continued_is_the_summary_alone() -> None:
    params = compaction.continued(create(messages=conversation({"type": "text", "text": "4"})), "s")
    assert [(role, text.startswith(SUMMARY_TURN_START)) for role, text in texts(params)] == [
        ("user", True)
    ]
