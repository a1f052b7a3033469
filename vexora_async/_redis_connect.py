"""Opening a redis-py asyncio client for the Redis-backed store and rate limiter.

``redis`` is an optional extra: it is imported here, when such an object is made, never when
``vexora_async`` is imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._install_hint import install_hint

if TYPE_CHECKING:
    from redis.asyncio import Redis


POOL_SIZE = 100  # connections a client made from a URL opens at most
POOL_WAIT = 10.0  # seconds a command waits for one of them when all are busy


def open_redis(target: str | Redis, owner: str) -> tuple[Redis, bool]:
    """``(client, owned)`` for a ``redis://`` / ``rediss://`` / ``unix://`` URL or a client.

    A client made here from a URL is owned (closed by ``aclose``); one passed in is not.
    """
    try:
        from redis.asyncio import BlockingConnectionPool, Redis
    except ImportError as exc:
        raise ImportError(
            f"{owner} needs the 'redis' package ({install_hint('redis', 'redis')})"
        ) from exc
    if isinstance(target, str):
        # A burst past the pool's size waits for a connection (up to POOL_WAIT seconds)
        # instead of failing: redis-py's default pool raises at once, and a notification
        # answered 500 for it spends one of the gateway's few deliveries.
        pool = BlockingConnectionPool.from_url(
            target, max_connections=POOL_SIZE, timeout=POOL_WAIT
        )
        return Redis.from_pool(pool), True
    if not isinstance(target, Redis):
        raise TypeError(f"{owner} needs a Redis URL or a redis.asyncio.Redis client")
    return target, False


def text(reply: Any) -> str:
    """A script's string reply, whether or not the client decodes responses."""
    return reply.decode() if isinstance(reply, bytes) else str(reply)
