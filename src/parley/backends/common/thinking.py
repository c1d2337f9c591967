"""Reasoning models' thinking, marked in their text: ``<think>…</think>`` and the like.

A reasoning GGUF writes its thinking between two markers its chat template knows (Qwen3,
DeepSeek-R1, QwQ: ``<think>`` and ``</think>``). ``markers_for`` finds them in the
template, or takes them from configuration. ``ThinkingSplitter`` splits the model's text
at them as it streams, into ``ThinkingChunk`` and ``TextChunk`` events; a marker cut
across tokens is held back until it is settled, as the tool-call parser holds back a
possible ``<tool_call>``. Many templates open the thinking section in the generation
prompt itself; the splitter then starts inside it (``opens_thinking``).

The chat template decides how "don't think" is written: templates with an
``enable_thinking`` variable (Qwen3) close the section themselves; for the others the
prompt gets an empty section (``start`` + ``end``), or, when the generation prompt
opened one, its end marker (``closed``).
"""

from __future__ import annotations

from dataclasses import dataclass

from parley.backends.base import TextChunk, ThinkingChunk

SplitEvent = TextChunk | ThinkingChunk
DEFAULT_MARKERS = ("<think>", "</think>")


@dataclass(frozen=True, slots=True)
class ThinkingMarkers:
    start: str
    end: str

    def opens_thinking(self, prompt: str) -> bool:
        """Whether ``prompt``'s generation prompt opens a thinking section: it ends with
        the start marker (a marker the user wrote earlier in the prompt does not count)."""
        return prompt.rstrip().endswith(self.start)

    def closed(self, prompt: str, *, template_decides: bool) -> str:
        """``prompt`` with thinking turned off, where the template did not do it."""
        if self.opens_thinking(prompt):
            return f"{prompt}\n{self.end}\n\n"
        if template_decides:
            return prompt
        return f"{prompt}{self.start}\n\n{self.end}\n\n"


def markers_for(template: str, configured: list[str] | None) -> ThinkingMarkers | None:
    """The thinking markers of a model: configured ones, else ``<think>``/``</think>``
    when its chat template writes them; None for a model that does not reason."""
    if configured:
        return ThinkingMarkers(configured[0], configured[1])
    start, end = DEFAULT_MARKERS
    if start in template and end in template:
        return ThinkingMarkers(start, end)
    return None


class ThinkingSplitter:
    """One answer's text split into its thinking section (one, at most) and the rest."""

    def __init__(self, markers: ThinkingMarkers, *, inside: bool) -> None:
        self.markers = markers
        self.inside = inside
        self.ended = False  # the section has closed: everything after is the answer
        self._buffer = ""
        self._thought = False
        self._answer_started = False

    def feed(self, text: str) -> list[SplitEvent]:
        self._buffer += text
        events: list[SplitEvent] = []
        while self._buffer:
            if self.ended:
                self._emit(events, self._buffer)
                self._buffer = ""
                break
            marker = self.markers.end if self.inside else self.markers.start
            at = self._buffer.find(marker)
            if at < 0:
                keep = _partial_suffix(self._buffer, marker)
                self._emit(events, self._buffer[: len(self._buffer) - keep])
                self._buffer = self._buffer[len(self._buffer) - keep :]
                break
            self._emit(events, self._buffer[:at])
            self._buffer = self._buffer[at + len(marker) :]
            self.ended = self.inside
            self.inside = not self.inside
        return events

    def finish(self) -> list[SplitEvent]:
        """End of generation: what was held back, as what it would have been."""
        events: list[SplitEvent] = []
        self._emit(events, self._buffer)
        self._buffer = ""
        return events

    def _emit(self, events: list[SplitEvent], text: str) -> None:
        if self.inside:
            if not self._thought:
                text = text.lstrip()  # the line break after the start marker
                self._thought = bool(text)
            if text:
                events.append(ThinkingChunk(text))
            return
        if self.ended and not self._answer_started:
            text = text.lstrip()  # the blank lines after the end marker
            self._answer_started = bool(text)
        if text:
            events.append(TextChunk(text))


def _partial_suffix(text: str, marker: str) -> int:
    """How many characters at the end of ``text`` could begin ``marker``."""
    for size in range(min(len(marker) - 1, len(text)), 0, -1):
        if marker.startswith(text[-size:]):
            return size
    return 0
