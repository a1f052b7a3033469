"""The SQLite store: one file, shared by the processes of one machine."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ._base import BUSY, DEFAULT_LEASE, DONE, Claim, ClaimState, check_lease, new_token

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
        self._lease = check_lease(lease)
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
                return DONE
            if row is not None and row[1] > now:
                return BUSY
            token = new_token()
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
