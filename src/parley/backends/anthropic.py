"""``backend = "anthropic"``: another server that speaks ``/v1/messages`` natively
(another Parley, vLLM's or llama-server's Claude endpoints, the hosted API).

It is the one ``Passthrough`` backend: interactive requests are proxied without
translation. ``forward`` sends the client's own validated body (only ``model``
replaced by the upstream's name) and passes the upstream's SSE events on one by one as
they arrive, ``answer`` returns its JSON answer as is, ``count_body`` its count. Parley
still authenticates, rate-limits and meters them (usage is read from the events).
``generate`` (used where a neutral request is all there is) maps the neutral request
back to a Claude body. Replicas, routing and failover before the first byte are those
of ``common/upstream.py``.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncGenerator, Mapping
from typing import Any

import httpx

from parley.backends.base import (
    Accepted,
    BackendEvent,
    CachePoint,
    Capabilities,
    Finished,
    FinishReason,
    GenerationRequest,
    Health,
    ImagePart,
    PromptProcessed,
    TextChunk,
    TextPart,
    ThinkingChunk,
    ToolCallChunk,
    ToolCallEnd,
    ToolCallPart,
    ToolCallStart,
    ToolResultPart,
    UpstreamEvent,
)
from parley.backends.common.upstream import (
    Replica,
    ReplicaPool,
    UpstreamOptions,
    affinity_key,
    upstream_client,
)
from parley.backends.common.upstream import lines as upstream_lines
from parley.errors import (
    AnswerBroken,
    InternalError,
    InvalidRequestError,
    OverloadedError,
    RateLimitError,
)

VERSION = "2023-06-01"
_FINISH: dict[str, FinishReason] = {
    "end_turn": "end_turn",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "tool_use": "tool_use",
    "model_context_window_exceeded": "context_window",
}


class AnthropicOptions(UpstreamOptions):
    pass


class AnthropicBackend:
    def __init__(self, name: str, options: AnthropicOptions) -> None:
        self.name = name
        self.options = options
        self.pool = ReplicaPool(
            options.urls, health_path=options.health_path, check_interval=options.check_interval
        )
        self._client: httpx.AsyncClient | None = None

    @property
    def capabilities(self) -> Capabilities:
        return self.options.capabilities()

    async def start(self) -> None:
        self._client = upstream_client(self.options.timeout, httpx.Limits(max_connections=256))
        self.pool.start(self._client)

    async def aclose(self) -> None:
        await self.pool.aclose()
        if self._client is not None:
            await self._client.aclose()

    async def health(self) -> Health:
        up = sum(r.healthy for r in self.pool.replicas)
        return Health(ok=up > 0, detail=f"{up}/{len(self.pool.replicas)} replicas healthy")

    def headers(self, betas: frozenset[str] = frozenset()) -> dict[str, str]:
        headers = {"anthropic-version": VERSION}
        if self.options.api_key is not None:
            headers["x-api-key"] = self.options.api_key.get_secret_value()
        if betas:
            headers["anthropic-beta"] = ",".join(sorted(betas))
        return headers

    # --- passthrough ------------------------------------------------------------------

    async def _open(
        self, path: str, body: Mapping[str, Any], betas: frozenset[str], affinity: str | None
    ) -> tuple[Replica, httpx.Response]:
        """POST ``body`` (model replaced) to a replica; upstream errors raised as ours.
        The caller closes the response and calls ``pool.done``."""
        assert self._client is not None
        sent = {**body, "model": self.options.model}
        replica, response = await self.pool.send(
            self._client, path, body=sent, headers=self.headers(betas), affinity=affinity
        )
        if response.status_code >= 400:
            try:
                raise await upstream_error(response)
            finally:
                await response.aclose()
                self.pool.done(replica)
        return replica, response

    async def _read(
        self, path: str, body: Mapping[str, Any], betas: frozenset[str], affinity: str | None
    ) -> dict[str, Any]:
        replica, response = await self._open(path, body, betas, affinity)
        try:
            answer: dict[str, Any] = json.loads(await response.aread())
            return answer
        finally:
            await response.aclose()
            self.pool.done(replica)

    async def forward(
        self, request: GenerationRequest, body: Mapping[str, Any], betas: frozenset[str]
    ) -> AsyncGenerator[UpstreamEvent, None]:
        """The upstream's events as ``(name, data, raw SSE bytes)``, one at a time."""
        replica, response = await self._open(
            "/v1/messages", {**body, "stream": True}, betas, affinity_key(request)
        )
        finished = False
        try:
            async for name, data, raw in sse_events(response, self.options.stall_timeout):
                if name == "error":
                    error = data.get("error", {})
                    raise InternalError(f"the upstream failed mid-answer: {error.get('message')}")
                finished = name == "message_stop"
                yield name, data, raw
            if not finished:
                self.pool.failed(replica, "ended mid-answer")
                raise AnswerBroken("the upstream ended its answer early")
        except httpx.HTTPError as exc:
            self.pool.failed(replica, f"broke mid-answer: {exc}")
            raise AnswerBroken(f"the upstream connection failed mid-answer ({exc})") from None
        except AnswerBroken as exc:  # hung or trickling: take it out too
            self.pool.failed(replica, exc.message)
            raise
        finally:
            await response.aclose()
            self.pool.done(replica)

    async def answer(
        self, request: GenerationRequest, body: Mapping[str, Any], betas: frozenset[str]
    ) -> dict[str, Any]:
        return await self._read(
            "/v1/messages", {**body, "stream": False}, betas, affinity_key(request)
        )

    async def count_body(self, body: Mapping[str, Any], betas: frozenset[str]) -> int:
        counted = await self._read("/v1/messages/count_tokens", body, betas, None)
        return int(counted["input_tokens"])

    # --- the neutral protocol -----------------------------------------------------------

    async def count_tokens(self, subject: GenerationRequest | str) -> int:
        if isinstance(subject, str):
            return await self._count_text(subject)
        body = claude_body(subject)
        for field in ("max_tokens", "stream", "stop_sequences", "temperature", "top_p", "top_k"):
            body.pop(field, None)
        return await self.count_body(body, frozenset())

    async def _count_text(self, text: str) -> int:
        """The upstream's count of a one-message conversation holding ``text``, less that
        of the same conversation holding one character: its template overhead."""
        if not text:
            return 0
        with_text, without = await asyncio.gather(
            *(
                self.count_body({"messages": [{"role": "user", "content": c}]}, frozenset())
                for c in (f".{text}", ".")
            )
        )
        return max(0, with_text - without)

    async def generate(self, request: GenerationRequest) -> AsyncGenerator[BackendEvent, None]:
        body = claude_body(request)
        yield Accepted()
        reader = _EventReader()
        async for name, data, _ in self.forward(request, body, frozenset()):
            for event in reader.feed(name, data):
                yield event


async def sse_events(
    response: httpx.Response, stall: float
) -> AsyncGenerator[tuple[str, dict[str, Any], bytes], None]:
    name = ""
    lines: list[str] = []
    async for line in upstream_lines(response, stall):
        if line == "":
            if name and lines:
                raw = f"event: {name}\n" + "".join(f"{x}\n" for x in lines) + "\n"
                data = json.loads("".join(x[5:].strip() for x in lines if x.startswith("data:")))
                yield name, data, raw.encode()
            name, lines = "", []
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            lines.append(line)


async def upstream_error(response: httpx.Response) -> Exception:
    raw = (await response.aread()).decode("utf-8", "replace")
    try:
        error = json.loads(raw)["error"]
        kind, message = error.get("type"), error.get("message", raw)
    except (ValueError, KeyError, TypeError, AttributeError):
        kind, message = None, raw[:500]
    if response.status_code == 429:
        headers = {
            k: v for k, v in response.headers.items() if k in ("retry-after", "retry-after-ms")
        }
        return RateLimitError(message, headers=headers)
    if response.status_code == 529 or kind == "overloaded_error":
        return OverloadedError(message)
    return InvalidRequestError(f"The upstream server refused the request: {message}")


def claude_body(request: GenerationRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "max_tokens": request.max_tokens,
        "messages": [
            {"role": t.role, "content": [b for p in t.parts for b in _block(p)] or ""}
            for t in request.turns
        ],
        "temperature": min(request.sampling.temperature, 1.0),
    }
    if request.system:
        body["system"] = request.system
    if request.stop_sequences:
        body["stop_sequences"] = list(request.stop_sequences)
    if request.tools:
        body["tools"] = [
            {"name": t.name, "description": t.description, "input_schema": t.input_schema}
            for t in request.tools
        ]
        mode = request.tool_mode
        kind = {"auto": "auto", "required": "any", "none": "none"}[mode.kind]
        choice: dict[str, Any] = (
            {"type": "tool", "name": mode.only} if mode.only else {"type": kind}
        )
        if mode.single and kind != "none":
            choice["disable_parallel_tool_use"] = True
        body["tool_choice"] = choice
    return body


def _block(part: Any) -> list[dict[str, Any]]:
    if isinstance(part, TextPart):
        return [{"type": "text", "text": part.text}]
    if isinstance(part, ImagePart):
        data = base64.b64encode(part.data).decode()
        return [
            {
                "type": "image",
                "source": {"type": "base64", "media_type": part.media_type, "data": data},
            }
        ]
    if isinstance(part, ToolCallPart):
        return [
            {"type": "tool_use", "id": part.call_id, "name": part.name, "input": part.arguments}
        ]
    if isinstance(part, ToolResultPart):
        content = [b for p in part.parts for b in _block(p)]
        return [
            {
                "type": "tool_result",
                "tool_use_id": part.call_id,
                "content": content,
                "is_error": part.is_error,
            }
        ]
    if isinstance(part, CachePoint):
        return []
    return []


class _EventReader:
    """Claude-API stream events → neutral events (for ``generate``)."""

    def __init__(self) -> None:
        self.kinds: dict[int, str] = {}
        self.arguments: dict[int, list[str]] = {}
        self.usage: dict[str, Any] = {}

    def feed(self, name: str, data: dict[str, Any]) -> list[BackendEvent]:
        if name == "message_start":
            self.usage = data["message"].get("usage", {})
            return [self._prompt()]
        if name == "content_block_start":
            block = data["content_block"]
            self.kinds[data["index"]] = block["type"]
            if block["type"] == "tool_use":
                self.arguments[data["index"]] = []
                return [ToolCallStart(block["name"])]
            return [TextChunk(block["text"])] if block.get("text") else []
        if name == "content_block_delta":
            return self._delta(data["index"], data["delta"])
        if name == "content_block_stop" and self.kinds.get(data["index"]) == "tool_use":
            raw = "".join(self.arguments.pop(data["index"], []))
            return [ToolCallEnd(json.loads(raw) if raw.strip() else {})]
        if name == "message_delta":
            self.usage.update({k: v for k, v in data.get("usage", {}).items() if v is not None})
            delta = data.get("delta", {})
            reason = _FINISH.get(delta.get("stop_reason") or "end_turn", "end_turn")
            return [
                Finished(
                    reason,
                    int(self.usage.get("output_tokens", 0)),
                    delta.get("stop_sequence"),
                    prompt=self._prompt(),
                )
            ]
        return []

    def _delta(self, index: int, delta: dict[str, Any]) -> list[BackendEvent]:
        kind = delta.get("type")
        if kind == "text_delta":
            return [TextChunk(delta["text"])]
        if kind == "thinking_delta":
            return [ThinkingChunk(delta["thinking"])]
        if kind == "input_json_delta" and delta["partial_json"]:
            self.arguments.setdefault(index, []).append(delta["partial_json"])
            return [ToolCallChunk(delta["partial_json"])]
        return []

    def _prompt(self) -> PromptProcessed:
        read = int(self.usage.get("cache_read_input_tokens") or 0)
        total = int(self.usage.get("input_tokens") or 0) + read
        total += int(self.usage.get("cache_creation_input_tokens") or 0)
        return PromptProcessed(input_tokens=total, cached_tokens=read)
