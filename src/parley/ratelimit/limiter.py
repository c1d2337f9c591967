"""The rate limiter the request path calls: admit before model work, settle after.

``admit`` charges, in one all-or-nothing take, one request, the prompt's input tokens
and ``max_tokens`` of output against every bucket that applies (the organization's,
and the workspace's where it has its own limits). Refused: 429 ``rate_limit_error``
with ``retry-after`` computed from the buckets, before any generation starts.
Admitted: the response carries the ``anthropic-ratelimit-*`` headers, and ``settle``
gives back the output tokens that were reserved but not generated and the cache-read
input tokens (which do not count toward input-token limits, as on the API).

Header values are exact (the hosted API rounds remaining tokens to thousands; exact
numbers serve small self-hosted limits better). ``*-reset`` is when the bucket would
be full again. Batch work is exempt; count_tokens has its own requests bucket.

When the bucket store cannot be reached (Redis down), ``on_store_error`` decides:
``allow`` (the default) admits the request without limits and logs a warning at most
once a minute, so an outage of the limiter is not an outage of the API; ``refuse``
answers 529 with ``retry-after``. Either way nothing answers 500.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from parley.config import LimitValues
from parley.errors import RateLimitError, StorageUnavailable
from parley.ratelimit.buckets import BucketSpec, BucketStore, Taken
from parley.ratelimit.policy import LimitPolicy, ScopedLimits
from parley.tenancy.principal import Principal

log = logging.getLogger(__name__)
_HEADER_NAMES = {
    "requests_per_minute": "requests",
    "input_tokens_per_minute": "input-tokens",
    "output_tokens_per_minute": "output-tokens",
}
_WORDS = {
    "requests_per_minute": "requests per minute",
    "input_tokens_per_minute": "input tokens per minute",
    "output_tokens_per_minute": "output tokens per minute",
}


@dataclass(frozen=True)
class _Bucket:
    key: str
    kind: str
    scope: ScopedLimits
    spec: BucketSpec


@dataclass
class Admission:
    """A request let through; ``settle`` once it ends (safe to call more than once)."""

    headers: dict[str, str] = field(default_factory=dict)
    _store: BucketStore | None = None
    _output: list[_Bucket] = field(default_factory=list)
    _input: list[_Bucket] = field(default_factory=list)
    _reserved: int = 0
    _settled: bool = False

    async def settle(self, *, output_tokens: int, cache_read_tokens: int = 0) -> None:
        if self._settled or self._store is None:
            return
        self._settled = True
        unused = max(0, self._reserved - output_tokens)
        gifts = [(b, unused) for b in self._output] + [(b, cache_read_tokens) for b in self._input]
        for bucket, amount in gifts:
            if amount:
                with contextlib.suppress(StorageUnavailable):  # what was taken stays taken
                    await self._store.give(bucket.key, bucket.spec, amount)


class RateLimiter:
    def __init__(
        self,
        policy: LimitPolicy,
        store: BucketStore,
        *,
        organization_id: str,
        on_store_error: str = "allow",
    ) -> None:
        self.policy = policy
        self.store = store
        self.organization_id = organization_id
        self.on_store_error = on_store_error
        self._warned_at = -math.inf

    async def _take(self, buckets: list[_Bucket], amounts: list[float]) -> Taken | None:
        """The store's take, or None when the store is down and requests are let through."""
        try:
            return await self.store.take(
                [b.key for b in buckets], [b.spec for b in buckets], amounts
            )
        except StorageUnavailable as exc:
            if self.on_store_error == "refuse":
                raise
            now = time.monotonic()
            if now - self._warned_at > 60:
                self._warned_at = now
                log.warning("rate limits are not enforced: %s", exc.message)
            return None

    async def needs_input_count(self, principal: Principal, group: str) -> bool:
        scopes = await self.policy.for_request(self.organization_id, principal.workspace_id, group)
        return any(s.values.input_tokens_per_minute for s in scopes)

    async def admit(
        self, principal: Principal, group: str, *, input_tokens: int, max_tokens: int
    ) -> Admission:
        scopes = await self.policy.for_request(self.organization_id, principal.workspace_id, group)
        buckets = [b for scope in scopes for b in _buckets(scope)]
        if not buckets:
            return Admission()
        amounts = {
            "requests_per_minute": 1,
            "input_tokens_per_minute": input_tokens,
            "output_tokens_per_minute": max_tokens,
        }
        wanted = [float(amounts[b.kind]) for b in buckets]
        taken = await self._take(buckets, wanted)
        if taken is None:
            return Admission()
        headers = _headers(buckets, taken)
        if not taken.ok:
            raise _refusal(buckets, taken, wanted, headers)
        return Admission(
            headers=headers,
            _store=self.store,
            _output=[b for b in buckets if b.kind == "output_tokens_per_minute"],
            _input=[b for b in buckets if b.kind == "input_tokens_per_minute"],
            _reserved=max_tokens,
        )

    async def admit_count(self, principal: Principal) -> dict[str, str]:
        limit = (await self.policy.tier()).count_tokens_requests_per_minute
        if limit is None:
            return {}
        scope = ScopedLimits(
            "org", self.organization_id, "count_tokens", LimitValues(requests_per_minute=limit)
        )
        bucket = _Bucket(
            f"count:{self.organization_id}", "requests_per_minute", scope, BucketSpec(float(limit))
        )
        taken = await self._take([bucket], [1.0])
        if taken is None:
            return {}
        headers = _headers([bucket], taken)
        if not taken.ok:
            raise _refusal([bucket], taken, [1.0], headers)
        return headers


def _buckets(scope: ScopedLimits) -> list[_Bucket]:
    found = []
    for kind in _HEADER_NAMES:
        limit = getattr(scope.values, kind)
        if limit:
            # The limit is part of the key: when it changes (a new tier, an override) the
            # new limit starts with a full bucket instead of the old one's level.
            key = f"{scope.scope}:{scope.scope_id}:{scope.group}:{kind}:{limit}"
            found.append(_Bucket(key, kind, scope, BucketSpec(float(limit))))
    return found


def _headers(buckets: list[_Bucket], taken: Taken) -> dict[str, str]:
    """Per kind, the binding bucket (least room left); then the tighter token kind."""
    now = time.time()
    tightest: dict[str, tuple[float, _Bucket]] = {}
    for bucket, level in zip(buckets, taken.levels, strict=True):
        if bucket.kind not in tightest or level < tightest[bucket.kind][0]:
            tightest[bucket.kind] = (level, bucket)
    headers: dict[str, str] = {}
    for kind, (level, bucket) in tightest.items():
        _put(headers, _HEADER_NAMES[kind], bucket, level, now)
    tokens = [
        tightest[k]
        for k in ("input_tokens_per_minute", "output_tokens_per_minute")
        if k in tightest
    ]
    if tokens:
        level, bucket = min(tokens, key=lambda item: item[0])
        _put(headers, "tokens", bucket, level, now)
    return headers


def _put(headers: dict[str, str], name: str, bucket: _Bucket, level: float, now: float) -> None:
    capacity = bucket.spec.capacity
    full_at = now + max(0.0, capacity - level) / bucket.spec.rate
    prefix = f"anthropic-ratelimit-{name}"
    headers[f"{prefix}-limit"] = str(int(capacity))
    headers[f"{prefix}-remaining"] = str(max(0, math.floor(level)))
    headers[f"{prefix}-reset"] = _rfc3339(full_at)


def _refusal(
    buckets: list[_Bucket], taken: Taken, wanted: list[float], headers: dict[str, str]
) -> RateLimitError:
    short = [
        b for b, level, amount in zip(buckets, taken.levels, wanted, strict=True) if amount > level
    ]
    bucket = short[0] if short else buckets[0]
    owner = "organization" if bucket.scope.scope == "org" else "workspace"
    message = (
        f"This request would exceed the rate limit for your {owner} ({bucket.scope.scope_id}) "
        f"of {int(bucket.spec.capacity):,} {_WORDS[bucket.kind]} (model group "
        f"{bucket.scope.group}). You can see the response headers for current usage. "
        "Please reduce the prompt length or the maximum tokens requested, or try again later."
    )
    extra = dict(headers)
    if math.isinf(taken.wait):
        # Larger than the bucket itself: waiting cannot help, so tell clients not to retry.
        extra["x-should-retry"] = "false"
    else:
        extra["retry-after"] = str(max(1, math.ceil(taken.wait)))
        extra["retry-after-ms"] = str(max(1, math.ceil(taken.wait * 1000)))
    return RateLimitError(message, headers=extra)


def _rfc3339(moment: float) -> str:
    return datetime.fromtimestamp(moment, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
