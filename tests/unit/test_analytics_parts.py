"""The pure parts of the analytics reports: page cursors and row dimensions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from parley.errors import InvalidRequestError
from parley.metering.cursor import cut, decode_offset, encode_offset
from parley.metering.dimensions import Dimensions

ROW = {
    "minute": datetime(2026, 12, 1, tzinfo=UTC),
    "api_key_id": "apikey_1",
    "workspace_id": "wrkspc_1",
    "model": "m",
    "service_tier": "priority",
    "is_batch": False,
}


def test_cursors_walk_a_list_and_refuse_strangers() -> None:
    items = list(range(5))
    first, token = cut(items, 2, None)
    second, token2 = cut(items, 2, token)
    third, last = cut(items, 2, token2)
    assert (first, second, third, last) == ([0, 1], [2, 3], [4], None)
    assert decode_offset(encode_offset(7)) == 7
    for bad in ("nope", "page_!!", encode_offset(-1)):
        with pytest.raises(InvalidRequestError):
            decode_offset(bad)


def test_dimensions_of_a_row() -> None:
    dims = Dimensions(inference_geo="global", key_creators={"apikey_1": "user_1"})
    assert dims.value(ROW, "service_tier") == "priority"
    assert dims.value({**ROW, "is_batch": True}, "service_tier") == "batch"
    assert dims.value(ROW, "product") == "messages_api"
    assert dims.value(ROW, "actor") == {"type": "api_actor", "api_key_id": "apikey_1"}
    assert dims.value(ROW, "agent_id") is None
    assert dims.group(["model", "actor"], dims.key(ROW, ["model", "actor"]))["actor"] == {
        "type": "api_actor",
        "api_key_id": "apikey_1",
    }
    assert dims.matches(ROW, {"models": ("m",), "user_ids": ("user_1",)})
    assert not dims.matches(ROW, {"agent_ids": ("a",)})
    keyless = {**ROW, "api_key_id": None}
    assert dims.matches(keyless, {"api_key_ids": ("",)})
    assert not dims.matches(keyless, {"api_key_ids": ("apikey_1",)})
    assert Dimensions(inference_geo="eu").value(ROW, "inference_geo") is None
    assert Dimensions(inference_geo="eu").matches(ROW, {"inference_geos": ("not_available",)})
