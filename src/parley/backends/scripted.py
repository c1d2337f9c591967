"""A scripted backend for tests: replays events a test chose, records what it was asked.

It is a fake at the edge (the model), never a stand-in for Parley's own services.
By default it echoes the last user text word by word, honouring ``max_tokens`` and
stop sequences, and counts one token per whitespace-separated word of the rendered
conversation, so counts are deterministic and easy to reason about in assertions.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Sequence

from parley.backends.base import (
    Accepted,
    BackendEvent,
    Capabilities,
    Finished,
    FinishReason,
    GenerationRequest,
    Health,
    PromptProcessed,
    TextChunk,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from parley.backends.common.stops import StopMatcher

Script = Callable[[GenerationRequest], Sequence[BackendEvent]]


def rendered_words(request: GenerationRequest) -> list[str]:
    words = (request.system or "").split()
    for tool in request.tools:
        words += [tool.name, *tool.description.split(), *str(tool.input_schema).split()]
    for turn in request.turns:
        words.append(f"<{turn.role}>")
        for part in turn.parts:
            if isinstance(part, TextPart):
                words += part.text.split()
            elif isinstance(part, ToolCallPart):
                words += [part.name, *str(part.arguments).split()]
            elif isinstance(part, ToolResultPart):
                words += [w for p in part.parts if isinstance(p, TextPart) for w in p.text.split()]
    return words


def echo(request: GenerationRequest) -> list[BackendEvent]:
    """Echo the last user text, one word per token."""
    last_user = next((t for t in reversed(request.turns) if t.role == "user"), None)
    text = " ".join(p.text for p in last_user.parts if isinstance(p, TextPart)) if last_user else ""
    words = text.split()
    stops = StopMatcher(request.stop_sequences)
    events: list[BackendEvent] = []
    for produced, word in enumerate(words[: request.max_tokens], start=1):
        emit, stop = stops.feed(word if produced == 1 else " " + word)
        if emit:
            events.append(TextChunk(emit))
        if stop is not None:
            return [*events, Finished("stop_sequence", produced, stop)]
    if stops_tail := stops.flush():
        events.append(TextChunk(stops_tail))
    reason: FinishReason = "max_tokens" if len(words) > request.max_tokens else "end_turn"
    return [*events, Finished(reason, min(len(words), request.max_tokens))]


class ScriptedBackend:
    name = "scripted"

    def __init__(
        self,
        script: Script = echo,
        *,
        capabilities: Capabilities | None = None,
        delay: float = 0.0,
        first_delay: float = 0.0,
    ) -> None:
        self.script = script
        self._capabilities = capabilities or Capabilities(
            context_window=4096, max_output_tokens=1024
        )
        self.delay = delay
        self.first_delay = first_delay
        self.requests: list[GenerationRequest] = []
        self.cancelled = 0
        self.completed = 0

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    async def health(self) -> Health:
        return Health(ok=True)

    async def count_tokens(self, subject: GenerationRequest | str) -> int:
        if isinstance(subject, str):
            return len(subject.split())  # one word per token, as ``echo`` generates
        return len(rendered_words(subject))

    async def generate(self, request: GenerationRequest) -> AsyncGenerator[BackendEvent, None]:
        self.requests.append(request)
        finished = False
        try:
            yield Accepted()
            if self.first_delay:
                await asyncio.sleep(self.first_delay)
            yield PromptProcessed(input_tokens=len(rendered_words(request)))
            for event in self.script(request):
                if self.delay:
                    await asyncio.sleep(self.delay)
                finished = isinstance(event, Finished)
                yield event
        finally:
            if finished:
                self.completed += 1
            else:
                self.cancelled += 1
