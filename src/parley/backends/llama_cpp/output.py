"""From sampled token bytes to backend events, for one generation.

Runs on the engine thread, token by token, so a stop sequence ends decoding at once
rather than a few tokens later. The stages: incremental UTF-8 decoding (a character
split across tokens is emitted whole), the tool-call parser, then stop sequences,
which apply to text only, never inside a tool call's JSON.
"""

from __future__ import annotations

import codecs

from parley.backends.base import BackendEvent, TextChunk, ToolCallEnd
from parley.backends.common.stops import StopMatcher
from parley.backends.common.toolcalls import ParserEvent, ToolCallParser


class OutputPipeline:
    def __init__(
        self, *, stop_sequences: tuple[str, ...], parse_tools: bool, calls_only: bool = False
    ) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._parser = ToolCallParser(enabled=parse_tools, calls_only=calls_only)
        self._stops = StopMatcher(stop_sequences)
        self.tool_calls = 0
        self.stop_sequence: str | None = None

    def feed(self, piece: bytes) -> list[BackendEvent]:
        """Events for one token's bytes; sets ``stop_sequence`` when one is hit."""
        return self._route(self._parser.feed(self._decoder.decode(piece)))

    def finish(self) -> list[BackendEvent]:
        """Events still held back when generation ends."""
        events = self._route(self._parser.feed(self._decoder.decode(b"", final=True)))
        if self.stop_sequence is None:
            events += self._route(self._parser.finish())
        if self.stop_sequence is None:
            tail = self._stops.flush()
            if tail:
                events.append(TextChunk(tail))
        return events

    def _route(self, parsed: list[ParserEvent]) -> list[BackendEvent]:
        events: list[BackendEvent] = []
        for event in parsed:
            if self.stop_sequence is not None:
                break
            if isinstance(event, TextChunk):
                text, self.stop_sequence = self._stops.feed(event.text)
                if text:
                    events.append(TextChunk(text))
                continue
            held = self._stops.flush()
            if held:
                events.append(TextChunk(held))
            if isinstance(event, ToolCallEnd):
                self.tool_calls += 1
            events.append(event)
        return events
