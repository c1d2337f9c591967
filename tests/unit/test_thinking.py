"""Thinking markers: finding them, closing a section for "don't think", and splitting a
streamed answer into its thinking and its text, however the text is cut into tokens."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from parley.backends.base import TextChunk, ThinkingChunk
from parley.backends.common.thinking import ThinkingMarkers, ThinkingSplitter, markers_for
from parley.backends.llama_cpp.output import OutputPipeline
from tests.fixtures.templates import HERMES_WITH_TOOLS, THINKING_ALWAYS_OPEN, THINKING_QWEN_STYLE

THINK = ThinkingMarkers("<think>", "</think>")


def split(text: str, *, inside: bool, cuts: list[int] | None = None) -> tuple[str, str]:
    """(thinking, answer) of ``text`` fed in pieces cut at ``cuts``."""
    splitter = ThinkingSplitter(THINK, inside=inside)
    bounds = [0, *sorted({c % (len(text) + 1) for c in cuts or []}), len(text)]
    events = [e for a, b in itertools.pairwise(bounds) for e in splitter.feed(text[a:b])]
    events += splitter.finish()
    thinking = "".join(e.text for e in events if isinstance(e, ThinkingChunk))
    answer = "".join(e.text for e in events if isinstance(e, TextChunk))
    return thinking, answer


def test_markers_come_from_the_template_or_configuration() -> None:
    assert markers_for(THINKING_QWEN_STYLE, None) == THINK
    assert markers_for(THINKING_ALWAYS_OPEN, None) == THINK
    assert markers_for(HERMES_WITH_TOOLS, None) is None
    assert markers_for(HERMES_WITH_TOOLS, ["[THINK]", "[/THINK]"]) == ThinkingMarkers(
        "[THINK]", "[/THINK]"
    )


def test_closing_a_section_for_dont_think() -> None:
    assert THINK.opens_thinking("<|im_start|>assistant\n<think>\n")
    assert not THINK.opens_thinking("<think>\n\n</think>\n\n")
    # A marker the user wrote is not the generation prompt opening a section.
    assert not THINK.opens_thinking("user: what does <think> do?\nassistant:\n")
    # Opened by the generation prompt: closed. Not opened: an empty section, unless the
    # template has its own switch (enable_thinking), which then already did it.
    assert THINK.closed("a<think>\n", template_decides=False) == "a<think>\n\n</think>\n\n"
    assert THINK.closed("a", template_decides=False) == "a<think>\n\n</think>\n\n"
    assert THINK.closed("a<think>\n\n</think>\n\n", template_decides=True).count("<think>") == 1


def test_an_opened_section_then_the_answer() -> None:
    assert split("\nstep one, step two\n</think>\n\nThe answer.", inside=True) == (
        "step one, step two\n",
        "The answer.",
    )


def test_a_section_the_model_opens_itself() -> None:
    assert split("<think>hmm</think>Yes.", inside=False) == ("hmm", "Yes.")


def test_only_one_section() -> None:
    thinking, answer = split("a</think>b<think>c</think>d", inside=True)
    assert (thinking, answer) == ("a", "b<think>c</think>d")


def test_a_lone_angle_bracket_is_not_held_forever() -> None:
    assert split("x < y", inside=True) == ("x < y", "")


@given(st.lists(st.integers(min_value=0, max_value=200), max_size=10))
def test_any_cut_gives_the_same_split(cuts: list[int]) -> None:
    text = "\nfirst <thought>, then </thi more</think>\n\nAn <think> answer."
    assert split(text, inside=True, cuts=cuts) == (
        "first <thought>, then </thi more",
        "An <think> answer.",
    )


def test_the_budget_asks_for_the_end_marker_once_spent() -> None:
    pipeline = OutputPipeline(
        stop_sequences=(),
        parse_tools=False,
        thinking=ThinkingSplitter(THINK, inside=True),
        thinking_budget=3,
    )
    for piece in (b"one ", b"two "):
        pipeline.feed(piece)
        assert pipeline.closing() is None
    pipeline.feed(b"three ")
    assert pipeline.thinking_tokens == 3
    closing = pipeline.closing()
    assert closing == "\n</think>\n\n"
    pipeline.feed_text(closing)
    assert pipeline.closing() is None  # closed: the rest is the answer
    events = pipeline.feed(b"Four.") + pipeline.finish()
    assert [e.text for e in events if isinstance(e, TextChunk)] == ["Four."]
    assert pipeline.thinking_tokens == 3


def test_an_end_of_turn_inside_the_section_closes_it() -> None:
    pipeline = OutputPipeline(
        stop_sequences=(), parse_tools=False, thinking=ThinkingSplitter(THINK, inside=True)
    )
    pipeline.feed(b"thinking")
    assert pipeline.closing() is None  # no budget
    assert pipeline.closing(model_ended=True) == "\n</think>\n\n"
