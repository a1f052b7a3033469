"""The in-process store: a dict, for one process and tests."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from ._base import BUSY, DEFAULT_LEASE, DONE, Claim, ClaimState, check_lease, new_token


class MemoryNotificationStore:
    """The default store: a dict in this process.

    Forgotten on restart, and not shared between worker processes: use
    ``SQLiteNotificationStore`` (one machine), ``RedisNotificationStore`` or
    ``PostgresNotificationStore`` (replicas), or your own ``NotificationStore`` in
    production. At most
    ``max_done`` completed keys are kept; the oldest are forgotten first (a duplicate of a
    forgotten notification would run the callback again).
    """

    def __init__(
        self,
        *,
        lease: float = DEFAULT_LEASE,
        max_done: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lease = check_lease(lease)
        self._max_done = max_done
        self._clock = clock
        self._claims: dict[str, tuple[str, float]] = {}  # key -> (token, expires at)
        self._done: OrderedDict[str, None] = OrderedDict()
        # Coroutines on one loop never interleave inside these methods; the lock covers
        # a store shared by threads running their own loops.
        self._lock = threading.Lock()

    async def claim(self, key: str) -> Claim:
        with self._lock:
            if key in self._done:
                return DONE
            now = self._clock()
            held = self._claims.get(key)
            if held is not None and held[1] > now:
                return BUSY
            token = new_token()
            self._claims[key] = (token, now + self._lease)
            return Claim(ClaimState.CLAIMED, token)

    async def complete(self, key: str, token: str) -> None:
        with self._lock:
            self._claims.pop(key, None)
            self._done[key] = None
            while len(self._done) > self._max_done:
                self._done.popitem(last=False)

    async def release(self, key: str, token: str) -> None:
        with self._lock:
            held = self._claims.get(key)
            if held is not None and held[0] == token:
                del self._claims[key]

    def __len__(self) -> int:
        """How many notifications are remembered as processed."""
        return len(self._done)


