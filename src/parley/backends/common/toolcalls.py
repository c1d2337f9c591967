"""Streaming parser for tool calls written as ``<tool_call>{…}</tool_call>`` (Hermes).

Splits model text into ``TextChunk`` events and tool calls. A call's
``{"name": "x", "arguments": {…}}`` is recognised as soon as its name is complete,
then its arguments are passed on fragment by fragment as ``ToolCallChunk`` (so a
client sees ``input_json_delta`` while the model writes), and ``ToolCallEnd`` carries
the parsed object. A JSON-aware scanner finds where the arguments object ends, so the
wrapper's closing ``}`` and tag never reach the client.

Text that may be the start of ``<tool_call>`` is held back until it is settled. A call
that is not in the expected shape is parsed whole at ``</tool_call>``; if it is not
JSON at all it is passed on as the text it was.

When generation ends mid-call (``max_tokens``), a call whose name is complete is closed
with the arguments written so far; one cut before its name is complete is dropped, since
it has no tool to name and its markup is not the model's answer. With ``calls_only``
(``tool_choice`` forces tool use, so the grammar allows nothing but calls) a held-back
start of ``<tool_call>`` is dropped too, rather than released as text.
"""

from __future__ import annotations

import json
import re
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
    def __init__(self, *, enabled: bool = True, calls_only: bool = False) -> None:
        self._enabled = enabled
        self._calls_only = calls_only
        self._state = "text"
        self._buffer = ""
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
        at = self._buffer.find(OPEN)
        if at >= 0:
            if at:
                events.append(TextChunk(self._buffer[:at]))
            self._buffer = self._buffer[at + len(OPEN) :]
            self._state = "head"
            return True
        keep = _partial_suffix(self._buffer, OPEN)
        emit = self._buffer[: len(self._buffer) - keep]
        if emit:
            events.append(TextChunk(emit))
        self._buffer = self._buffer[len(emit) :]
        return False

    def _step_head(self, events: list[ParserEvent]) -> bool:
        match = _HEAD.match(self._buffer)
        if match:
            self._name = json.loads(f'"{match.group(1)}"')
            events.append(ToolCallStart(self._name))
            self._buffer = self._buffer[match.end() :]
            self._arguments = ""
            self._scanner = _JsonScanner()
            self._state = "arguments"
            return True
        end = self._buffer.find(CLOSE)
        if end < 0:
            return False
        body, self._buffer = self._buffer[:end], self._buffer[end + len(CLOSE) :]
        events.extend(_whole_call(body))
        self._state = "text"
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
        end = self._buffer.find(CLOSE)
        if end < 0:
            keep = _partial_suffix(self._buffer, CLOSE)
            self._buffer = self._buffer[len(self._buffer) - keep :] if keep else ""
            return False
        self._buffer = self._buffer[end + len(CLOSE) :]
        self._state = "text"
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
