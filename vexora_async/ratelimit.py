"""Request rate limits: one process (``LocalRateLimiter``) or every process sharing a Redis key
(``RedisRateLimiter``), and the middleware link that applies one to each attempt.

Both use GCRA (the generic cell rate algorithm, a token bucket kept as one timestamp, the
"theoretical arrival time"): requests go at most ``rate`` per second on average, and up to
``burst`` at once after a quiet spell. ``acquire()`` *reserves* the next free slot and sleeps
until it, so waiters go in the order they asked and one bookkeeping step serves each request.
A waiter that is cancelled leaves its slot unused: the limit errs on the side of fewer
requests, never more.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import attrs

from ._redis_connect import open_redis, text
from .call import ApiCall, Envelope
from .errors import ConfigurationError, ConnectError, VexoraError
from .middleware import Next

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = [
    "LocalRateLimiter",
    "RateLimitMiddleware",
    "RateLimiter",
    "RedisRateLimiter",
    "Reservation",
]

Sleep = Callable[[float], Awaitable[object]]


@runtime_checkable
class RateLimiter(Protocol):
    """Anything whose ``acquire()`` returns once one more request may go."""

    async def acquire(self) -> None: ...


@attrs.frozen(slots=True)
class Reservation:
    """A slot a limiter handed out: the request may go at ``at`` (seconds, on the limiter's
    clock: ``time.monotonic`` or the injected one locally, the Redis server's epoch clock for
    Redis), which is ``delay`` seconds after the reservation was made."""

    at: float
    delay: float


def _check(rate: float, burst: int) -> tuple[float, float]:
    """``(interval, tolerance)`` in seconds, or one error naming every bad argument."""
    problems = []
    if isinstance(rate, bool) or not (
        isinstance(rate, int | float) and math.isfinite(rate) and rate > 0
    ):
        problems.append("rate must be a positive, finite number of requests per second")
    if isinstance(burst, bool) or not (isinstance(burst, int) and burst >= 1):
        problems.append("burst must be a whole number of requests, at least 1")
    if problems:
        raise ConfigurationError("; ".join(problems))
    interval = 1.0 / rate
    return interval, interval * (burst - 1)


class LocalRateLimiter:
    """At most ``rate`` requests per second on average, ``burst`` at once, in this process.

    Shared by every task and client that holds it, on any event loop or thread of this
    process. ``clock`` and ``sleep`` are injectable so tests need not wait.
    """

    def __init__(
        self,
        rate: float,
        burst: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._interval, self._tolerance = _check(rate, burst)
        self.rate, self.burst = float(rate), burst
        self._clock = clock
        self._sleep = sleep
        self._tat = -math.inf  # theoretical arrival time of the next request
        self._lock = threading.Lock()  # for loops in several threads; never held across await

    def reserve(self) -> Reservation:
        """Take the next free slot without waiting for it."""
        with self._lock:
            now = self._clock()
            tat = max(self._tat, now)
            at = max(now, tat - self._tolerance)
            self._tat = tat + self._interval
        return Reservation(at, at - now)

    async def acquire(self) -> None:
        delay = self.reserve().delay
        if delay > 0:
            await self._sleep(delay)

    def __repr__(self) -> str:
        return f"LocalRateLimiter(rate={self.rate}, burst={self.burst})"


# KEYS[1]: the limiter's key. ARGV: emission interval (ms), tolerance (ms).
# Answers {slot, delay} in ms as strings (Redis truncates Lua numbers to integers).
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then
    tat = now
end
local at = math.max(now, tat - tonumber(ARGV[2]))
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.3f', next_tat),
           'PX', math.ceil(next_tat - now) + 1)
return {string.format('%.3f', at), string.format('%.3f', at - now)}
"""


class RedisRateLimiter:
    """At most ``rate`` requests per second on average, ``burst`` at once, across every
    process (on any machine) whose limiter names the same Redis server and ``key``.

    One Lua script per request reserves the slot atomically, on the Redis server's clock.
    Every process must use the same ``rate`` and ``burst`` for a key. ``redis`` is a URL
    (the limiter makes, owns and closes that client) or a ``redis.asyncio.Redis`` you own.
    Needs the ``redis`` extra and Redis 5.0 or later (``EVALSHA``, ``SCRIPT LOAD``, ``GET``,
    ``SET`` and ``TIME`` on ``prefix + key``).
    """

    def __init__(
        self,
        redis: str | Redis,
        key: str,
        rate: float,
        burst: int = 1,
        *,
        prefix: str = "vexora:rate:",
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        interval, tolerance = _check(rate, burst)
        if not (isinstance(key, str) and key):
            raise ConfigurationError("key must be a non-empty string")
        self.rate, self.burst, self.key = float(rate), burst, key
        self._args = [f"{interval * 1000:.6f}", f"{tolerance * 1000:.6f}"]
        self._redis_key = prefix + key
        self._sleep = sleep
        self._redis, self._owned = open_redis(redis, type(self).__name__)
        self._reserve = self._redis.register_script(_RESERVE)

    async def reserve(self) -> Reservation:
        """Take the next free slot without waiting for it (``at`` is on the server's clock,
        in seconds since the epoch)."""
        at, delay = await self._reserve(keys=[self._redis_key], args=self._args)
        return Reservation(float(text(at)) / 1000, float(text(delay)) / 1000)

    async def acquire(self) -> None:
        delay = (await self.reserve()).delay
        if delay > 0:
            await self._sleep(delay)

    async def aclose(self) -> None:
        """Close the client if the limiter made it from a URL."""
        if self._owned:
            await self._redis.aclose()

    async def __aenter__(self) -> RedisRateLimiter:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"RedisRateLimiter(key={self.key!r}, rate={self.rate}, burst={self.burst})"


class RateLimitMiddleware:
    """A middleware link that waits for ``limiter`` before passing each call on.

    Placed inside the retry loop it limits every attempt, retries included.
    """

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter

    async def __call__(self, call: ApiCall, next_: Next) -> Envelope:
        # Waiting for a slot is part of the attempt: bounded by its timeout (itself within the
        # call's deadline). A wait that runs out, or a limiter that fails (its Redis is down),
        # happens before anything is sent: a ConnectError, so the retry link reads "not sent".
        try:
            if call.timeout is None:
                await self.limiter.acquire()
            else:
                async with asyncio.timeout(call.timeout):
                    await self.limiter.acquire()
        except TimeoutError:
            raise ConnectError("no rate-limit slot within the attempt's time") from None
        except VexoraError:
            raise
        except Exception as exc:
            raise ConnectError(f"the rate limiter failed: {type(exc).__name__}") from None
        return await next_(call)

    def __repr__(self) -> str:
        return f"RateLimitMiddleware({self.limiter!r})"
