"""Stores that remember which payment notifications were processed (SPEC §7: they repeat).

A store hands out *claims* on a notification key. The caller that gets ``CLAIMED`` runs the
callback, then calls ``complete`` (success: later deliveries get ``DONE``) or ``release``
(failure: the next delivery claims it again). While a claim is live, other deliveries get
``BUSY``, so two copies arriving at once never both run the callback. Claims expire after a
lease, so a claim held by a process that crashed cannot block the notification forever.

This gives "at most one run at a time, and no run after a success". It cannot give "exactly
once" across a crash between the callback's own commit and ``complete``: make the callback's
effect idempotent too (for example, a unique constraint on the trade number).
"""

from __future__ import annotations

import asyncio
import enum
import os
import sqlite3
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol, runtime_checkable

import attrs

__all__ = [
    "DEFAULT_LEASE",
    "Claim",
    "ClaimState",
    "MemoryNotificationStore",
    "NotificationStore",
    "SQLiteNotificationStore",
]

DEFAULT_LEASE = 300.0
"""Seconds a claim stays live: longer than any sane callback, short enough to recover."""


class ClaimState(enum.Enum):
    """What ``NotificationStore.claim`` found."""

    CLAIMED = "claimed"  # yours: run the callback, then complete() or release()
    DONE = "done"  # processed before: acknowledge, do nothing
    BUSY = "busy"  # another delivery holds a live claim: have the gateway retry later


@attrs.frozen(slots=True)
class Claim:
    """The answer to a claim. ``token`` names the holder (only set when ``CLAIMED``), so a
    holder whose lease ran out cannot release the claim of whoever took it over."""

    state: ClaimState
    token: str = ""


_DONE = Claim(ClaimState.DONE)
_BUSY = Claim(ClaimState.BUSY)


@runtime_checkable
class NotificationStore(Protocol):
    """Where processed notifications are remembered. Keys are opaque strings.

    - ``claim(key)``: ``DONE`` if completed before, ``BUSY`` if another live claim holds it,
      otherwise a new ``CLAIMED`` claim with a fresh token (taking over an expired one).
      Must be atomic: of two concurrent claims on a free key exactly one gets ``CLAIMED``.
    - ``complete(key, token)``: remember the key as processed, for good.
    - ``release(key, token)``: drop the claim if ``token`` still holds it; nothing otherwise.
    """

    async def claim(self, key: str) -> Claim: ...

    async def complete(self, key: str, token: str) -> None: ...

    async def release(self, key: str, token: str) -> None: ...


def _new_token() -> str:
    return uuid.uuid4().hex


def _check_lease(lease: float) -> float:
    if not lease > 0:
        raise ValueError("lease must be a positive number of seconds")
    return float(lease)


class MemoryNotificationStore:
    """The default store: a dict in this process.

    Forgotten on restart, and not shared between worker processes: use
    ``SQLiteNotificationStore`` (or your own ``NotificationStore``) in production. At most
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
        self._lease = _check_lease(lease)
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
                return _DONE
            now = self._clock()
            held = self._claims.get(key)
            if held is not None and held[1] > now:
                return _BUSY
            token = _new_token()
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


_SCHEMA = """
CREATE TABLE IF NOT EXISTS vexora_notifications (
    key TEXT PRIMARY KEY,
    done INTEGER NOT NULL DEFAULT 0,
    token TEXT,
    expires_at REAL NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL
)
"""


class SQLiteNotificationStore:
    """A store in an SQLite file (standard library ``sqlite3``): survives restarts and is
    shared by every process that opens the same file on the same machine.

    Each call is one short transaction run in a worker thread (``asyncio.to_thread``).
    Leases use wall-clock time (``time.time``) so that processes agree on expiry. Rows are
    never deleted; the table grows by one small row per processed notification.
    Call ``aclose()`` (or use ``async with``) when done; a later call reopens the file.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        lease: float = DEFAULT_LEASE,
        busy_timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._path = os.fspath(path)
        self._lease = _check_lease(lease)
        self._busy_timeout = busy_timeout
        self._clock = clock
        self._conn: sqlite3.Connection | None = None
        # One connection per store, used by one worker thread at a time.
        self._lock = threading.Lock()

    async def claim(self, key: str) -> Claim:
        return await asyncio.to_thread(self._claim, key, self._clock())

    async def complete(self, key: str, token: str) -> None:
        await asyncio.to_thread(self._complete, key, self._clock())

    async def release(self, key: str, token: str) -> None:
        await asyncio.to_thread(self._release, key, token)

    async def aclose(self) -> None:
        await asyncio.to_thread(self._close)

    async def __aenter__(self) -> SQLiteNotificationStore:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._conn is None:
                self._conn = sqlite3.connect(
                    self._path,
                    timeout=self._busy_timeout,
                    isolation_level=None,  # transactions are explicit below
                    check_same_thread=False,  # guarded by self._lock instead
                )
                self._conn.execute(_SCHEMA)
            conn = self._conn
            # IMMEDIATE takes the write lock up front: read-then-write stays atomic
            # across processes.
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _claim(self, key: str, now: float) -> Claim:
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT done, expires_at FROM vexora_notifications WHERE key = ?", (key,)
            ).fetchone()
            if row is not None and row[0]:
                return _DONE
            if row is not None and row[1] > now:
                return _BUSY
            token = _new_token()
            conn.execute(
                "INSERT INTO vexora_notifications (key, token, expires_at, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET token = excluded.token,"
                " expires_at = excluded.expires_at, updated_at = excluded.updated_at",
                (key, token, now + self._lease, now),
            )
            return Claim(ClaimState.CLAIMED, token)

    def _complete(self, key: str, now: float) -> None:
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO vexora_notifications (key, done, updated_at) VALUES (?, 1, ?)"
                " ON CONFLICT (key) DO UPDATE SET done = 1, token = NULL,"
                " updated_at = excluded.updated_at",
                (key, now),
            )

    def _release(self, key: str, token: str) -> None:
        with self._transaction() as conn:
            conn.execute(
                "DELETE FROM vexora_notifications WHERE key = ? AND done = 0 AND token = ?",
                (key, token),
            )

    def _close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()
