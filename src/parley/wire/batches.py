"""Message Batches objects and the create body (reference §6)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from parley.wire.common import WireModel

CUSTOM_ID_PATTERN = r"^[a-zA-Z0-9_-]{1,64}$"
MAX_REQUESTS = 100_000


class BatchRequestParam(WireModel):
    custom_id: str = Field(pattern=CUSTOM_ID_PATTERN)
    # Validated later, like a /v1/messages body: problems become `errored` results.
    params: dict[str, Any]


class MessageBatchCreateParams(WireModel):
    requests: list[BatchRequestParam] = Field(min_length=1, max_length=MAX_REQUESTS)


class MessageBatchRequestCounts(BaseModel):
    processing: int = 0
    succeeded: int = 0
    errored: int = 0
    canceled: int = 0
    expired: int = 0


class MessageBatch(BaseModel):
    id: str
    type: Literal["message_batch"] = "message_batch"
    processing_status: Literal["in_progress", "canceling", "ended"]
    request_counts: MessageBatchRequestCounts
    ended_at: datetime | None
    created_at: datetime
    expires_at: datetime
    archived_at: datetime | None
    cancel_initiated_at: datetime | None
    results_url: str | None


class DeletedMessageBatch(BaseModel):
    id: str
    type: Literal["message_batch_deleted"] = "message_batch_deleted"
