"""A batch journal in PostgreSQL, shared by every ``batch`` worker that names the same URL.

Workers on one machine or many run the same input against one journal. Each claims rows
with ``SELECT ... FOR UPDATE SKIP LOCKED`` and stamps them with a lease (``claimed_by``,
``lease_until``, judged by the server's clock), so a row is in one worker's hands at a time.
A background task renews the worker's leases while it lives; a worker that dies (SIGKILL
included) stops renewing, and once its leases run out its rows are claimed again by another
worker, as *maybe sent* (same ``tradeNo``, ``maybe_sent=True``), exactly as a resumed SQLite
journal re-drives its in-flight rows. A result is recorded only by the worker that holds the
row's claim, so a worker that lost its claim cannot overwrite the result of the one that
took it over.

Registering the input is serialized by a session advisory lock: the first worker binds the
journal to the input's identity and registers every row while the others wait; they then
find it registered. A worker that dies while registering releases the lock with its
connection, and the next one registers the rest (rows already there are kept).

The ``batch`` command calls the journal synchronously (``BatchJournal``), as it calls the
SQLite one. asyncpg is asynchronous, so this class runs its own event loop in a private
thread and each method waits for its statement there: the protocol, the command and the
SQLite journal stay as they are, and the lease renewal keeps running even while the
command's own loop is busy. Each call is one round trip, made once per group of rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import socket
import threading
from collections.abc import Coroutine, Iterable, Iterator, Mapping
from typing import Any, TypeVar

from ._install_hint import install_hint
from .journal import DONE, PENDING, BatchJournal, Claim, Entry, JournalError, _dump

__all__ = [
    "DEFAULT_LEASE",
    "DEFAULT_TABLE",
    "JournalServerError",
    "PostgresJournal",
    "is_postgres_url",
    "schema_sql",
]

DEFAULT_TABLE = "vexora_batch"
DEFAULT_LEASE = 60.0  # seconds a claim outlives its worker's last renewal
_REGISTERED = "registered"
_TABLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,50}(\.[a-z_][a-z0-9_]{0,50})?")
_PAGE = 5000  # rows per export round trip
_T = TypeVar("_T")

_SCHEMA = """\
CREATE TABLE IF NOT EXISTS {table}_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS {table}_rows (
    row BIGINT PRIMARY KEY,
    trade_no TEXT UNIQUE,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    outcome TEXT,
    result TEXT,
    claimed_by TEXT,
    lease_until TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS {index}_open ON {table}_rows (row) WHERE state <> 'done';
"""

# $1 how many, $2 this worker, $3 lease seconds. Pending rows, and in-flight rows whose
# lease ran out (their worker died: maybe sent). SKIP LOCKED: rows another worker is
# claiming right now are left to it instead of waited for.
_CLAIM = """\
WITH picked AS (
    SELECT row, state FROM {table}_rows
    WHERE state <> 'done' AND trade_no IS NOT NULL
      AND (state = 'pending' OR lease_until IS NULL OR lease_until <= clock_timestamp())
    ORDER BY row LIMIT $1
    FOR UPDATE SKIP LOCKED
)
UPDATE {table}_rows AS r
SET state = 'in_flight', attempts = r.attempts + 1, claimed_by = $2,
    lease_until = clock_timestamp() + $3::float8 * interval '1 second'
FROM picked WHERE r.row = picked.row
RETURNING r.row, r.trade_no, picked.state = 'in_flight' AS maybe_sent"""

# Only the claim's holder records: a worker whose lease ran out and was taken over finds
# nothing to update, and the taker's result stands.
_RECORD = """\
UPDATE {table}_rows SET state = 'done', outcome = $1, result = $2, lease_until = NULL
WHERE row = $3 AND claimed_by = $4 AND state = 'in_flight'"""

_RENEW = """\
UPDATE {table}_rows SET lease_until = clock_timestamp() + $2::float8 * interval '1 second'
WHERE claimed_by = $1 AND state = 'in_flight'"""

_LET_GO = """\
UPDATE {table}_rows SET lease_until = clock_timestamp()
WHERE claimed_by = $1 AND state = 'in_flight'"""

_OPEN = """\
SELECT count(*) FILTER (WHERE state <> 'done') AS open,
       EXTRACT(EPOCH FROM min(lease_until) FILTER (WHERE state = 'in_flight')
                          - clock_timestamp())::float8 AS wait
FROM {table}_rows WHERE trade_no IS NOT NULL"""


class JournalServerError(OSError):
    """The journal's server failed once rows were being sent: what it committed stays, and
    running the same command again resumes (an ``OSError``, as a failing journal disk)."""


def is_postgres_url(value: str) -> bool:
    """Whether a ``--journal`` value names a PostgreSQL journal rather than a file."""
    return value.startswith(("postgresql://", "postgres://"))


def schema_sql(table: str = DEFAULT_TABLE) -> str:
    """The statements that create the journal's tables (run them yourself, if you like)."""
    return _SCHEMA.format(table=_checked(table), index=table.replace(".", "_"))


def _checked(table: str) -> str:
    if not _TABLE_NAME.fullmatch(table):
        raise JournalError(
            "the journal table must be a lowercase SQL name, optionally schema-qualified"
            " (a-z, 0-9, _)"
        )
    return table


class PostgresJournal:
    """``BatchJournal`` in two PostgreSQL tables, ``TABLE_meta`` and ``TABLE_rows``.

    ``url`` is a DSN (``postgresql://user:password@host/db``); it is never shown in errors
    or reprs (it may carry a password). The tables are created on first use unless they
    exist (the role then needs ``CREATE`` on the schema); the role always needs
    ``SELECT, INSERT, UPDATE, DELETE`` on both. ``lease``: seconds a dead worker's claims
    block its rows (renewed every third of it while the worker lives).
    """

    def __init__(
        self, url: str, *, table: str = DEFAULT_TABLE, lease: float = DEFAULT_LEASE
    ) -> None:
        if not (isinstance(lease, int | float) and 1 <= lease <= 86400):
            raise JournalError("the lease must be between 1 and 86400 seconds")
        self._table = _checked(table)
        self._lease = float(lease)
        self._me = f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"
        self._lock_key = f"vexora_batch:{table}"
        self._locked = False
        self._claimed = False
        self._failure: BaseException | None = None
        self._sql = {
            name: text.format(table=table)
            for name, text in (("claim", _CLAIM), ("record", _RECORD), ("renew", _RENEW),
                               ("let_go", _LET_GO), ("open", _OPEN))
        }  # fmt: skip
        try:
            import asyncpg
        except ImportError as exc:
            raise JournalError(
                "a PostgreSQL journal needs the 'asyncpg' package"
                f" ({install_hint('asyncpg', 'postgres')})"
            ) from exc
        self._asyncpg: Any = asyncpg
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="vexora-journal", daemon=True
        )
        self._thread.start()
        self._db: Any = None
        # One connection, one statement or transaction at a time: the renewal and the
        # command's calls must not hold locks on this worker's rows against each other
        # (two connections of one worker can deadlock: renew all rows vs record some).
        self._serial: asyncio.Lock | None = None
        self._beat: asyncio.Task[None] | None = None
        try:
            self._call(self._open(url))
        except BaseException:
            self._stop_loop()
            raise

    @property
    def worker(self) -> str:
        """This worker's name in ``claimed_by`` (host, process id, a random tag)."""
        return self._me

    def __repr__(self) -> str:
        return f"PostgresJournal(table={self._table!r}, lease={self._lease}s)"

    # -- the private loop -----------------------------------------------------------------

    def _call(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        # Before the first claim nothing was sent (JournalError says so); after it, a
        # failure is an I/O error of a run that resumes.
        error = JournalServerError if self._claimed else JournalError
        if self._failure is not None:
            coroutine.close()
            raise error(f"the journal's PostgreSQL server failed ({_describe(self._failure)})")
        future = asyncio.run_coroutine_threadsafe(self._in_turn(coroutine), self._loop)
        try:
            return future.result()
        except (OSError, TimeoutError, self._asyncpg.PostgresError,
                self._asyncpg.InterfaceError) as exc:  # fmt: skip
            if isinstance(exc, JournalServerError):
                raise
            raise error(f"the journal's PostgreSQL server failed ({_describe(exc)})") from None

    async def _open(self, url: str) -> None:
        connect = self._asyncpg.connect
        try:
            self._db = await connect(url, timeout=30, command_timeout=60)
            self._serial = asyncio.Lock()
        except (OSError, TimeoutError, self._asyncpg.PostgresError) as exc:
            raise JournalError(
                f"cannot connect to the journal's PostgreSQL server ({_describe(exc)})"
            ) from None
        if await self._db.fetchval("SELECT to_regclass($1)", f"{self._table}_rows") is None:
            async with self._db.transaction():
                # Workers starting together would otherwise race in the catalog.
                await self._db.execute("SELECT pg_advisory_xact_lock(hashtext($1))",
                                       self._lock_key + ":schema")  # fmt: skip
                await self._db.execute(schema_sql(self._table))
        self._beat = asyncio.create_task(self._renew_forever())

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self._lease / 3)
            try:
                await self._in_turn(self._db.execute(self._sql["renew"], self._me, self._lease))
            except Exception as exc:  # the next call reports it; the leases will run out
                self._failure = exc
                return

    async def _in_turn(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        if self._serial is None:  # opening: nothing else runs yet
            return await coroutine
        async with self._serial:
            return await coroutine

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    # -- identity and registration --------------------------------------------------------

    def take_turn(self) -> bool:
        """Try to take the registration lock (False: another worker is registering). It is
        held until the input is registered (``registered()`` true, or ``mark_registered()``),
        so the first worker registers and the others, waiting for their turn, find it done.
        ``bind`` waits for it itself; the ``batch`` command waits in its own event loop,
        where Ctrl+C is heard."""
        if not self._locked:
            self._locked = self._call(self._try_lock())
        return self._locked

    async def _try_lock(self) -> bool:
        query = "SELECT pg_try_advisory_lock(hashtext($1))"
        return bool(await self._db.fetchval(query, self._lock_key))

    def bind(self, identity: Mapping[str, str]) -> bool:
        return self._call(self._bind(dict(identity)))

    async def _bind(self, identity: dict[str, str]) -> bool:
        while not self._locked:
            self._locked = await self._try_lock()
            if not self._locked:
                await asyncio.sleep(0.2)
        async with self._db.transaction():
            stored = dict(await self._db.fetch(f"SELECT key, value FROM {self._table}_meta"))
            stored.pop(_REGISTERED, None)
            if not stored:
                await self._db.executemany(
                    f"INSERT INTO {self._table}_meta (key, value) VALUES ($1, $2)",
                    sorted(identity.items()),
                )
                return False
        if stored != identity:
            differing = sorted(
                k for k in set(stored) | set(identity) if stored.get(k) != identity.get(k)
            )
            raise JournalError(
                f"the PostgreSQL journal (table {self._table}) belongs to another batch (it"
                f" differs in: {', '.join(differing)}); use another --journal-table, or drop"
                " its tables to start over"
            )
        return True

    async def _unlock(self) -> None:
        if self._locked:
            await self._db.execute("SELECT pg_advisory_unlock(hashtext($1))", self._lock_key)
            self._locked = False

    def is_empty(self) -> bool:
        return self._call(self._is_empty())

    async def _is_empty(self) -> bool:
        meta = await self._db.fetchval(f"SELECT count(*) FROM {self._table}_meta")
        rows = await self._db.fetchval(f"SELECT count(*) FROM {self._table}_rows")
        return bool(meta == 0 and rows == 0)

    def first_rows(self, trade_nos: Iterable[str]) -> dict[str, int]:
        query = f"SELECT trade_no, row FROM {self._table}_rows WHERE trade_no = ANY($1::text[])"
        found = self._call(self._db.fetch(query, list(trade_nos)))
        return {trade_no: row for trade_no, row in found}

    def register(self, entries: Iterable[Entry]) -> None:
        columns: tuple[list[Any], ...] = ([], [], [], [], [])
        for e in entries:
            outcome = None if e.result is None else e.result["outcome"]
            values = (e.row, e.trade_no, PENDING if e.result is None else DONE, outcome,
                      _dump(e.result))  # fmt: skip
            for column, value in zip(columns, values, strict=True):
                column.append(value)
        # ON CONFLICT DO NOTHING: rows a worker that died while registering left stay.
        query = (
            f"INSERT INTO {self._table}_rows (row, trade_no, state, outcome, result)"
            " SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[])"
            " ON CONFLICT DO NOTHING"
        )
        self._call(self._db.execute(query, *columns))

    def mark_registered(self) -> None:
        self._call(self._mark_registered())

    async def _mark_registered(self) -> None:
        await self._db.execute(
            f"INSERT INTO {self._table}_meta (key, value) VALUES ($1, 'yes')"
            " ON CONFLICT (key) DO NOTHING",
            _REGISTERED,
        )
        await self._unlock()

    def registered(self) -> bool:
        return self._call(self._registered())

    async def _registered(self) -> bool:
        found = await self._db.fetchval(
            f"SELECT 1 FROM {self._table}_meta WHERE key = $1", _REGISTERED
        )
        if found is not None:
            await self._unlock()
        return found is not None

    def discard(self) -> None:
        """Forget the batch (its input was refused, nothing was sent), then close."""
        self._call(self._discard())
        self.close()

    async def _discard(self) -> None:
        async with self._db.transaction():
            await self._db.execute(f"DELETE FROM {self._table}_rows")
            await self._db.execute(f"DELETE FROM {self._table}_meta")

    # -- claims ---------------------------------------------------------------------------

    def claim_next(
        self, limit: int, finished: Iterable[tuple[int, Mapping[str, Any]]] = ()
    ) -> list[Claim]:
        self._claimed = True
        return self._call(self._claim_next(limit, list(finished)))

    async def _claim_next(
        self, limit: int, finished: list[tuple[int, Mapping[str, Any]]]
    ) -> list[Claim]:
        async with self._db.transaction():
            await self._record(finished)
            found = await self._db.fetch(self._sql["claim"], limit, self._me, self._lease)
        return sorted(Claim(r["row"], r["trade_no"], r["maybe_sent"]) for r in found)

    def record(self, results: Iterable[tuple[int, Mapping[str, Any]]]) -> None:
        self._call(self._record(list(results)))

    async def _record(self, results: list[tuple[int, Mapping[str, Any]]]) -> None:
        if results:
            await self._db.executemany(
                self._sql["record"],
                [(result["outcome"], _dump(result), row, self._me) for row, result in results],
            )

    def retry(self, outcomes: Mapping[str, str]) -> int:
        return self._call(self._retry(dict(outcomes)))

    async def _retry(self, outcomes: dict[str, str]) -> int:
        changed = 0
        async with self._db.transaction():
            for outcome, state in outcomes.items():
                status = await self._db.execute(
                    f"UPDATE {self._table}_rows SET state = $1, outcome = NULL, result = NULL,"
                    " claimed_by = NULL, lease_until = NULL"
                    " WHERE state = 'done' AND outcome = $2 AND trade_no IS NOT NULL",
                    state,
                    outcome,
                )
                changed += int(status.split()[-1])
        return changed

    def held_elsewhere(self) -> float | None:
        """None once every row is done; otherwise how long (seconds, 0 if now) until a row
        another worker holds may be claimed, if that worker has died by then."""
        found = self._call(self._db.fetchrow(self._sql["open"]))
        if not found["open"]:
            return None
        return max(0.0, found["wait"] or 0.0)

    def counts(self) -> dict[str, int]:
        query = f"SELECT state, count(*) FROM {self._table}_rows GROUP BY state"
        return {state: count for state, count in self._call(self._db.fetch(query))}

    def export(self) -> Iterator[tuple[str, str]]:
        query = (
            f"SELECT row, outcome, result FROM {self._table}_rows"
            " WHERE state = 'done' AND row > $1 ORDER BY row LIMIT $2"
        )
        after = -1
        while page := self._call(self._db.fetch(query, after, _PAGE)):
            for _, outcome, result in page:
                yield outcome, result
            after = page[-1]["row"]

    def close(self) -> None:
        """Let go of rows still claimed (claimed, maybe sent: another worker re-drives them
        as maybe sent right away instead of after the lease), then disconnect."""
        if self._thread.is_alive():
            # Best effort: if the server is gone, the leases run out anyway.
            with contextlib.suppress(Exception):
                closing = self._in_turn(self._close())
                asyncio.run_coroutine_threadsafe(closing, self._loop).result(timeout=30)
            self._stop_loop()

    async def _close(self) -> None:
        if self._beat is not None:
            self._beat.cancel()
        try:
            if self._db is not None:
                await self._db.execute(self._sql["let_go"], self._me)
        finally:
            if self._db is not None:
                await self._db.close()

    def __enter__(self) -> PostgresJournal:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _describe(exc: BaseException) -> str:
    """An error without the DSN or addresses: the server's own message, or the OS's."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, OSError | TimeoutError):
        return type(exc).__name__
    return f"{type(exc).__name__}: {exc}"[:300]


def _check(journal: PostgresJournal) -> BatchJournal:  # mypy: the class meets the protocol
    return journal

