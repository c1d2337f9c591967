"""The Claude stream, event by event, as ``chat.completion.chunk`` objects.

The first chunk carries the assistant role; text deltas become ``content``; each
``tool_use`` block becomes a ``tool_calls`` entry (numbered from 0 in the order the
model made them) whose ``arguments`` arrive as the block's JSON deltas; the stop
reason ends the choice. With ``stream_options.include_usage`` every chunk has
``usage: null`` and a last chunk with no choices carries the usage, as OpenAI sends it.
Thinking blocks have no place in this protocol and are left out; an ``error`` event
(proxied from a Claude-API upstream) becomes OpenAI's error object.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from parley.compat.openai.convert import FINISH_REASONS, tool_call, usage
from parley.compat.openai.envelope import error_object


class ChunkWriter:
    """Feed it the Claude events (wire dicts) of one answer; it returns the chunks."""

    def __init__(self, *, created: int, include_usage: bool) -> None:
        self.created = created
        self.include_usage = include_usage
        self.id = ""
        self.model = ""
        self._usage: dict[str, Any] = {}
        self._tools: dict[int, int] = {}  # Claude block index -> tool_calls index

    def feed(self, event: Mapping[str, Any]) -> list[dict[str, Any]]:
        kind = event.get("type")
        if kind == "message_start":
            message = event["message"]
            self.id, self.model = message["id"], message["model"]
            self._usage = dict(message.get("usage") or {})
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind == "content_block_start":
            block = event["content_block"]
            if block.get("type") != "tool_use":
                return []
            position = self._tools[event["index"]] = len(self._tools)
            call = {"index": position, **tool_call(block, "")}
            return [self._chunk({"tool_calls": [call]})]
        if kind == "content_block_delta":
            return self._delta(event["index"], event["delta"])
        if kind == "message_delta":
            counts = event.get("usage") or {}
            self._usage.update({k: v for k, v in counts.items() if v is not None})
            reason = FINISH_REASONS.get(event["delta"].get("stop_reason"), "stop")
            return [self._chunk({}, finish_reason=reason)]
        if kind == "message_stop" and self.include_usage:
            return [self._frame([], usage=usage(self._usage))]
        if kind == "error":  # from a Claude-API upstream whose stream failed
            error = event.get("error") or {}
            message = str(error.get("message", "the upstream's stream failed"))
            return [error_object(message, str(error.get("type", "api_error")), server_side=True)]
        return []

    def _delta(self, index: int, delta: Mapping[str, Any]) -> list[dict[str, Any]]:
        if delta.get("type") == "text_delta":
            return [self._chunk({"content": delta["text"]})]
        if delta.get("type") == "input_json_delta" and index in self._tools:
            call = {"index": self._tools[index], "function": {"arguments": delta["partial_json"]}}
            return [self._chunk({"tool_calls": [call]})]
        return []

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
        return self._frame([choice], usage=None)

    def _frame(
        self, choices: list[dict[str, Any]], *, usage: dict[str, Any] | None
    ) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }
        if self.include_usage:
            chunk["usage"] = usage
        return chunk
