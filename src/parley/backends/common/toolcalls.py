"""Streaming parser for tool calls in the forms models write them.

- ``<tool_call>{"name": "x", "arguments": {…}}</tool_call>`` (Hermes, Qwen), anywhere;
- the same object without the tags, bare or in a fenced code block
  (```` ```json ```` … ```` ``` ````), at the start of a line, when its ``name`` is one of
  the request's tools: Qwen2.5-Coder writes calls so under Claude Code's prompt as often
  as in tags. Keys may be spaced or indented as JSON allows; ``"parameters"`` is read as
  ``"arguments"``. A JSON object or code block naming no tool of the request is text.

Splits model text into ``TextChunk`` events and tool calls. A call is recognised as soon
as its name is complete, then its arguments are passed on fragment by fragment as
``ToolCallChunk`` (so a client sees ``input_json_delta`` while the model writes), and
``ToolCallEnd`` carries the parsed object. A JSON-aware scanner finds where the
arguments object ends, so the wrapper's closing ``}``, tag or fence never reach the
client.

Text that may be the start of a call is held back until it is settled. A tagged call
that is not in the expected shape is parsed whole at ``</tool_call>``; if it is not
JSON at all it is passed on as the text it was.

When generation ends mid-call (``max_tokens``), a call whose name is complete is closed
with the arguments written so far; one cut before its name is complete is dropped, since
it has no tool to name and its markup is not the model's answer. With ``calls_only``
(``tool_choice`` forces tool use, so the grammar allows nothing but calls) a held-back
start of a call is dropped too, rather than released as text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from parley.backends.base import TextChunk, ToolCallChunk, ToolCallEnd, ToolCallStart

OPEN = "<tool_call>"
CLOSE = "</tool_call>"
_HEAD = re.compile(r'\s*\{\s*"name"\s*:\s*"((?:[^"\\]|\\.)*)"\s*,\s*"arguments"\s*:\s*')

ParserEvent = TextChunk | ToolCallStart | ToolCallChunk | ToolCallEnd


class _JsonScanner:
    """Tracks nesting of a JSON value fed piecewise; knows when it is complete."""

    def __init__(self) -> None:
        self.depth = 0
        self.in_string = False
        self.escaped = False
        self.started = False

    def consume(self, text: str) -> int | None:
        """Feed ``text``; return the index just past the value's end, if it ends here."""
        for i, ch in enumerate(text):
            if self.in_string:
                if self.escaped:
                    self.escaped = False
                elif ch == "\\":
                    self.escaped = True
                elif ch == '"':
                    self.in_string = False
                continue
            if ch == '"':
                self.in_string = True
            elif ch in "{[":
                self.depth += 1
                self.started = True
            elif ch in "}]":
                self.depth -= 1
                if self.started and self.depth == 0:
                    return i + 1
        return None


class ToolCallParser:
    def __init__(
        self, *, enabled: bool = True, calls_only: bool = False, names: tuple[str, ...] = ()
    ) -> None:
        self._enabled = enabled
        self._calls_only = calls_only
        self._heads = json_call_heads(names)
        self._state = "text"
        self._buffer = ""
        self._line_start = True  # the buffer begins a line (or the answer)
        self._trailer: Steps | None = None  # None: the closing tag
        self._name = ""
        self._arguments = ""
        self._scanner = _JsonScanner()

    @property
    def in_call(self) -> bool:
        return self._state != "text"

    def feed(self, text: str) -> list[ParserEvent]:
        if not self._enabled:
            return [TextChunk(text)] if text else []
        self._buffer += text
        events: list[ParserEvent] = []
        while self._buffer:
            progressed = getattr(self, f"_step_{self._state}")(events)
            if not progressed:
                break
        return events

    def finish(self) -> list[ParserEvent]:
        """End of generation: release held text; close a call cut short."""
        events: list[ParserEvent] = []
        if self._state == "text":
            if self._buffer and not self._calls_only:
                events.append(TextChunk(self._buffer))
        elif self._state == "arguments":
            if self._buffer:
                events.append(ToolCallChunk(self._buffer))
                self._arguments += self._buffer
            events.append(ToolCallEnd(_lenient_object(self._arguments)))
        self._buffer = ""
        self._state = "text"
        return events

    def _step_text(self, events: list[ParserEvent]) -> bool:
        at, head = self._next_call()
        if at:
            self._emit(events, self._buffer[:at])
        if head is None:  # a possible start of a call at ``at``: wait for more
            return False
        if head.trailer is None:
            self._buffer = self._buffer[len(OPEN) :]
            self._state = "head"
            return True
        self._start(events, head.name, head.end)
        self._trailer = head.trailer
        return True

    def _next_call(self) -> tuple[int, CallHead | None]:
        """Where the first call, or text that may still become one, begins (its head, or
        None while unsettled); ``(len(buffer), None)`` when the buffer holds none."""
        tag = self._buffer.find(OPEN)
        if tag < 0:
            tag = len(self._buffer) - _partial_suffix(self._buffer, OPEN)
        for start in self._line_starts(tag):
            found = match_json_head(self._buffer[start:], self._heads)
            if found is PARTIAL:
                return start, None
            if isinstance(found, CallHead):
                return start, found
        if tag < len(self._buffer) and self._buffer.startswith(OPEN, tag):
            return tag, _TAG
        return tag, None

    def _line_starts(self, limit: int) -> list[int]:
        """Offsets before ``limit`` where a line's text begins (after its indentation)."""
        if not self._heads:
            return []
        starts = [0] if self._line_start else []
        starts += [i + 1 for i, ch in enumerate(self._buffer[:limit]) if ch == "\n"]
        return [_skip_indent(self._buffer, i) for i in starts if i <= limit]

    def _emit(self, events: list[ParserEvent], text: str) -> None:
        events.append(TextChunk(text))
        self._buffer = self._buffer[len(text) :]
        self._line_start = text.endswith("\n")

    def _start(self, events: list[ParserEvent], name: str, end: int) -> None:
        self._name = name
        events.append(ToolCallStart(name))
        self._buffer = self._buffer[end:]
        self._arguments = ""
        self._scanner = _JsonScanner()
        self._state = "arguments"

    def _step_head(self, events: list[ParserEvent]) -> bool:
        match = _HEAD.match(self._buffer)
        if match:
            self._start(events, json.loads(f'"{match.group(1)}"'), match.end())
            self._trailer = None
            return True
        end = self._buffer.find(CLOSE)
        if end < 0:
            return False
        body, self._buffer = self._buffer[:end], self._buffer[end + len(CLOSE) :]
        events.extend(_whole_call(body))
        self._state = "text"
        self._line_start = False
        return True

    def _step_arguments(self, events: list[ParserEvent]) -> bool:
        if not self._arguments:
            self._buffer = self._buffer.lstrip()
            if not self._buffer:
                return False
        end = self._scanner.consume(self._buffer)
        chunk = self._buffer if end is None else self._buffer[:end]
        if chunk:
            events.append(ToolCallChunk(chunk))
            self._arguments += chunk
        if end is None:
            self._buffer = ""
            return False
        self._buffer = self._buffer[end:]
        events.append(ToolCallEnd(_lenient_object(self._arguments)))
        self._state = "trailer"
        return True

    def _step_trailer(self, events: list[ParserEvent]) -> bool:
        """Drop the wrapper after the arguments: ``}`` and the closing tag or fence.
        Text that is not the expected wrapper ends the call's markup there."""
        if self._trailer is None:
            end = self._buffer.find(CLOSE)
            if end < 0:
                keep = _partial_suffix(self._buffer, CLOSE)
                self._buffer = self._buffer[len(self._buffer) - keep :] if keep else ""
                return False
            self._buffer = self._buffer[end + len(CLOSE) :]
        else:
            matched = match_steps(self._buffer, self._trailer)
            if matched is PARTIAL:
                return False
            if isinstance(matched, int):
                self._buffer = self._buffer[matched:]
        self._state = "text"
        self._line_start = False
        return True


def _partial_suffix(text: str, marker: str) -> int:
    for size in range(min(len(marker) - 1, len(text)), 0, -1):
        if text.endswith(marker[:size]):
            return size
    return 0


def _whole_call(body: str) -> list[ParserEvent]:
    try:
        call = json.loads(body)
    except ValueError:
        call = None
    if not isinstance(call, dict) or not isinstance(call.get("name"), str):
        return [TextChunk(OPEN + body + CLOSE)]
    arguments = call.get("arguments", call.get("input", {}))
    if not isinstance(arguments, dict):
        arguments = {}
    encoded = json.dumps(arguments, ensure_ascii=False)
    return [ToolCallStart(call["name"]), ToolCallChunk(encoded), ToolCallEnd(arguments)]


def _lenient_object(text: str) -> dict[str, Any]:
    """The arguments object; ``{}`` when generation stopped before it was complete."""
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# --- calls written as bare or fenced JSON objects --------------------------------------


class _Partial:
    """The text so far may still become a match."""


PARTIAL = _Partial()
WS = "ws"  # a step: any run of whitespace
WORD = "word"  # a step: any run of letters (a code fence's language)
Step = str | tuple[str, ...]  # WS, WORD, or literal alternatives
Steps = tuple[Step, ...]


@dataclass
class CallHead:
    """A recognised start of a call: its tool, where its arguments begin (relative to
    the start of the call's text), and the wrapper after them (None: ``</tool_call>``)."""

    name: str
    end: int
    trailer: Steps | None


_TAG = CallHead("", 0, None)
_JSON_NAME = re.compile(r'"name"\s*:\s*("(?:[^"\\]|\\.)*")')


def json_call_heads(names: tuple[str, ...]) -> tuple[tuple[Steps, Steps], ...]:
    """The (head, trailer) step sequences of a bare and of a fenced JSON call naming
    one of ``names``; none without names."""
    if not names:
        return ()
    quoted = tuple(json.dumps(name, ensure_ascii=False) for name in names)
    body: Steps = ("{", WS, '"name"', WS, ":", WS, quoted, WS, ",", WS)
    body += (('"arguments"', '"parameters"'), WS, ":")
    return (body, (WS, "}")), (("```", WORD, WS, *body), (WS, "}", WS, "```"))


def match_json_head(
    text: str, heads: tuple[tuple[Steps, Steps], ...]
) -> CallHead | _Partial | None:
    """The call ``text`` starts with, PARTIAL if it may still become one, else None."""
    partial = False
    for head, trailer in heads:
        matched = match_steps(text, head)
        if isinstance(matched, int):
            name = _JSON_NAME.search(text, 0, matched)
            assert name is not None  # the head's steps include it
            return CallHead(json.loads(name.group(1)), matched, trailer)
        partial = partial or matched is PARTIAL
    return PARTIAL if partial else None


def match_steps(text: str, steps: Steps) -> int | _Partial | None:
    """How much of ``text`` the ``steps`` match from its start; PARTIAL when ``text``
    ends before they do (and all of it fits them), None when it departs from them."""
    pos = 0
    for step in steps:
        if step in (WS, WORD):
            pos = _skip(text, pos, str.isspace if step == WS else str.isalpha)
            if pos == len(text):
                return PARTIAL
            continue
        rest = text[pos:]
        options = (step,) if isinstance(step, str) else step
        hit = next((option for option in options if rest.startswith(option)), None)
        if hit is None:
            return PARTIAL if any(option.startswith(rest) for option in options) else None
        pos += len(hit)
    return pos


def _skip(text: str, pos: int, kind: Callable[[str], bool]) -> int:
    while pos < len(text) and kind(text[pos]):
        pos += 1
    return pos


def _skip_indent(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t":
        pos += 1
    return pos
