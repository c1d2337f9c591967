"""Priority Tier: committed capacity, served ahead of standard traffic.

An administrator gives the organization, or a workspace, a commitment of input and
output tokens per minute (``set``). A request with ``service_tier: "auto"`` (the
default) from a caller with a commitment — the workspace's own, else the
organization's — is served at priority when the commitment has room for it: its
prompt and ``max_tokens`` are taken from two token buckets of that capacity, all or
nothing, as the rate limiter takes its own. Beyond the commitment it falls back to
standard; ``standard_only`` never uses it; batch work never does.

Burn-down follows the hosted API: after the answer, the input bucket is charged what
the prompt really cost — uncached input 1 per token, cache reads 0.1, 5-minute cache
writes 1.25, 1-hour writes 2 — instead of the whole prompt taken at admission, and the
output bucket gets back what ``max_tokens`` reserved but the model did not write.
Priority requests still draw on the regular rate limits too (``RateLimiter``).

Responses to ``auto`` requests of a caller with a commitment carry
``anthropic-priority-{input,output}-tokens-{limit,remaining,reset}``. Buckets live in
the rate limiter's store (Redis when several processes serve), so a commitment is one
capacity across processes. Commitments are cached like limit overrides and dropped on
the change bus's ``priority`` topic.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from parley.errors import StorageUnavailable
from parley.ratelimit.buckets import BucketSpec, BucketStore
from parley.ratelimit.bus import ChangeBus
from parley.storage import plans
from parley.storage.db import Database
from parley.tenancy.principal import Principal

log = logging.getLogger(__name__)
# What one token of each kind draws from priority input capacity.
BURN = {"uncached": 1.0, "cache_read": 0.1, "cache_write_5m": 1.25, "cache_write_1h": 2.0}


@dataclass(frozen=True)
class Commitment:
    scope: str  # "organization" or "workspace"
    scope_id: str
    input_tokens_per_minute: int
    output_tokens_per_minute: int

    def buckets(self) -> tuple[tuple[str, BucketSpec], tuple[str, BucketSpec]]:
        base = f"priority:{self.scope}:{self.scope_id}"
        return (
            (f"{base}:input", BucketSpec(float(self.input_tokens_per_minute))),
            (f"{base}:output", BucketSpec(float(self.output_tokens_per_minute))),
        )


@dataclass(frozen=True)
class PromptCost:
    """What the answer's prompt and output really were, for the burn-down."""

    output_tokens: int
    uncached: int = 0
    cache_read: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0

    def input_burn(self) -> float:
        return (
            self.uncached * BURN["uncached"]
            + self.cache_read * BURN["cache_read"]
            + self.cache_write_5m * BURN["cache_write_5m"]
            + self.cache_write_1h * BURN["cache_write_1h"]
        )


@dataclass
class PriorityAdmission:
    """Whether a request is served at priority, and the headers that say how much
    capacity is left. ``settle`` once it ends (safe to call more than once)."""

    served: bool
    headers: dict[str, str] = field(default_factory=dict)
    _store: BucketStore | None = None
    _commitment: Commitment | None = None
    _taken: tuple[float, float] = (0.0, 0.0)
    _settled: bool = False

    async def settle(self, cost: PromptCost) -> None:
        if self._settled or not self.served or self._store is None or self._commitment is None:
            return
        self._settled = True
        (input_key, input_spec), (output_key, output_spec) = self._commitment.buckets()
        # Negative when cache writes cost more than the prompt taken: the bucket owes it.
        back_in = self._taken[0] - cost.input_burn()
        back_out = max(0.0, self._taken[1] - cost.output_tokens)
        with contextlib.suppress(StorageUnavailable):  # what was taken stays taken
            if back_in:
                await self._store.give(input_key, input_spec, back_in)
            if back_out:
                await self._store.give(output_key, output_spec, back_out)


class PriorityCapacity:
    def __init__(
        self,
        db: Database,
        store: BucketStore,
        bus: ChangeBus,
        *,
        organization_id: str,
        ttl: float = 5.0,
    ) -> None:
        self.db = db
        self.store = store
        self.bus = bus
        self.organization_id = organization_id
        self.ttl = ttl
        self._cache: tuple[float, dict[tuple[str, str], Commitment]] | None = None
        bus.subscribe("priority", self.forget)

    def forget(self) -> None:
        self._cache = None

    async def commitments(self) -> dict[tuple[str, str], Commitment]:
        now = time.monotonic()
        if self._cache is not None and self._cache[0] > now:
            return self._cache[1]
        async with self.db.read() as session:
            rows = await plans.commitments(session)
        table = {
            (r.scope, r.scope_id): Commitment(
                r.scope, r.scope_id, r.input_tokens_per_minute, r.output_tokens_per_minute
            )
            for r in rows
        }
        self._cache = (now + self.ttl, table)
        return table

    async def commitment_for(self, principal: Principal) -> Commitment | None:
        """The workspace's own commitment, else the organization's."""
        table = await self.commitments()
        own = table.get(("workspace", principal.workspace_id or ""))
        return own or table.get(("organization", self.organization_id))

    async def set(
        self, scope: str, scope_id: str, input_tpm: int, output_tpm: int
    ) -> Commitment | None:
        """Give ``scope`` a commitment; zero for both removes it."""
        async with self.db.write() as session:
            if input_tpm == 0 and output_tpm == 0:
                await plans.drop_commitment(session, scope, scope_id)
            else:
                await plans.set_commitment(session, scope, scope_id, input_tpm, output_tpm)
        await self.bus.publish("priority")
        return (await self.commitments()).get((scope, scope_id))

    async def admit(
        self, commitment: Commitment, *, input_tokens: int, max_tokens: int
    ) -> PriorityAdmission:
        """Take the request from ``commitment`` if it has room; else standard service."""
        (input_key, input_spec), (output_key, output_spec) = commitment.buckets()
        amounts = (float(input_tokens), float(max_tokens))
        try:
            taken = await self.store.take(
                [input_key, output_key], [input_spec, output_spec], list(amounts)
            )
        except StorageUnavailable as exc:
            log.warning("Priority Tier capacity unavailable (%s); serving at standard", exc.message)
            return PriorityAdmission(served=False)
        headers = _headers(commitment, taken.levels)
        if not taken.ok:
            return PriorityAdmission(served=False, headers=headers)
        return PriorityAdmission(
            served=True,
            headers=headers,
            _store=self.store,
            _commitment=commitment,
            _taken=amounts,
        )


def _headers(commitment: Commitment, levels: tuple[float, ...]) -> dict[str, str]:
    now = time.time()
    headers: dict[str, str] = {}
    for (kind, (_, spec)), level in zip(
        (("input", commitment.buckets()[0]), ("output", commitment.buckets()[1])),
        levels,
        strict=True,
    ):
        prefix = f"anthropic-priority-{kind}-tokens"
        full_at = now + max(0.0, spec.capacity - level) / spec.rate
        headers[f"{prefix}-limit"] = str(int(spec.capacity))
        headers[f"{prefix}-remaining"] = str(max(0, math.floor(level)))
        headers[f"{prefix}-reset"] = datetime.fromtimestamp(full_at, tz=UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
    return headers
