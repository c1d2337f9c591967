"""Shutting down with streams in flight: how long they get, and how they end.

``parley serve`` calls ``Drain.begin`` when SIGTERM (or Ctrl-C) arrives, before uvicorn
stops accepting connections and waits for those open. Every SSE stream still running
then has ``server.shutdown_drain_seconds`` to finish; one that has not by then gets an
``error`` event (``overloaded_error``, so clients retry elsewhere) and ends, its
answer metered as any answer cut short. uvicorn's own grace period is a few seconds
longer, so the process always ends, and the app's shutdown then flushes usage.
"""

from __future__ import annotations

import math
import time


class Drain:
    def __init__(self) -> None:
        self.deadline = math.inf

    def begin(self, seconds: float) -> None:
        self.deadline = min(self.deadline, time.monotonic() + seconds)

    @property
    def draining(self) -> bool:
        return self.deadline != math.inf

    def expired(self) -> bool:
        return time.monotonic() >= self.deadline

    def wait(self, longest: float) -> float:
        """How long a stream may wait for its next event: ``longest``, or less once
        draining (it must notice the deadline on time)."""
        return max(0.0, min(longest, self.deadline - time.monotonic()))
