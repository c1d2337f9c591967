"""The llama.cpp output pipeline: a call repeated word for word ends the turn, unsent."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from parley.backends.base import BackendEvent, ToolCallChunk, ToolCallEnd, ToolCallStart
from parley.backends.llama_cpp.output import OutputPipeline

PARIS = '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>\n'
ROME = '<tool_call>{"name": "get_weather", "arguments": {"city": "Rome"}}</tool_call>\n'
TIME = '<tool_call>{"name": "get_time", "arguments": {"city": "Paris"}}</tool_call>\n'


def run(text: str, cuts: list[int] | None = None) -> tuple[list[BackendEvent], OutputPipeline]:
    """The events of ``text`` fed in pieces (split at ``cuts``), and the pipeline after."""
    pipeline = OutputPipeline(stop_sequences=(), parse_tools=True, calls_only=True)
    data = text.encode()
    bounds = [0, *sorted({c % (len(data) + 1) for c in cuts or []}), len(data)]
    events: list[BackendEvent] = []
    for start, end in itertools.pairwise(bounds):
        events += pipeline.feed(data[start:end])
        if pipeline.repeated:
            break
    if not pipeline.repeated:
        events += pipeline.finish()
    return events, pipeline


def calls(events: list[BackendEvent]) -> list[tuple[str, dict[str, object]]]:
    names = [e.name for e in events if isinstance(e, ToolCallStart)]
    ends = [e.arguments for e in events if isinstance(e, ToolCallEnd)]
    assert len(names) == len(ends)
    return list(zip(names, ends, strict=True))


def test_a_repeated_call_is_dropped_and_ends_the_turn() -> None:
    events, pipeline = run(PARIS + PARIS + PARIS)
    assert calls(events) == [("get_weather", {"city": "Paris"})]
    assert pipeline.repeated
    assert pipeline.tool_calls == 1


def test_different_calls_all_pass() -> None:
    events, pipeline = run(PARIS + ROME + TIME)
    assert calls(events) == [
        ("get_weather", {"city": "Paris"}),
        ("get_weather", {"city": "Rome"}),
        ("get_time", {"city": "Paris"}),
    ]
    assert not pipeline.repeated
    assert pipeline.tool_calls == 3


def test_a_repeat_of_any_earlier_call_counts() -> None:
    events, pipeline = run(PARIS + ROME + PARIS + TIME)
    assert [args for _, args in calls(events)] == [{"city": "Paris"}, {"city": "Rome"}]
    assert pipeline.repeated


def test_the_first_call_streams_and_a_later_one_arrives_whole() -> None:
    pipeline = OutputPipeline(stop_sequences=(), parse_tools=True, calls_only=True)
    middle = PARIS.index('"Paris"')  # inside the arguments
    first = pipeline.feed(PARIS[:middle].encode())
    assert [type(e) for e in first] == [ToolCallStart, ToolCallChunk]  # streamed as written
    pipeline.feed(PARIS[middle:].encode())
    middle = ROME.index('"Rome"')
    assert pipeline.feed(ROME[:middle].encode()) == []  # held until it is complete
    rest = pipeline.feed(ROME[middle:].encode())
    assert [type(e) for e in rest[:4]] == [ToolCallStart, ToolCallChunk, ToolCallChunk, ToolCallEnd]


def test_a_later_call_cut_short_is_passed_on_at_the_end() -> None:
    events, pipeline = run(PARIS + ROME[:-30])
    assert [name for name, _ in calls(events)] == ["get_weather", "get_weather"]
    assert not pipeline.repeated


@given(st.lists(st.integers(min_value=0, max_value=500), max_size=12))
def test_any_chunking_gives_the_same_calls(cuts: list[int]) -> None:
    events, pipeline = run(PARIS + ROME + ROME + TIME, cuts)
    assert calls(events) == [("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Rome"})]
    assert pipeline.repeated


def test_calls_are_compared_as_json_not_as_python_values() -> None:
    # 1, 1.0 and true are equal in Python, not in JSON: three different calls.
    template = '<tool_call>{"name": "f", "arguments": {"x": %s}}</tool_call>\n'
    events, pipeline = run("".join(template % value for value in ("1", "1.0", "true")))
    assert [args for _, args in calls(events)] == [{"x": 1}, {"x": 1.0}, {"x": True}]
    assert not pipeline.repeated


def test_a_call_cut_short_is_never_taken_for_a_repeat() -> None:
    empty = '<tool_call>{"name": "get_time", "arguments": {}}</tool_call>\n'
    events, pipeline = run(empty + '<tool_call>{"name": "get_time", "arguments": {')
    assert calls(events) == [("get_time", {}), ("get_time", {})]
    assert not pipeline.repeated
