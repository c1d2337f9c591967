"""The Claude API's server-sent events, written: the one encoder of the SSE vocabulary.

Every event carries both the ``event:`` line and ``type`` in its data (SDK 2.x no
longer copies one into the other); there is no ``[DONE]``. Text and tool-argument
deltas are most of a stream and are formatted directly rather than through pydantic.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from parley.wire.responses import (
    InputJSONDelta,
    RawContentBlockDeltaEvent,
    RawMessageDeltaEvent,
    RawMessageStartEvent,
    TextDelta,
)

PING = b'event: ping\ndata: {"type": "ping"}\n\n'

_DELTA = 'event: content_block_delta\ndata: {"type":"content_block_delta","index":%d,"delta":'
_TEXT_DELTA = _DELTA + '{"type":"text_delta","text":%s}}\n\n'
_JSON_DELTA = _DELTA + '{"type":"input_json_delta","partial_json":%s}}\n\n'


def frame(name: str, data: dict[str, Any]) -> bytes:
    """One event named ``name`` with JSON ``data``."""
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def payload(event: BaseModel) -> dict[str, Any]:
    """An event's data, as ``encode`` writes it."""
    if isinstance(event, RawMessageStartEvent):
        return {"type": event.type, "message": event.message.to_wire()}
    data: dict[str, Any] = event.model_dump(mode="json")
    if isinstance(event, RawMessageDeltaEvent):
        if event.context_management is None:
            del data["context_management"]
        for optional in ("output_tokens_details", "iterations"):
            if data["usage"][optional] is None:
                del data["usage"][optional]
    return data


def parse(raw: bytes) -> dict[str, Any]:
    """The data of one encoded event (a proxied upstream's, say)."""
    for line in raw.splitlines():
        if line.startswith(b"data:"):
            data: dict[str, Any] = json.loads(line[5:])
            return data
    return {}


def data_of(item: BaseModel | bytes) -> dict[str, Any]:
    """The data of a stream item: one of our event models, or an upstream's bytes."""
    return parse(item) if isinstance(item, bytes) else payload(item)


def encode(event: BaseModel) -> bytes:
    """One of the stream event models of ``wire.responses``, as SSE bytes."""
    if isinstance(event, RawContentBlockDeltaEvent):
        delta = event.delta
        if isinstance(delta, TextDelta):
            return (_TEXT_DELTA % (event.index, json.dumps(delta.text))).encode()
        if isinstance(delta, InputJSONDelta):
            return (_JSON_DELTA % (event.index, json.dumps(delta.partial_json))).encode()
    if isinstance(event, RawMessageStartEvent):
        return frame(event.type, payload(event))
    if isinstance(event, RawMessageDeltaEvent):  # optional beta fields left out
        data = json.dumps(payload(event), separators=(",", ":"), ensure_ascii=False)
        return f"event: {event.type}\ndata: {data}\n\n".encode()
    kind = getattr(event, "type", "message")
    return f"event: {kind}\ndata: {event.model_dump_json()}\n\n".encode()
