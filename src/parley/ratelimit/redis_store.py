"""Bucket state in Redis, so several Parley processes enforce one limit.

Each take is one Lua script run: Redis executes scripts atomically, so refill, check
and charge of all buckets happen as one step no matter how many processes ask at once.
The script reads the clock with ``TIME`` on the Redis server, so the processes' own
clocks do not need to agree. Keys expire once a bucket would be full again anyway.

A Redis that cannot be reached within ``TIMEOUT`` seconds (down, restarting, cut off)
raises ``StorageUnavailable``; the limiter decides what that means for the request
(``rate_limits.on_store_error``). Nothing waits on a dead Redis longer than that.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from parley.errors import StorageUnavailable
from parley.ratelimit.buckets import BucketSpec, Taken

T = TypeVar("T")
TIMEOUT = 1.0

_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local n = #KEYS
local levels = {}
local wait = 0
for i = 1, n do
  local cap = tonumber(ARGV[3 * i - 2])
  local rate = tonumber(ARGV[3 * i - 1])
  local amount = tonumber(ARGV[3 * i])
  local saved = redis.call('HMGET', KEYS[i], 'level', 'at')
  local level = cap
  if saved[1] then
    level = math.min(cap, tonumber(saved[1]) + math.max(0, now - tonumber(saved[2])) * rate)
  end
  levels[i] = level
  if amount > cap then
    wait = -1
  elseif wait >= 0 and amount > level then
    wait = math.max(wait, (amount - level) / rate)
  end
end
local ok = 0
if wait == 0 then
  ok = 1
  for i = 1, n do
    levels[i] = levels[i] - tonumber(ARGV[3 * i])
  end
end
local out = {ok, tostring(wait), tostring(now)}
for i = 1, n do
  local cap = tonumber(ARGV[3 * i - 2])
  local rate = tonumber(ARGV[3 * i - 1])
  redis.call('HSET', KEYS[i], 'level', tostring(levels[i]), 'at', tostring(now))
  redis.call('EXPIRE', KEYS[i], math.ceil(cap / rate) + 60)
  out[#out + 1] = tostring(levels[i])
end
return out
"""

_GIVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local cap = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local saved = redis.call('HMGET', KEYS[1], 'level', 'at')
local level = cap
if saved[1] then
  level = math.min(cap, tonumber(saved[1]) + math.max(0, now - tonumber(saved[2])) * rate)
end
level = math.min(cap, level + tonumber(ARGV[3]))
redis.call('HSET', KEYS[1], 'level', tostring(level), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(cap / rate) + 60)
return 1
"""


class RedisBucketStore:
    def __init__(self, url: str, *, prefix: str = "parley:rl:") -> None:
        self._redis: Redis = Redis.from_url(
            url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT
        )
        self._prefix = prefix
        self._take = self._redis.register_script(_TAKE)
        self._give = self._redis.register_script(_GIVE)

    async def take(
        self, keys: Sequence[str], specs: Sequence[BucketSpec], amounts: Sequence[float]
    ) -> Taken:
        args: list[Any] = []
        for spec, amount in zip(specs, amounts, strict=True):
            args += [repr(spec.capacity), repr(spec.rate), repr(float(amount))]
        out = await _reached(self._take(keys=[self._prefix + k for k in keys], args=args))
        wait = float(out[1])
        return Taken(
            ok=int(out[0]) == 1,
            wait=math.inf if wait < 0 else wait,
            levels=tuple(float(v) for v in out[3:]),
        )

    async def give(self, key: str, spec: BucketSpec, amount: float) -> None:
        await _reached(
            self._give(
                keys=[self._prefix + key],
                args=[repr(spec.capacity), repr(spec.rate), repr(float(amount))],
            )
        )

    async def aclose(self) -> None:
        await self._redis.aclose()


async def _reached(call: Awaitable[T]) -> T:
    try:
        return await call
    except (RedisError, OSError) as exc:
        raise StorageUnavailable(f"Redis is unavailable ({type(exc).__name__})") from exc
