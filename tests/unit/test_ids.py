"""Ids: the API's prefixes, unique, and sortable by creation time."""

from __future__ import annotations

import time

import pytest

from parley.ids import new_id


def test_prefix_and_shape() -> None:
    value = new_id("msg")
    assert value.startswith("msg_01")
    assert len(value) == len("msg_01") + 22


def test_ids_sort_by_creation() -> None:
    first = new_id("msgbatch")
    time.sleep(0.002)
    second = new_id("msgbatch")
    assert first < second


def test_unique() -> None:
    assert len({new_id("toolu") for _ in range(10_000)}) == 10_000


def test_unknown_prefix_refused() -> None:
    with pytest.raises(ValueError, match="unknown id prefix"):
        new_id("nope")
