"""What one call carries through the pipeline: its context and the prepared message.

A leaf of the package (it imports no other module of it), so the service, the
passthrough and the batch worker can all name these types without a cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from parley.backends.base import GenerationRequest
from parley.catalog import ServedModel
from parley.messages.citations import Citer
from parley.protocol import ApiVersion
from parley.ratelimit.limiter import Admission
from parley.ratelimit.priority import PriorityAdmission
from parley.tenancy.principal import Principal
from parley.wire.requests import MessageCreateParams


@dataclass(frozen=True)
class CallContext:
    """What a call carries besides its body."""

    request_id: str
    version: ApiVersion
    betas: frozenset[str]
    principal: Principal


@dataclass(frozen=True)
class PendingCompaction:
    """A compaction to make before answering (``compaction.py``): the summary's own
    generation, whether the answer stops after the block, and how the reply's
    generation is built from the summary."""

    request: GenerationRequest
    pause: bool
    continue_with: Callable[[str], GenerationRequest]


@dataclass
class PreparedMessage:
    """A create request that passed every check before a response starts: the model
    that serves it, its neutral form, and what metering and citations need later."""

    model: ServedModel
    generation: GenerationRequest
    params: MessageCreateParams
    ctx: CallContext
    admission: Admission = field(default_factory=Admission)
    # Set when the caller has Priority Tier capacity and asked for ``auto`` service.
    priority: PriorityAdmission | None = None
    # Batch work: lower priority, exempt from rate limits, billed at the batch tier.
    batch: bool = False
    citer: Citer | None = None
    # The response's ``context_management`` (the edits applied), when the body asked.
    context_management: dict[str, Any] | None = None
    compaction: PendingCompaction | None = None

    @property
    def service_tier(self) -> Literal["standard", "priority", "batch"]:
        """The tier the answer is served and billed at, as ``usage.service_tier`` says."""
        if self.batch:
            return "batch"
        return "priority" if self.priority is not None and self.priority.served else "standard"
