"""AWS's event-stream framing (``application/vnd.amazon.eventstream``), as Bedrock
streams answers: each message is a prelude (total and header lengths, CRC32), string
headers, a payload and a CRC32 of it all. A Claude event travels as a ``chunk``
event whose JSON payload carries the event's JSON, base64-encoded, in ``bytes``; an
error is an ``exception`` message. botocore's ``EventStreamBuffer`` reads these back.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from collections.abc import Mapping
from typing import Any

CONTENT_TYPE = "application/vnd.amazon.eventstream"
_STRING = 7  # the header value type for strings
# Bedrock's exception names by HTTP status, for errors after the stream began.
EXCEPTIONS: Mapping[int, str] = {
    400: "validationException",
    401: "accessDeniedException",
    403: "accessDeniedException",
    404: "resourceNotFoundException",
    429: "throttlingException",
    529: "serviceUnavailableException",
}


def message(headers: Mapping[str, str], payload: bytes) -> bytes:
    encoded = b"".join(_header(name, value) for name, value in headers.items())
    total = 12 + len(encoded) + len(payload) + 4
    prelude = struct.pack(">II", total, len(encoded))
    body = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded + payload
    return body + struct.pack(">I", zlib.crc32(body))


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return (
        struct.pack(">B", len(raw_name))
        + raw_name
        + struct.pack(">BH", _STRING, len(raw_value))
        + raw_value
    )


def chunk(event: Mapping[str, Any]) -> bytes:
    """One Claude stream event (its wire data) as a Bedrock ``chunk``."""
    data = json.dumps(event, separators=(",", ":")).encode()
    payload = json.dumps({"bytes": base64.b64encode(data).decode()}).encode()
    headers = {
        ":event-type": "chunk",
        ":content-type": "application/json",
        ":message-type": "event",
    }
    return message(headers, payload)


def exception(status: int, text: str) -> bytes:
    name = EXCEPTIONS.get(status, "internalServerException")
    headers = {
        ":exception-type": name,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return message(headers, json.dumps({"message": text}).encode())
