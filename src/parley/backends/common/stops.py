"""Stop sequences over streamed text, for backends that check them themselves.

``StopMatcher.feed`` returns the text that is safe to emit and, once a stop sequence
has appeared, which one. Text that could be the start of a stop sequence is held back
until the next chunk settles it, so a stop sequence split across tokens is still
found and never leaks into the output.
"""

from __future__ import annotations


class StopMatcher:
    def __init__(self, stop_sequences: tuple[str, ...]) -> None:
        self._stops = tuple(s for s in stop_sequences if s)
        self._held = ""

    def feed(self, text: str) -> tuple[str, str | None]:
        """Add ``text``; return (text to emit now, matched stop sequence or None)."""
        if not self._stops:
            return text, None
        buffer = self._held + text
        found = self._earliest(buffer)
        if found is not None:
            at, stop = found
            self._held = ""
            return buffer[:at], stop
        keep = self._partial_suffix(buffer)
        self._held = buffer[len(buffer) - keep :]
        return buffer[: len(buffer) - keep], None

    def flush(self) -> str:
        """Release held text at the end of generation (it matched no stop sequence)."""
        held, self._held = self._held, ""
        return held

    def _earliest(self, buffer: str) -> tuple[int, str] | None:
        best: tuple[int, str] | None = None
        for stop in self._stops:
            at = buffer.find(stop)
            if at >= 0 and (best is None or at < best[0]):
                best = (at, stop)
        return best

    def _partial_suffix(self, buffer: str) -> int:
        longest = 0
        for stop in self._stops:
            for size in range(min(len(stop) - 1, len(buffer)), longest, -1):
                if buffer.endswith(stop[:size]):
                    longest = size
                    break
        return longest
