"""The Message Batches service: create, read, cancel, delete, and stream results.

A batch and all its requests are written in one transaction before ``create``
returns, so an accepted batch survives any crash. Body-level problems (malformed
``requests``, a bad or duplicate ``custom_id``, too many requests, too large) reject
the whole batch with a 400; each request's ``params`` are validated later by the worker,
like a ``/v1/messages`` body, and problems become ``errored`` results, as on the API.

As on the API, ``request_counts`` keeps every request in ``processing`` until the whole
batch ends, so the counts always agree with the results. Progress while it runs is
offered in a ``parley-requests-completed`` response header. Batches belong to the
workspace of the key that created them; another workspace gets 404.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from parley.config import BatchSettings
from parley.errors import InvalidRequestError, NotFoundError, RateLimitError
from parley.ids import new_id
from parley.messages.context import CallContext
from parley.storage import batches as store
from parley.storage.db import Database, utc
from parley.storage.tables import MessageBatch as BatchRow
from parley.wire.batches import (
    MessageBatch,
    MessageBatchCreateParams,
    MessageBatchRequestCounts,
)

CANCELED = json.dumps({"type": "canceled"})
EXPIRED = json.dumps({"type": "expired"})


@dataclass(frozen=True)
class BatchView:
    batch: MessageBatch
    completed: int


class BatchService:
    def __init__(
        self, db: Database, settings: BatchSettings, *, base_url: str, queue_limit: int | None
    ) -> None:
        self.db = db
        self.settings = settings
        self.base_url = base_url
        self.queue_limit = queue_limit

    async def create(self, body: MessageBatchCreateParams, ctx: CallContext) -> BatchView:
        seen: dict[str, int] = {}
        for index, request in enumerate(body.requests):
            if request.custom_id in seen:
                raise InvalidRequestError(
                    f"requests.{index}.custom_id: duplicate custom_id `{request.custom_id}` "
                    f"(also used by requests.{seen[request.custom_id]}); each must be unique "
                    "within a batch"
                )
            seen[request.custom_id] = index
        now = datetime.now(UTC)
        row = BatchRow(
            id=new_id("msgbatch"),
            workspace_id=ctx.principal.workspace_id,
            api_key_id=ctx.principal.api_key_id,
            api_version=ctx.version.value,
            betas=sorted(ctx.betas),
            processing_status="in_progress",
            total=len(body.requests),
            created_at=now,
            expires_at=now + timedelta(hours=self.settings.expiry_hours),
            ended_at=None,
            cancel_initiated_at=None,
            archived_at=None,
        )
        requests = [
            {
                "custom_id": r.custom_id,
                "params": json.dumps(r.params),
                "state": "pending",
                "claims": 0,
            }
            for r in body.requests
        ]
        async with self.db.write() as session:
            if self.queue_limit is not None:
                queued = await store.queued_requests(session)
                if queued + len(requests) > self.queue_limit:
                    raise RateLimitError(
                        f"Number of batch requests in the queue ({queued} + {len(requests)}) "
                        f"would exceed the limit for your organization ({self.queue_limit}). "
                        "Try again when earlier batches have ended."
                    )
            await store.insert_batch(session, row, requests)
        return BatchView(self._wire(row, {}), 0)

    async def get(self, batch_id: str, ctx: CallContext) -> BatchView:
        async with self.db.read() as session:
            row = await self._owned(session, batch_id, ctx)
            counts = (await store.state_counts(session, [row.id]))[row.id]
        completed = sum(counts.get(s, 0) for s in store.FINAL_STATES)
        return BatchView(self._wire(row, counts), completed)

    async def page(
        self, ctx: CallContext, *, limit: int, before_id: str | None, after_id: str | None
    ) -> tuple[list[MessageBatch], bool]:
        async with self.db.read() as session:
            rows, more = await store.batches_page(
                session,
                ctx.principal.workspace_id,
                limit=limit,
                before_id=before_id,
                after_id=after_id,
            )
            counts = await store.state_counts(session, [r.id for r in rows])
        return [self._wire(r, counts[r.id]) for r in rows], more

    async def cancel(self, batch_id: str, ctx: CallContext) -> BatchView:
        now = datetime.now(UTC)
        async with self.db.write() as session:
            row = await self._owned(session, batch_id, ctx)
            if row.processing_status == "in_progress":
                row.processing_status = "canceling"
                row.cancel_initiated_at = now
                await store.cancel_pending(session, row.id, CANCELED, now)
        async with self.db.write() as session:
            await store.finalize(session, now)
        return await self.get(batch_id, ctx)

    async def delete(self, batch_id: str, ctx: CallContext) -> None:
        async with self.db.write() as session:
            row = await self._owned(session, batch_id, ctx)
            if row.processing_status != "ended":
                raise InvalidRequestError(
                    f"Batch {batch_id} cannot be deleted while it is {row.processing_status}; "
                    "cancel it first and delete it once it has ended."
                )
            await session.delete(row)

    async def results(self, batch_id: str, ctx: CallContext) -> AsyncIterator[bytes]:
        """Checks run now; the JSONL lines stream as they are read."""
        async with self.db.read() as session:
            row = await self._owned(session, batch_id, ctx)
        if row.processing_status != "ended":
            raise InvalidRequestError(
                f"Batch {batch_id} has not finished processing; results are not available yet."
            )
        if row.archived_at is not None:
            raise NotFoundError(f"The results of batch {batch_id} have expired and were deleted.")
        return self._lines(batch_id)

    async def _lines(self, batch_id: str) -> AsyncIterator[bytes]:
        async with self.db.read() as session:
            async for custom_id, result in store.results(session, batch_id):
                yield (
                    b'{"custom_id":'
                    + json.dumps(custom_id).encode()
                    + b',"result":'
                    + result.encode()
                    + b"}\n"
                )

    async def _owned(self, session: object, batch_id: str, ctx: CallContext) -> BatchRow:
        row = await store.batch(session, batch_id)  # type: ignore[arg-type]
        if row is None or row.workspace_id != ctx.principal.workspace_id:
            raise NotFoundError(f"Message batch `{batch_id}` not found.")
        return row

    def _wire(self, row: BatchRow, counts: dict[str, int]) -> MessageBatch:
        ended = row.processing_status == "ended"
        if ended:
            tally = MessageBatchRequestCounts(**{s: counts.get(s, 0) for s in store.FINAL_STATES})
        else:
            tally = MessageBatchRequestCounts(processing=row.total)
        return MessageBatch(
            id=row.id,
            processing_status=row.processing_status,
            request_counts=tally,
            ended_at=utc(row.ended_at),
            created_at=utc(row.created_at),
            expires_at=utc(row.expires_at),
            archived_at=utc(row.archived_at),
            cancel_initiated_at=utc(row.cancel_initiated_at),
            results_url=f"{self.base_url}/v1/messages/batches/{row.id}/results" if ended else None,
        )
