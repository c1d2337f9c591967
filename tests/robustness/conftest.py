"""Each test here starts its own ``parley serve``: none outlives its test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.processes import STARTED_PROCESSES, kill_started_since


@pytest.fixture(autouse=True)
def no_process_left() -> Iterator[None]:
    before = len(STARTED_PROCESSES)
    yield
    kill_started_since(before)
