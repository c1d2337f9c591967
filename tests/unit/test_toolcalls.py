"""The streaming tool-call parser (``<tool_call>`` tags, bare and fenced JSON objects):
same result however the text is chunked."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from parley.backends.base import TextChunk, ToolCallChunk, ToolCallEnd, ToolCallStart
from parley.backends.common.toolcalls import ToolCallParser

CALL = (
    '<tool_call>\n{"name": "get_weather", "arguments": '
    '{"city": "Paris \\"}\\" x", "n": [1, {"a": 2}]}}\n</tool_call>'
)


TOOLS = ("Write", "Bash")


def parse(
    chunks: list[str], *, calls_only: bool = False, names: tuple[str, ...] = TOOLS
) -> list[object]:
    parser = ToolCallParser(calls_only=calls_only, names=names)
    events: list[object] = []
    for chunk in chunks:
        events += parser.feed(chunk)
    return events + parser.finish()


def summarize(events: list[object]) -> list[object]:
    """Merge adjacent text / argument fragments so chunkings can be compared."""
    out: list[object] = []
    for event in events:
        if isinstance(event, TextChunk) and out and isinstance(out[-1], str):
            out[-1] += event.text
        elif isinstance(event, TextChunk):
            out.append(event.text)
        elif isinstance(event, ToolCallChunk) and out and isinstance(out[-1], tuple):
            out[-1] = ("args", out[-1][1] + event.json)
        elif isinstance(event, ToolCallChunk):
            out.append(("args", event.json))
        else:
            out.append(event)
    return out


def test_text_then_call() -> None:
    events = summarize(parse(["Let me check. ", CALL]))
    assert events[0] == "Let me check. "
    assert events[1] == ToolCallStart("get_weather")
    assert isinstance(events[2], tuple)
    assert json.loads(events[2][1]) == {"city": 'Paris "}" x', "n": [1, {"a": 2}]}
    assert events[3] == ToolCallEnd({"city": 'Paris "}" x', "n": [1, {"a": 2}]})


def test_text_resembling_tag_is_text() -> None:
    assert summarize(parse(["a <tool", "_c x > b"])) == ["a <tool_c x > b"]


def test_arguments_before_name_parsed_whole() -> None:
    call = '<tool_call>{"arguments": {"q": 1}, "name": "search"}</tool_call>'
    events = summarize(parse([call]))
    assert events == [ToolCallStart("search"), ("args", '{"q": 1}'), ToolCallEnd({"q": 1})]


def test_not_json_stays_text() -> None:
    assert summarize(parse(["<tool_call>oops</tool_call>"])) == ["<tool_call>oops</tool_call>"]


def test_truncated_call_ends_with_empty_input() -> None:
    events = parse(['<tool_call>\n{"name": "f", "arguments": {"a": "unfinis'])
    assert isinstance(events[0], ToolCallStart)
    assert events[-1] == ToolCallEnd({})


def test_call_cut_before_its_name_is_dropped() -> None:
    assert parse(["Checking. ", '<tool_call>\n{"name": "get_wea']) == [TextChunk("Checking. ")]


def test_forced_calls_cut_inside_the_next_tag_leave_no_text() -> None:
    # tool_choice any: the grammar allows "\n" and another call after each call, so
    # max_tokens may land inside the next opening tag.
    events = summarize(parse([CALL, "\n<tool_"], calls_only=True))
    assert events[0] == ToolCallStart("get_weather")
    assert isinstance(events[2], ToolCallEnd)
    assert events[3:] == ["\n"]  # whitespace only: the assembler opens no block for it


def test_auto_mode_releases_a_held_tag_start_as_text() -> None:
    assert summarize(parse(["a <tool_c"])) == ["a <tool_c"]


def test_disabled_parser_is_plain_text() -> None:
    parser = ToolCallParser(enabled=False)
    assert parser.feed(CALL) == [TextChunk(CALL)]


@given(cuts=st.lists(st.integers(min_value=0, max_value=len(CALL) + 20), max_size=12))
def test_any_chunking_gives_same_events(cuts: list[int]) -> None:
    text = "Sure. " + CALL + "\n" + CALL
    points = sorted({c % (len(text) + 1) for c in cuts})
    chunks, last = [], 0
    for p in points:
        chunks.append(text[last:p])
        last = p
    chunks.append(text[last:])
    assert summarize(parse(chunks)) == summarize(parse([text]))


# Qwen2.5-Coder under Claude Code's prompt: a fenced, indented object after some prose.
FENCED = (
    'I\'ll create the file.\n```json\n{\n  "name": "Write",\n  "arguments": '
    '{"file_path": "/tmp/f.py", "content": "print(\\"hi\\")\\n"}\n}\n```\n'
)
WRITE = {"file_path": "/tmp/f.py", "content": 'print("hi")\n'}


def test_a_fenced_json_call_is_a_call() -> None:
    events = summarize(parse([FENCED]))
    assert events[0] == "I'll create the file.\n"
    assert events[1] == ToolCallStart("Write")
    assert isinstance(events[2], tuple) and json.loads(events[2][1]) == WRITE
    assert events[3] == ToolCallEnd(WRITE)
    assert events[4:] == ["\n"]  # the fence and the wrapper's brace are dropped


def test_a_bare_json_call_at_a_line_start_is_a_call() -> None:
    text = '{"name": "Bash", "parameters": {"command": "python3 f.py"}}'
    events = summarize(parse([text]))
    assert events == [
        ToolCallStart("Bash"),
        ("args", '{"command": "python3 f.py"}'),
        ToolCallEnd({"command": "python3 f.py"}),
    ]


def test_json_naming_no_tool_of_the_request_is_text() -> None:
    text = 'Example:\n```json\n{"name": "my-app", "arguments": {}}\n```\n'
    assert summarize(parse([text])) == [text]


def test_json_calls_need_tool_names() -> None:
    text = '{"name": "Bash", "arguments": {"command": "ls"}}'
    assert summarize(parse([text], names=())) == [text]


def test_a_call_object_inside_a_line_is_text() -> None:
    text = 'Run {"name": "Bash", "arguments": {"command": "ls"}} now'
    assert summarize(parse([text])) == [text]


def test_code_blocks_and_braces_are_text() -> None:
    text = '```python\nprint({1: 2})\n```\n{\n  "a": 1\n}\n  ``not a fence\n'
    assert summarize(parse([text])) == [text]


def test_a_fenced_call_cut_by_the_end_keeps_its_arguments_so_far() -> None:
    events = parse(['```json\n{"name": "Write", "arguments": {"file_path": "/x"'])
    assert events[0] == ToolCallStart("Write")
    assert events[-1] == ToolCallEnd({})


@given(cuts=st.lists(st.integers(min_value=0, max_value=2 * len(FENCED) + 40), max_size=16))
def test_any_chunking_of_json_calls_gives_same_events(cuts: list[int]) -> None:
    text = FENCED + "Now run it.\n" + '{"name": "Bash", "arguments": {"command": "ls"}}\nok'
    points = sorted({c % (len(text) + 1) for c in cuts})
    chunks, last = [], 0
    for p in points:
        chunks.append(text[last:p])
        last = p
    chunks.append(text[last:])
    assert summarize(parse(chunks)) == summarize(parse([text]))
