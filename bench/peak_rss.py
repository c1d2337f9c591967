"""Resident memory of a server process while a benchmark phase runs, read from /proc.

    with PeakRss(pid) as memory:
        ...  # the phase
    memory.idle_mib, memory.peak_mib

A thread samples ``VmRSS`` every ``every`` seconds (0.1 by default) from the moment the
block starts until it ends; ``idle_mib`` is the first sample, ``peak_mib`` the highest.
With no pid both stay 0, so a benchmark can take ``--pid`` as optional.
"""

from __future__ import annotations

import threading
from types import TracebackType


def rss_mib(pid: int) -> float:
    """``VmRSS`` of process ``pid`` in MiB (0 once the process is gone)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0.0


class PeakRss:
    def __init__(self, pid: int | None, every: float = 0.1) -> None:
        self.pid = pid
        self.every = every
        self.idle_mib = 0.0
        self.peak_mib = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakRss:
        if self.pid is not None:
            self.idle_mib = self.peak_mib = rss_mib(self.pid)
            self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.pid is not None:
            self._stop.set()
            self._thread.join()
            self.peak_mib = max(self.peak_mib, rss_mib(self.pid))

    def _sample(self) -> None:
        assert self.pid is not None
        while not self._stop.wait(self.every):
            self.peak_mib = max(self.peak_mib, rss_mib(self.pid))
