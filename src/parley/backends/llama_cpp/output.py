"""From sampled token bytes to backend events, for one generation.

Runs on the engine thread, token by token, so a stop sequence ends decoding at once
rather than a few tokens later. The stages: incremental UTF-8 decoding (a character
split across tokens is emitted whole), the thinking section of a reasoning model
(``common/thinking.py``), the tool-call parser, then stop sequences, which apply to the
answer's text only, never to thinking or inside a tool call's JSON.

Thinking is counted in tokens as it is fed (``thinking_tokens``). When a budget is set
and spent with the section still open, or the model ends its turn inside it, ``closing``
gives the text that closes it: the engine decodes those tokens as if the model had
written them, and the model goes on to answer.

A small model that has made a call tends to make it again, word for word, until
``max_tokens`` (an agent would then run the tool twice). So every call after the first
is held back until it is complete: one identical to an earlier call of the turn (same
name, same arguments as JSON) is dropped and ends the turn (``repeated``, answered as
``tool_use``; its tokens still count as output); any other is passed on whole, and so
is a call cut short by the end of generation.
"""

from __future__ import annotations

import codecs
import json

from parley.backends.base import (
    BackendEvent,
    TextChunk,
    ThinkingChunk,
    ToolCallEnd,
    ToolCallStart,
)
from parley.backends.common.stops import StopMatcher
from parley.backends.common.thinking import ThinkingSplitter
from parley.backends.common.toolcalls import ParserEvent, ToolCallParser


class OutputPipeline:
    def __init__(
        self,
        *,
        stop_sequences: tuple[str, ...],
        parse_tools: bool,
        calls_only: bool = False,
        tool_names: tuple[str, ...] = (),
        thinking: ThinkingSplitter | None = None,
        thinking_budget: int | None = None,
    ) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._thinking = thinking
        self._budget = thinking_budget
        self.thinking_tokens = 0
        self._parser = ToolCallParser(enabled=parse_tools, calls_only=calls_only, names=tool_names)
        self._stops = StopMatcher(stop_sequences)
        self.tool_calls = 0
        self.stop_sequence: str | None = None
        self.repeated = False
        self._calls: list[tuple[str, str]] = []
        self._held: list[BackendEvent] | None = None
        self._name = ""
        self._ending = False

    def feed(self, piece: bytes) -> list[BackendEvent]:
        """Events for one token's bytes; sets ``stop_sequence`` when one is hit."""
        if self._thinking is not None and self._thinking.inside:
            self.thinking_tokens += 1
        return self._text(self._decoder.decode(piece))

    @property
    def thinks(self) -> bool:
        """Whether this answer may have a thinking section (``thinking_tokens`` counts)."""
        return self._thinking is not None

    def closing(self, *, model_ended: bool = False) -> str | None:
        """The text that ends the thinking section, once its budget is spent or when the
        model ends its turn inside it (it is then closed for the model, which answers)."""
        spent = self._budget is not None and self.thinking_tokens >= self._budget
        if self._thinking is None or not self._thinking.inside or not (spent or model_ended):
            return None
        return f"\n{self._thinking.markers.end}\n\n"

    def feed_text(self, text: str) -> list[BackendEvent]:
        """Events for text decoded as the model's own (a thinking section closed for it)."""
        return self._text(text)

    def finish(self) -> list[BackendEvent]:
        """Events still held back when generation ends."""
        if self.repeated:
            return []
        events = self._text(self._decoder.decode(b"", final=True))
        if self._thinking is not None:
            events += self._split(self._thinking.finish())
        if self.stop_sequence is None:
            self._ending = True  # a call closed now was cut short: not a repeat
            events += self._route(self._parser.finish())
        if self.stop_sequence is None:
            tail = self._stops.flush()
            if tail:
                events.append(TextChunk(tail))
        return events

    def _text(self, text: str) -> list[BackendEvent]:
        if self._thinking is None:
            return self._route(self._parser.feed(text))
        return self._split(self._thinking.feed(text))

    def _split(self, parts: list[TextChunk | ThinkingChunk]) -> list[BackendEvent]:
        events: list[BackendEvent] = []
        for part in parts:
            if isinstance(part, ThinkingChunk):
                events.append(part)
            else:
                events += self._route(self._parser.feed(part.text))
        return events

    def _route(self, parsed: list[ParserEvent]) -> list[BackendEvent]:
        events: list[BackendEvent] = []
        for event in parsed:
            if self.stop_sequence is not None or self.repeated:
                break
            if isinstance(event, TextChunk):
                text, self.stop_sequence = self._stops.feed(event.text)
                if text:
                    events.append(TextChunk(text))
                continue
            held = self._stops.flush()
            if held:
                events.append(TextChunk(held))
            events += self._call_event(event)
        return events

    def _call_event(self, event: BackendEvent) -> list[BackendEvent]:
        """A tool call's events, passed on; a later call's held back until its end."""
        if isinstance(event, ToolCallStart):
            self._name = event.name
            if self._calls:
                self._held = []
        if self._held is not None:
            self._held.append(event)
        if not isinstance(event, ToolCallEnd):
            return [] if self._held is not None else [event]
        call = (self._name, json.dumps(event.arguments, sort_keys=True))
        released, self._held = self._held or [event], None
        if call in self._calls and not self._ending:
            self.repeated = True
            return []
        self._calls.append(call)
        self.tool_calls += 1
        return released
