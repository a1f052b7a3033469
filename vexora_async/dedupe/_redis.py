"""The Redis store: one hash per notification, changed only by Lua scripts (atomic).

Each notification key ``K`` becomes the hash ``<prefix>K`` with the fields ``token`` and
``expires`` (milliseconds since the epoch) while claimed, and ``done = 1`` once completed. A
claim's hash also expires on its own after the lease, so claims of crashed workers leave
nothing behind. Every script touches one key, so the store also works on Redis Cluster.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from .._redis_connect import open_redis, text
from ._base import BUSY, DEFAULT_LEASE, DONE, Claim, ClaimState, check_lease, new_token

if TYPE_CHECKING:
    from redis.asyncio import Redis

# ARGV: token, lease (ms), now (ms since the epoch; empty: the server's clock).
# Answers "claimed", "done" or "busy".
_CLAIM = """
local now = tonumber(ARGV[3])
if now == nil then
    local t = redis.call('TIME')
    now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local state = redis.call('HMGET', KEYS[1], 'done', 'expires')
if state[1] == '1' then
    return 'done'
end
local expires = tonumber(state[2])
if expires ~= nil and expires > now then
    return 'busy'
end
redis.call('HSET', KEYS[1], 'token', ARGV[1],
           'expires', string.format('%.0f', now + tonumber(ARGV[2])))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 'claimed'
"""

# ARGV: how long to remember the key (ms; empty: for good).
_COMPLETE = """
redis.call('HSET', KEYS[1], 'done', '1')
redis.call('HDEL', KEYS[1], 'token', 'expires')
if ARGV[1] == '' then
    redis.call('PERSIST', KEYS[1])
else
    redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return 1
"""

# ARGV: token. A completed hash has no token, so it is never deleted here.
_RELEASE = """
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""

_STATES = {"claimed": ClaimState.CLAIMED, "done": ClaimState.DONE, "busy": ClaimState.BUSY}


def _millis(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


class RedisNotificationStore:
    """A store in Redis (5.0 or later), shared by every replica that names the same server
    and ``prefix``. Needs the ``redis`` extra (redis-py's asyncio client).

    ``redis`` is a URL (``redis://[:password@]host:6379/0``, ``rediss://``, ``unix://``; the
    store makes, owns and closes that client) or a ``redis.asyncio.Redis`` you own. Leases
    are judged by the Redis server's clock, so replicas' clocks need not agree; ``clock``
    (seconds since the epoch) replaces it, for tests. Completed keys are kept for good
    unless ``done_ttl`` (seconds) says how long a duplicate can still arrive.
    Needs the commands ``EVALSHA``, ``SCRIPT LOAD``, ``HSET``, ``HMGET``, ``HGET``, ``HDEL``,
    ``DEL``, ``PEXPIRE``, ``PERSIST`` and ``TIME`` on the keys under ``prefix``.
    """

    def __init__(
        self,
        redis: str | Redis,
        *,
        lease: float = DEFAULT_LEASE,
        prefix: str = "vexora:notify:",
        done_ttl: float | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._lease_ms = _millis(check_lease(lease))
        if done_ttl is not None and not (math.isfinite(done_ttl) and done_ttl > 0):
            raise ValueError("done_ttl must be None or a positive, finite number of seconds")
        self._done_ttl = "" if done_ttl is None else str(_millis(done_ttl))
        self._prefix = prefix
        self._clock = clock
        self._redis, self._owned = open_redis(redis, type(self).__name__)
        self._claim = self._redis.register_script(_CLAIM)
        self._complete = self._redis.register_script(_COMPLETE)
        self._release = self._redis.register_script(_RELEASE)

    async def claim(self, key: str) -> Claim:
        token = new_token()
        now = "" if self._clock is None else str(round(self._clock() * 1000))
        reply = await self._claim(keys=[self._prefix + key], args=[token, self._lease_ms, now])
        state = _STATES[text(reply)]
        if state is ClaimState.CLAIMED:
            return Claim(state, token)
        return DONE if state is ClaimState.DONE else BUSY

    async def complete(self, key: str, token: str) -> None:
        await self._complete(keys=[self._prefix + key], args=[self._done_ttl])

    async def release(self, key: str, token: str) -> None:
        await self._release(keys=[self._prefix + key], args=[token])

    async def aclose(self) -> None:
        """Close the client if the store made it from a URL; a client you passed stays open."""
        if self._owned:
            await self._redis.aclose()

    async def __aenter__(self) -> RedisNotificationStore:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        # Never the URL: it may carry a password.
        return f"RedisNotificationStore(prefix={self._prefix!r}, lease={self._lease_ms / 1000}s)"
