"""The backend seam: the ``Backend`` protocol and its neutral request/event vocabulary.

Words here are deliberately not the API's (``Turn``, ``Part``, ``BackendEvent``) so a
reader always knows which side of ``translate.py`` they are on.

Contract of ``Backend.generate``:
- the first event is ``Accepted``, as soon as the request has passed the backend's own
  checks (it fits the context, its grammar compiles) — errors found before it are
  plain HTTP errors, later ones arrive mid-stream;
- then ``PromptProcessed`` (input token counts, known before any output token) when
  the generation gets capacity, then any number of ``TextChunk``, ``ToolCallStart``,
  ``ToolCallChunk`` and ``ToolCallEnd``, and last exactly one ``Finished``;
- tool-call events are well nested (start, chunks, end) and never interleave with text;
- closing the iterator early (``aclose``) cancels generation and frees its capacity;
- failures raise ``parley.errors.ParleyError`` subclasses.

``Passthrough`` is the one optional capability: a backend that speaks the Claude API
itself takes the client's validated body as is (the only place a backend sees API
JSON, because translating it would lose what the upstream understands and Parley does
not). Services discover it with ``isinstance(backend, Passthrough)``, never by class.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

# --- request ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TextPart:
    text: str


@dataclass(frozen=True, slots=True)
class ImagePart:
    media_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class ToolCallPart:
    """A tool call the assistant made earlier in the conversation."""

    call_id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToolResultPart:
    call_id: str
    parts: tuple[TextPart | ImagePart, ...]
    is_error: bool = False


CacheTTL = Literal["5m", "1h"]


@dataclass(frozen=True, slots=True)
class CachePoint:
    """A prompt-cache breakpoint: the client asked to cache everything before here."""

    ttl: CacheTTL = "5m"


Part = TextPart | ImagePart | ToolCallPart | ToolResultPart | CachePoint


@dataclass(frozen=True, slots=True)
class Turn:
    role: Literal["user", "assistant", "system"]
    parts: tuple[Part, ...]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    description: str
    input_schema: dict[str, Any]
    cache: CachePoint | None = None


@dataclass(frozen=True, slots=True)
class ToolMode:
    """How tools may be used: ``auto`` (model decides), ``required`` (at least one
    call, of ``only`` when set), or ``none``; ``single`` allows at most one call."""

    kind: Literal["auto", "required", "none"] = "auto"
    only: str | None = None
    single: bool = False


@dataclass(frozen=True, slots=True)
class Sampling:
    temperature: float = 1.0
    top_p: float | None = None
    top_k: int | None = None
    seed: int | None = None


@dataclass(frozen=True, slots=True)
class Reasoning:
    """Whether the model should think before answering (the request's ``thinking``):
    ``enabled`` with at most ``budget_tokens`` of thinking, ``adaptive`` (the model
    decides), or ``disabled``; ``effort`` is ``output_config.effort``."""

    mode: Literal["enabled", "adaptive", "disabled"] = "disabled"
    budget_tokens: int | None = None
    effort: str | None = None


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    """One generation. ``turns`` ends with an assistant turn when that turn is a
    prefill the model continues. ``max_tokens`` is already clamped to the model."""

    model: str
    system: str | None
    turns: tuple[Turn, ...]
    max_tokens: int
    tools: tuple[ToolSpec, ...] = ()
    tool_mode: ToolMode = field(default_factory=ToolMode)
    stop_sequences: tuple[str, ...] = ()
    sampling: Sampling = field(default_factory=Sampling)
    json_schema: dict[str, Any] | None = None
    # Queue order in every backend that queues: "priority" (Priority Tier, within its
    # commitment) ahead of "interactive" (standard), both ahead of "batch".
    priority: Literal["priority", "interactive", "batch"] = "interactive"
    reasoning: Reasoning = field(default_factory=Reasoning)
    # Breakpoints inside the system text: (character offset, breakpoint).
    system_cache: tuple[tuple[int, CachePoint], ...] = ()

    @property
    def prefill(self) -> str | None:
        if self.turns and self.turns[-1].role == "assistant":
            return "".join(p.text for p in self.turns[-1].parts if isinstance(p, TextPart))
        return None


# --- events -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Accepted:
    """The backend took the request; generation may still wait for capacity."""


@dataclass(frozen=True, slots=True)
class PromptProcessed:
    """The prompt is being processed: ``input_tokens`` in all, of which the first
    ``cached_tokens`` were already in the backend's cache. ``breakpoints`` are the
    token positions where the request's cache breakpoints fall, and ``boundaries``
    where its content blocks end, both in prompt order."""

    input_tokens: int
    cached_tokens: int = 0
    breakpoints: tuple[tuple[int, CacheTTL], ...] = ()
    boundaries: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class TextChunk:
    text: str


@dataclass(frozen=True, slots=True)
class ThinkingChunk:
    """Reasoning text (a model's thinking), shown to clients as a thinking block."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallStart:
    name: str


@dataclass(frozen=True, slots=True)
class ToolCallChunk:
    """A fragment of the call's arguments as JSON text; fragments concatenate."""

    json: str


@dataclass(frozen=True, slots=True)
class ToolCallEnd:
    arguments: dict[str, Any]


FinishReason = Literal["end_turn", "max_tokens", "stop_sequence", "tool_use", "context_window"]


@dataclass(frozen=True, slots=True)
class Finished:
    """The end. ``prompt`` is set when the backend learned the prompt's token counts
    only at the end (upstreams that report usage last); it replaces the earlier ones."""

    reason: FinishReason
    output_tokens: int
    stop_sequence: str | None = None
    prompt: PromptProcessed | None = None
    thinking_tokens: int | None = None  # of output_tokens, when the model thought


BackendEvent = (
    ThinkingChunk
    | Accepted
    | PromptProcessed
    | TextChunk
    | ToolCallStart
    | ToolCallChunk
    | ToolCallEnd
    | Finished
)


# --- the protocol -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Capabilities:
    context_window: int
    max_output_tokens: int
    tools: bool = True
    images: bool = False
    thinking: bool = False
    # output_config.effort reaches the model (an upstream that takes reasoning_effort).
    effort: bool = False
    structured_output: bool = True
    parallel_sequences: int = 1
    # Sequences decoded together for Message Batch work (0: ``parallel_sequences``).
    batch_sequences: int = 0


@dataclass(frozen=True, slots=True)
class Health:
    """Whether the backend can serve, and its load where it knows it: requests waiting
    for capacity and sequences being generated (``/metrics`` reports both)."""

    ok: bool
    detail: str = ""
    queued: int | None = None
    busy: int | None = None


@runtime_checkable
class Backend(Protocol):
    """What every inference backend provides. ``capabilities`` is valid after start."""

    name: str

    @property
    def capabilities(self) -> Capabilities: ...

    async def start(self) -> None: ...

    async def aclose(self) -> None: ...

    def generate(self, request: GenerationRequest) -> AsyncGenerator[BackendEvent, None]: ...

    async def count_tokens(self, subject: GenerationRequest | str) -> int:
        """Tokens of ``subject``: a whole prompt, rendered exactly as ``generate``
        renders it (count_tokens, rate limits), or plain generated text, without
        template or special tokens (the output of an answer that ended before the
        backend reported its own count)."""
        ...

    async def health(self) -> Health: ...


# A Claude-API stream event as the upstream sent it: its name, its data, and its SSE
# bytes (passed on untouched when nothing in it had to change).
UpstreamEvent = tuple[str, dict[str, Any], bytes]


@runtime_checkable
class Passthrough(Protocol):
    """A backend that answers Claude-API bodies directly (another Parley, vLLM's or
    llama-server's ``/v1/messages``). ``body`` is the client's validated body; the
    backend replaces ``model`` with the upstream's name. ``request`` is the same
    conversation in neutral words, for routing (a conversation stays on the replica
    that holds its KV cache)."""

    def forward(
        self, request: GenerationRequest, body: Mapping[str, Any], betas: frozenset[str]
    ) -> AsyncGenerator[UpstreamEvent, None]:
        """The upstream's stream events, one at a time, as they arrive."""
        ...

    async def answer(
        self, request: GenerationRequest, body: Mapping[str, Any], betas: frozenset[str]
    ) -> dict[str, Any]:
        """The upstream's non-streaming ``Message``, as JSON."""
        ...

    async def count_body(self, body: Mapping[str, Any], betas: frozenset[str]) -> int:
        """The upstream's ``count_tokens`` of a count-tokens body."""
        ...
