"""Usage accounting off the request path: record in memory, flush in the background.

``UsageRecorder.record`` only adds numbers into a dict keyed by minute and
attribution (key, workspace, model, tier, batch flag), so a request never waits for
the database. A background task writes the buffer every ``flush_interval`` seconds,
and ``aclose`` writes what is left: uvicorn runs the app's shutdown on SIGTERM, so a
graceful stop loses nothing. A failed write puts the numbers back for the next try.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from parley.storage import usage as usage_store
from parley.storage.db import Database
from parley.storage.tables import UsageRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UsageEvent:
    api_key_id: str | None
    workspace_id: str | None
    model: str
    input_tokens: int
    output_tokens: int
    cache_read_input_tokens: int = 0
    cache_creation_5m_input_tokens: int = 0
    cache_creation_1h_input_tokens: int = 0
    service_tier: str = "standard"
    is_batch: bool = False
    at: datetime | None = None


_Key = tuple[datetime, str | None, str | None, str, str, bool]
_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_5m_input_tokens",
    "cache_creation_1h_input_tokens",
)


class UsageRecorder:
    def __init__(self, db: Database, *, flush_interval: float = 1.0) -> None:
        self.db = db
        self.flush_interval = flush_interval
        self._buffer: dict[_Key, list[int]] = {}
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def record(self, event: UsageEvent) -> None:
        at = event.at or datetime.now(UTC)
        minute = at.replace(second=0, microsecond=0)
        key = (
            minute,
            event.api_key_id,
            event.workspace_id,
            event.model,
            event.service_tier,
            event.is_batch,
        )
        totals = self._buffer.setdefault(key, [0] * (len(_FIELDS) + 1))
        totals[0] += 1
        for i, name in enumerate(_FIELDS, start=1):
            totals[i] += getattr(event, name)

    async def flush(self) -> None:
        async with self._lock:
            pending, self._buffer = self._buffer, {}
            if not pending:
                return
            rows = [_row(key, totals) for key, totals in pending.items()]
            try:
                async with self.db.write() as session:
                    await usage_store.append(session, rows)
            except Exception:  # keep the numbers; the next flush tries again
                log.exception("writing %d usage rows failed; will retry", len(rows))
                for key, totals in pending.items():
                    merged = self._buffer.setdefault(key, [0] * len(totals))
                    self._buffer[key] = [a + b for a, b in zip(merged, totals, strict=True)]
                raise

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="usage-flush")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            with contextlib.suppress(Exception):  # logged in flush(); retried next time
                await self.flush()

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()


def _row(key: _Key, totals: list[int]) -> UsageRecord:
    minute, api_key_id, workspace_id, model, tier, is_batch = key
    return UsageRecord(
        minute=minute,
        api_key_id=api_key_id,
        workspace_id=workspace_id,
        model=model,
        service_tier=tier,
        is_batch=is_batch,
        requests=totals[0],
        **{name: totals[i] for i, name in enumerate(_FIELDS, start=1)},
    )
