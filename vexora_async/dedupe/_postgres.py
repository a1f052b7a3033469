"""The PostgreSQL store: one row per notification, each call one atomic statement.

A claim is a single ``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` that only takes over a
row that is neither done nor under a live lease. PostgreSQL locks the conflicting row and
re-checks the condition on its newest version, so of any number of concurrent claims exactly
one wins, with no read-then-write window.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._install_hint import install_hint
from ._base import BUSY, DEFAULT_LEASE, DONE, Claim, ClaimState, check_lease, new_token

if TYPE_CHECKING:
    from asyncpg import Pool

_TABLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}(\.[a-z_][a-z0-9_]{0,62})?")

_SCHEMA = """\
CREATE TABLE IF NOT EXISTS {table} (
    key TEXT PRIMARY KEY,
    done BOOLEAN NOT NULL DEFAULT FALSE,
    token TEXT,
    expires_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ NOT NULL
)"""

# $1 key, $2 token, $3 now (epoch seconds; NULL: the server's clock), $4 lease (seconds).
# `claimed` has a row only if this call took the claim. The outer SELECT reads with the
# statement's snapshot, so when a concurrent completion races it may say "not done": BUSY,
# which is still true of the moment the claim was refused (the gateway retries).
_CLAIM = """\
WITH now AS (SELECT COALESCE(to_timestamp($3::float8), clock_timestamp()) AS t),
claimed AS (
    INSERT INTO {table} AS n (key, token, expires_at, updated_at)
    SELECT $1, $2, now.t + $4::float8 * interval '1 second', now.t FROM now
    ON CONFLICT (key) DO UPDATE
        SET token = excluded.token, expires_at = excluded.expires_at,
            updated_at = excluded.updated_at
        WHERE NOT n.done AND (n.expires_at IS NULL OR n.expires_at <= excluded.updated_at)
    RETURNING n.token
)
SELECT (SELECT token FROM claimed) AS token,
       (SELECT done FROM {table} WHERE key = $1) AS done"""

# $1 key, $2 now (epoch seconds; NULL: the server's clock).
_COMPLETE = """\
INSERT INTO {table} AS n (key, done, updated_at)
VALUES ($1, TRUE, COALESCE(to_timestamp($2::float8), clock_timestamp()))
ON CONFLICT (key) DO UPDATE
    SET done = TRUE, token = NULL, expires_at = NULL, updated_at = excluded.updated_at"""

_RELEASE = "DELETE FROM {table} WHERE key = $1 AND NOT done AND token = $2"


class PostgresNotificationStore:
    """A store in a PostgreSQL (10 or later) table, shared by every replica that names the
    same database and ``table``. Needs the ``postgres`` extra (asyncpg).

    ``postgres`` is a DSN (``postgresql://user:password@host:5432/db``; the store makes, owns
    and closes a pool of at most ``pool_size`` connections, on first use, in the running
    event loop) or an ``asyncpg.Pool`` you own. Leases are judged by the server's clock;
    ``clock`` (seconds since the epoch) replaces it, for tests.

    ``table`` (default ``vexora_notifications``, optionally ``schema.table``) is created on
    first use when ``create_schema`` is true (the role then needs ``CREATE`` on the schema);
    with ``create_schema=False`` create it yourself from ``schema_sql()``. Either way the role
    needs ``SELECT``, ``INSERT``, ``UPDATE`` and ``DELETE`` on it. Rows are never deleted
    once done; delete old ones yourself (by ``updated_at``) if the table grows too large.
    """

    def __init__(
        self,
        postgres: str | Pool,
        *,
        lease: float = DEFAULT_LEASE,
        table: str = "vexora_notifications",
        create_schema: bool = True,
        pool_size: int = 4,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._lease = check_lease(lease)
        if not _TABLE_NAME.fullmatch(table):
            raise ValueError(
                "table must be a lowercase SQL name, optionally schema-qualified (a-z, 0-9, _)"
            )
        if not (isinstance(pool_size, int) and pool_size >= 1):
            raise ValueError("pool_size must be a whole number of connections, at least 1")
        try:
            import asyncpg
        except ImportError as exc:
            raise ImportError(
                "PostgresNotificationStore needs the 'asyncpg' package"
                f" ({install_hint('asyncpg', 'postgres')})"
            ) from exc
        if isinstance(postgres, str):
            self._dsn: str | None = postgres
            self._pool: Any = None
        elif isinstance(postgres, asyncpg.Pool):
            self._dsn, self._pool = None, postgres
        else:
            raise TypeError("PostgresNotificationStore needs a DSN or an asyncpg.Pool")
        self._table = table
        self._create_schema = create_schema
        self._pool_size = pool_size
        self._clock = clock
        self._ready = False
        self._opening: asyncio.Lock | None = None
        self._claim_sql = _CLAIM.format(table=table)
        self._complete_sql = _COMPLETE.format(table=table)
        self._release_sql = _RELEASE.format(table=table)

    def schema_sql(self) -> str:
        """The ``CREATE TABLE`` statement for this store's table, to run yourself."""
        return _SCHEMA.format(table=self._table)

    async def ensure_schema(self) -> None:
        """Create the table if it does not exist (safe to run from many replicas at once)."""
        pool = await self._get_pool()
        await self._create(pool)

    async def claim(self, key: str) -> Claim:
        pool = await self._ready_pool()
        row = await pool.fetchrow(self._claim_sql, key, new_token(), self._now(), self._lease)
        if row["token"] is not None:
            return Claim(ClaimState.CLAIMED, row["token"])
        return DONE if row["done"] else BUSY

    async def complete(self, key: str, token: str) -> None:
        pool = await self._ready_pool()
        await pool.execute(self._complete_sql, key, self._now())

    async def release(self, key: str, token: str) -> None:
        pool = await self._ready_pool()
        await pool.execute(self._release_sql, key, token)

    async def aclose(self) -> None:
        """Close the pool if the store made it; a later call opens a new one."""
        if self._dsn is not None and self._pool is not None:
            pool, self._pool = self._pool, None
            self._opening = None  # a later use may be on another event loop
            await pool.close()

    async def __aenter__(self) -> PostgresNotificationStore:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        # Never the DSN: it may carry a password.
        return f"PostgresNotificationStore(table={self._table!r}, lease={self._lease}s)"

    def _now(self) -> float | None:
        return None if self._clock is None else self._clock()

    async def _ready_pool(self) -> Any:
        if self._ready and self._pool is not None:
            return self._pool
        pool = await self._get_pool()
        if self._create_schema and not self._ready:
            await self._create(pool)
        self._ready = True
        return pool

    async def _get_pool(self) -> Any:
        if self._pool is not None:
            return self._pool
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:  # concurrent first calls open one pool, not several
            if self._pool is None:
                import asyncpg

                self._pool = await asyncpg.create_pool(
                    self._dsn, min_size=1, max_size=self._pool_size
                )
        return self._pool

    async def _create(self, pool: Any) -> None:
        async with pool.acquire() as conn:
            # Only look first: CREATE ... IF NOT EXISTS needs CREATE on the schema even when
            # the table exists, and a role without it may still use a table made for it.
            if await conn.fetchval("SELECT to_regclass($1)", self._table) is not None:
                return
            async with conn.transaction():
                # Replicas starting together would otherwise race in the catalog.
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", self._table)
                await conn.execute(self.schema_sql())
