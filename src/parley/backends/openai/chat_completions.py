"""Translation between the neutral vocabulary and OpenAI's ``/v1/chat/completions``.

Pure functions and one small state machine, so every mapping is unit-testable:

- ``chat_request``: system, turns, earlier tool calls (``tool_calls``) and results
  (``tool`` messages), images (data URIs), tools, ``tool_choice`` (``required``, a named
  function, ``none``; ``parallel_tool_calls: false`` for a single call), stop
  sequences, sampling (``top_k`` as the extension vLLM, SGLang and llama-server take),
  JSON-schema output, and ``stream_options.include_usage``;
- ``ChunkReader``: streamed chunks → neutral events: text, reasoning
  (``reasoning_content`` / ``reasoning``) as thinking, tool-call arguments as they
  arrive, finish reasons, and usage including cached prompt tokens;
- ``continuation``: the request that resumes a text answer cut short, on another
  replica, as an assistant prefill (``continue_final_message``).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from parley.backends.base import (
    BackendEvent,
    Finished,
    FinishReason,
    GenerationRequest,
    ImagePart,
    PromptProcessed,
    Reasoning,
    TextChunk,
    TextPart,
    ThinkingChunk,
    ToolCallChunk,
    ToolCallEnd,
    ToolCallPart,
    ToolCallStart,
    ToolResultPart,
    Turn,
)

FINISH: dict[str, FinishReason] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "end_turn",
}


ReasoningDialect = Literal["none", "reasoning_effort", "enable_thinking"]
# Where an upstream takes a thinking budget: vLLM's field (with its --reasoning-config),
# llama-server's, or a chat-template variable (Qwen3's own template; SGLang passes it on).
BudgetField = Literal["none", "thinking_token_budget", "thinking_budget_tokens", "thinking_budget"]
# An upstream's effort for a thinking budget (enabled thinking without an effort).
_BUDGET_EFFORT = ((4096, "low"), (16384, "medium"))


def chat_request(
    request: GenerationRequest,
    model: str,
    reasoning: ReasoningDialect = "none",
    budget_field: BudgetField = "none",
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "messages": chat_messages(request),
        "max_tokens": request.max_tokens,
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": request.sampling.temperature,
    }
    if request.sampling.top_p is not None:
        body["top_p"] = request.sampling.top_p
    if request.sampling.top_k:
        body["top_k"] = request.sampling.top_k
    if request.sampling.seed is not None:
        body["seed"] = request.sampling.seed
    if request.stop_sequences:
        body["stop"] = list(request.stop_sequences)
    body |= reasoning_fields(request.reasoning, reasoning, budget_field)
    if request.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.input_schema,
                },
            }
            for t in request.tools
        ]
        body["tool_choice"] = _tool_choice(request)
        if request.tool_mode.single:
            body["parallel_tool_calls"] = False
    if request.prefill is not None:
        # Continue the trailing assistant message instead of opening a new one: vLLM's
        # and SGLang's extension, which llama-server honours as well.
        body["continue_final_message"] = True
        body["add_generation_prompt"] = False
    if request.json_schema is not None:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "output", "schema": request.json_schema, "strict": True},
        }
    return body


def _tool_choice(request: GenerationRequest) -> Any:
    mode = request.tool_mode
    if mode.kind == "none":
        return "none"
    if mode.kind == "required" and mode.only:
        return {"type": "function", "function": {"name": mode.only}}
    return "required" if mode.kind == "required" else "auto"


def chat_messages(request: GenerationRequest) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    if request.system:
        messages.append({"role": "system", "content": request.system})
    for turn in request.turns:
        messages.extend(_turn(turn))
    return messages


def _turn(turn: Turn) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for part in turn.parts:
        if isinstance(part, ToolResultPart):
            text = "\n".join(p.text for p in part.parts if isinstance(p, TextPart))
            out.append(
                {
                    "role": "tool",
                    "tool_call_id": part.call_id,
                    "content": f"Error: {text}" if part.is_error else text,
                }
            )
    content = [_content(p) for p in turn.parts if isinstance(p, TextPart | ImagePart)]
    calls = [
        {
            "id": p.call_id,
            "type": "function",
            "function": {"name": p.name, "arguments": json.dumps(p.arguments, ensure_ascii=False)},
        }
        for p in turn.parts
        if isinstance(p, ToolCallPart)
    ]
    if content or calls or not out:
        only_text = all(c["type"] == "text" for c in content)
        message: dict[str, Any] = {
            "role": turn.role,
            "content": "\n".join(c["text"] for c in content) if only_text else content,
        }
        if calls:
            message["tool_calls"] = calls
        out.append(message)
    return out


def _content(part: TextPart | ImagePart) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    data = base64.b64encode(part.data).decode()
    return {"type": "image_url", "image_url": {"url": f"data:{part.media_type};base64,{data}"}}


@dataclass
class ChunkReader:
    """Feeds parsed chunks in, gets neutral events out. ``prompt_sent`` tells whether a
    ``PromptProcessed`` went out already (it needs the usage some upstreams send first).

    One reader can follow an answer across upstream streams: after a stream breaks,
    ``next_stream`` forgets that stream's ending and usage, and the chunks of the stream
    that continues the answer are fed in as if nothing happened."""

    stop_sequences: tuple[str, ...] = ()
    prompt_sent: bool = False
    _call_index: int | None = None
    _arguments: list[str] = field(default_factory=list)
    _finish: str | None = None
    _stop: str | None = None
    _usage: dict[str, Any] | None = None
    generated: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    only_text: bool = True  # no reasoning or tool call so far: a prefill can continue it

    @property
    def usage_known(self) -> bool:
        return bool(self._usage and self._usage.get("completion_tokens") is not None)

    @property
    def finished(self) -> bool:
        """Whether the upstream said how the answer ended (a stream cut short did not)."""
        return self._finish is not None

    def next_stream(self) -> None:
        self._finish = self._stop = self._usage = None

    def feed(self, chunk: dict[str, Any]) -> list[BackendEvent]:
        events: list[BackendEvent] = []
        if chunk.get("usage"):
            self._usage = chunk["usage"]
        if not self.prompt_sent:
            self.prompt_sent = True
            events.append(self._prompt() or PromptProcessed(input_tokens=0))
        for choice in chunk.get("choices") or []:
            events += self._delta(choice.get("delta") or {})
            if choice.get("finish_reason"):
                self._finish = choice["finish_reason"]
                stop = choice.get("stop_reason")
                if isinstance(stop, str) and stop in self.stop_sequences:
                    self._stop = stop
        return events

    def finish(self) -> list[BackendEvent]:
        events = self._close_call()
        reason: FinishReason = FINISH.get(self._finish or "stop", "end_turn")
        if self._stop is not None:
            reason = "stop_sequence"
        usage = self._usage or {}
        output = int(usage.get("completion_tokens") or 0)
        # OpenAI's count of reasoning tokens, where the upstream reports it.
        reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens")
        thinking = int(reasoning) if isinstance(reasoning, int) else None
        events.append(Finished(reason, output, self._stop, self._prompt(), thinking))
        return events

    def _prompt(self) -> PromptProcessed | None:
        if not self._usage or self._usage.get("prompt_tokens") is None:
            return None
        details = self._usage.get("prompt_tokens_details") or {}
        return PromptProcessed(
            input_tokens=int(self._usage["prompt_tokens"]),
            cached_tokens=int(details.get("cached_tokens") or 0),
        )

    def _delta(self, delta: dict[str, Any]) -> list[BackendEvent]:
        events: list[BackendEvent] = []
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if reasoning:
            self.only_text = False
            self.generated.append(reasoning)
            events.append(ThinkingChunk(reasoning))
        if delta.get("content"):
            self.generated.append(delta["content"])
            self.text.append(delta["content"])
            events += self._close_call()
            events.append(TextChunk(delta["content"]))
        for call in delta.get("tool_calls") or []:
            events += self._call(call)
        return events

    def _call(self, call: dict[str, Any]) -> list[BackendEvent]:
        events: list[BackendEvent] = []
        index = call.get("index", 0)
        function = call.get("function") or {}
        self.only_text = False
        if index != self._call_index:
            events += self._close_call()
            self._call_index = index
            events.append(ToolCallStart(function.get("name") or ""))
        if function.get("arguments"):
            self.generated.append(function["arguments"])
            self._arguments.append(function["arguments"])
            events.append(ToolCallChunk(function["arguments"]))
        return events

    def _close_call(self) -> list[BackendEvent]:
        if self._call_index is None:
            return []
        raw = "".join(self._arguments)
        self._call_index = None
        self._arguments = []
        try:
            arguments = json.loads(raw) if raw.strip() else {}
        except ValueError:
            arguments = {}
        return [ToolCallEnd(arguments if isinstance(arguments, dict) else {})]


def continuation(request: GenerationRequest, text: str, used_tokens: int) -> GenerationRequest:
    """``request`` again, with the ``text`` answered so far as the assistant prefill
    (after the request's own prefill) and the tokens it used taken off ``max_tokens``."""
    prefill = request.prefill
    if not text:
        return request
    turns = request.turns[:-1] if prefill is not None else request.turns
    answered = Turn("assistant", (TextPart((prefill or "") + text),))
    return replace(
        request, turns=(*turns, answered), max_tokens=max(1, request.max_tokens - used_tokens)
    )


def reasoning_fields(
    reasoning: Reasoning, dialect: ReasoningDialect, budget_field: BudgetField = "none"
) -> dict[str, Any]:
    """The request's thinking in the upstream's words. ``reasoning_effort`` has no "off":
    thinking disabled asks for "low"; enabled asks for the request's effort, else one for
    its budget; adaptive for the effort, else the upstream's default. ``enable_thinking``
    turns the template's thinking on or off. An enabled budget goes in ``budget_field``
    (enforced by vLLM and llama-server, a hint to the template for ``thinking_budget``);
    with none, only the answer's ``max_tokens`` bounds the thinking."""
    fields: dict[str, Any] = {}
    if dialect == "reasoning_effort":
        effort = {"xhigh": "high", "max": "high"}.get(reasoning.effort or "", reasoning.effort)
        if reasoning.mode == "disabled":
            return {"reasoning_effort": "low"}
        if effort is None and reasoning.budget_tokens is not None:
            budget = reasoning.budget_tokens
            effort = next((e for limit, e in _BUDGET_EFFORT if budget <= limit), "high")
        fields = {"reasoning_effort": effort} if effort else {}
    elif dialect == "enable_thinking":
        fields = {"chat_template_kwargs": {"enable_thinking": reasoning.mode != "disabled"}}
    limit = reasoning.budget_tokens if reasoning.mode == "enabled" else None
    if limit is None or budget_field == "none" or dialect == "none":
        return fields
    if budget_field == "thinking_budget":
        fields.setdefault("chat_template_kwargs", {})["thinking_budget"] = limit
    else:
        fields[budget_field] = limit
    return fields
