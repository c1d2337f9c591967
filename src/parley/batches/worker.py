"""The batch worker: claims batch requests, runs them, writes exactly one result each.

Runs inside ``parley serve`` (by default) and as ``parley worker`` processes; any number
of them may share one database. Each loop: claim as many requests as there are free
places (``concurrency``, by default the models' batch sequences and a quarter more, so
the engine decodes them together and a sequence that ends is refilled at once), run them
concurrently at batch priority, renew the leases of those still running every third of
``lease_seconds``, and now and then end expired requests, end finished batches and
archive old results.

A worker killed in the middle loses nothing: its leases run out and another worker (or
the same one, restarted) claims the requests again; a request whose result was already
written is never claimed again. A request preempted by interactive work goes back to
``pending``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError

from parley.batches.service import EXPIRED
from parley.config import BatchSettings
from parley.errors import (
    InternalError,
    InvalidRequestError,
    ParleyError,
    PreemptedError,
    as_invalid_request,
)
from parley.ids import new_id
from parley.messages.context import CallContext
from parley.messages.service import MessagesService
from parley.metrics import Metrics
from parley.protocol import ApiVersion
from parley.storage import batches as store
from parley.storage.db import Database
from parley.storage.tables import BatchRequest, MessageBatch
from parley.tenancy.principal import Principal
from parley.wire.requests import MessageCreateParams

log = logging.getLogger(__name__)
HOUSEKEEPING_SECONDS = 1.0


class BatchWorker:
    def __init__(
        self,
        db: Database,
        messages: MessagesService,
        settings: BatchSettings,
        *,
        concurrency: int,
        owner: str | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.metrics = metrics or Metrics()
        self.db = db
        self.messages = messages
        self.settings = settings
        self.concurrency = concurrency
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{new_id('req')[-8:]}"
        self._active: dict[int, asyncio.Task[None]] = {}
        self._task: asyncio.Task[None] | None = None
        self._batches: dict[str, MessageBatch] = {}

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="batch-worker")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in self._active.values():
            task.cancel()
        await asyncio.gather(*self._active.values(), return_exceptions=True)

    async def run(self) -> None:
        last_renewal = last_housekeeping = 0.0
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self._fill()
                now = loop.time()
                if now - last_housekeeping >= HOUSEKEEPING_SECONDS:
                    await self.housekeeping()
                    last_housekeeping = now
                if self._active and now - last_renewal >= self.settings.lease_seconds / 3:
                    await self._renew()
                    last_renewal = now
                await self._wait()
            except asyncio.CancelledError:
                raise
            except Exception:  # a worker loop must survive a database hiccup
                log.exception("batch worker loop failed; retrying")
                await asyncio.sleep(self.settings.poll_interval)

    async def _wait(self) -> None:
        if self._active:
            await asyncio.wait(
                self._active.values(),
                timeout=self.settings.poll_interval,
                return_when=asyncio.FIRST_COMPLETED,
            )
        else:
            await asyncio.sleep(self.settings.poll_interval)
        for request_id in [i for i, t in self._active.items() if t.done()]:
            del self._active[request_id]

    async def _fill(self) -> None:
        free = self.concurrency - len(self._active)
        if free <= 0:
            return
        now = datetime.now(UTC)
        lease = now + timedelta(seconds=self.settings.lease_seconds)
        async with self.db.write() as session:
            rows = await store.claim(
                session,
                self.owner,
                free,
                now=now,
                lease_until=lease,
                postgres=not self.db.is_sqlite,
            )
            for row in rows:
                if row.batch_id not in self._batches:
                    batch = await store.batch(session, row.batch_id)
                    assert batch is not None
                    self._batches[row.batch_id] = batch
        for row in rows:
            self._active[row.id] = asyncio.create_task(self._process(row))
        self.metrics.batch_running.set(len(self._active))

    async def _renew(self) -> None:
        lease = datetime.now(UTC) + timedelta(seconds=self.settings.lease_seconds)
        async with self.db.write() as session:
            await store.extend_leases(session, self.owner, list(self._active), lease)

    async def housekeeping(self) -> None:
        now = datetime.now(UTC)
        async with self.db.write() as session:
            await store.expire(session, now, EXPIRED)
            await store.finalize(session, now)
            await store.archive(session, now - timedelta(days=self.settings.retention_days), now)

    async def _process(self, row: BatchRequest) -> None:
        batch = self._batches[row.batch_id]
        request_id = new_id("req")
        result: dict[str, object]
        try:
            result = await self._run(row, batch, request_id)
        except PreemptedError:
            async with self.db.write() as session:
                await store.release(session, self.owner, row.id)
            self.metrics.batch_requests.labels("preempted").inc()
            return
        except ParleyError as failure:
            result = {"type": "errored", "error": failure.body(request_id)}
        except Exception as exc:  # one bad request must not stop the batch
            log.exception("batch request %s failed", row.custom_id)
            internal = InternalError(f"the request failed inside Parley: {exc}")
            result = {"type": "errored", "error": internal.body(request_id)}
        state = str(result["type"])
        now = datetime.now(UTC)
        async with self.db.write() as session:
            written = await store.finish(
                session, self.owner, row.id, state, json.dumps(result), now
            )
            if written:
                # The batch's last result ends it now, not at the next housekeeping pass.
                # Two workers writing the last two results at once (PostgreSQL, read
                # committed) each see the other's still running: housekeeping ends it.
                await store.finalize(session, now, row.batch_id)
        if not written:
            log.warning("lost the lease of batch request %s; another worker owns it", row.id)
        self.metrics.batch_requests.labels(state if written else "lost_lease").inc()

    async def _run(
        self, row: BatchRequest, batch: MessageBatch, request_id: str
    ) -> dict[str, object]:
        try:
            params = MessageCreateParams.model_validate_json(row.params)
        except ValidationError as exc:
            raise as_invalid_request(exc) from None
        _check_batch_params(params)
        ctx = CallContext(
            request_id=request_id,
            version=ApiVersion(batch.api_version),
            betas=frozenset(batch.betas),
            principal=Principal("api", batch.api_key_id, batch.workspace_id),
        )
        prepared = await self.messages.prepare(params, ctx, batch=True)
        return {"type": "succeeded", "message": await self.messages.create_json(prepared)}


def _check_batch_params(params: MessageCreateParams) -> None:
    """What the API refuses inside batches although /v1/messages accepts it."""
    if params.stream:
        raise InvalidRequestError("stream: streaming is not supported in message batches")
    if params.max_tokens == 0:
        raise InvalidRequestError("max_tokens: must be at least 1 in message batches")
    if params.speed is not None:
        raise InvalidRequestError("speed: not supported in message batches")
