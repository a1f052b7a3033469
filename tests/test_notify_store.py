"""The dedupe stores' contract, run against all four stores (memory, SQLite, and real Redis
and PostgreSQL servers), plus what is particular to each. Cross-process races and a killed
claimer are in ``test_store_race.py``."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from vexora_async.dedupe import (
    ClaimState,
    MemoryNotificationStore,
    NotificationStore,
    PostgresNotificationStore,
    RedisNotificationStore,
    SQLiteNotificationStore,
)

from .servers import PostgresServer, RedisServer

LEASE = 60.0
STORES = ["memory", "sqlite", "redis", "postgres"]


class Clock:
    """A clock the test moves by hand, so lease expiry needs no waiting."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


StoreFactory = Callable[[Clock], NotificationStore]


def unique(prefix: str) -> str:
    """A name no other test uses: tests share one server per session."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=STORES)
async def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreFactory]:
    """Stores of one kind, on one shared place (file, key prefix, table) per test."""
    kind = request.param
    made: list[SQLiteNotificationStore | RedisNotificationStore | PostgresNotificationStore] = []
    server_url = ""
    if kind == "redis":
        server_url = request.getfixturevalue("redis_server").url
    elif kind == "postgres":
        server_url = request.getfixturevalue("postgres_server").dsn
    place = unique("vexora_notify")

    def make(clock: Clock) -> NotificationStore:
        store: SQLiteNotificationStore | RedisNotificationStore | PostgresNotificationStore
        if kind == "memory":
            return MemoryNotificationStore(lease=LEASE, clock=clock)
        if kind == "sqlite":
            store = SQLiteNotificationStore(tmp_path / "notify.db", lease=LEASE, clock=clock)
        elif kind == "redis":
            store = RedisNotificationStore(server_url, prefix=place + ":", lease=LEASE, clock=clock)
        else:
            store = PostgresNotificationStore(server_url, table=place, lease=LEASE, clock=clock)
        made.append(store)
        return store

    yield make
    for store in made:
        await store.aclose()


async def test_claim_complete_then_done(make_store: StoreFactory) -> None:
    store = make_store(Clock())
    first = await store.claim("k")
    assert first.state is ClaimState.CLAIMED and first.token
    assert (await store.claim("k")).state is ClaimState.BUSY
    assert (await store.claim("other")).state is ClaimState.CLAIMED
    await store.complete("k", first.token)
    assert (await store.claim("k")).state is ClaimState.DONE


async def test_release_frees_the_claim_only_for_its_holder(make_store: StoreFactory) -> None:
    store = make_store(Clock())
    first = await store.claim("k")
    await store.release("k", "not-the-token")
    assert (await store.claim("k")).state is ClaimState.BUSY
    await store.release("k", first.token)
    again = await store.claim("k")
    assert again.state is ClaimState.CLAIMED and again.token != first.token


async def test_an_expired_claim_is_taken_over(make_store: StoreFactory) -> None:
    clock = Clock()
    store = make_store(clock)
    crashed = await store.claim("k")
    clock.now += LEASE - 1
    assert (await store.claim("k")).state is ClaimState.BUSY
    clock.now += 2
    taken = await store.claim("k")
    assert taken.state is ClaimState.CLAIMED and taken.token != crashed.token
    # The first holder waking up late cannot free the new holder's claim.
    await store.release("k", crashed.token)
    assert (await store.claim("k")).state is ClaimState.BUSY


async def test_concurrent_claims_give_exactly_one_holder(make_store: StoreFactory) -> None:
    store = make_store(Clock())
    claims = await asyncio.gather(*(store.claim("k") for _ in range(20)))
    states = [claim.state for claim in claims]
    assert states.count(ClaimState.CLAIMED) == 1
    assert states.count(ClaimState.BUSY) == 19


async def test_stores_satisfy_the_protocol(make_store: StoreFactory) -> None:
    assert isinstance(make_store(Clock()), NotificationStore)


# One step of a random history: ("claim", key) | ("complete", key, which claim's token)
# | ("release", key, which claim's token) | ("wait", seconds). Waits straddle the lease.
KEYS = st.sampled_from(["a", "b"])
STEPS = st.one_of(
    st.tuples(st.just("claim"), KEYS),
    st.tuples(st.just("complete"), KEYS, st.integers(0, 5)),
    st.tuples(st.just("release"), KEYS, st.integers(0, 5)),
    st.tuples(st.just("wait"), st.sampled_from([1, 30, 59, 60, 61, 200])),
)


class Model:
    """The contract, written as plainly as possible."""

    def __init__(self) -> None:
        self.done: set[str] = set()
        self.held: dict[str, tuple[str, float]] = {}  # key -> (token, expires at)

    def claim(self, key: str, now: float, token: str) -> ClaimState:
        if key in self.done:
            return ClaimState.DONE
        if key in self.held and self.held[key][1] > now:
            return ClaimState.BUSY
        self.held[key] = (token, now + LEASE)
        return ClaimState.CLAIMED

    def complete(self, key: str) -> None:
        self.done.add(key)
        self.held.pop(key, None)

    def release(self, key: str, token: str) -> None:
        if key in self.held and self.held[key][0] == token:
            del self.held[key]


@settings(
    max_examples=25,
    deadline=None,
    # The fixture's store is meant to be shared by the examples (keys keep them apart).
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=st.lists(STEPS, max_size=25))
async def test_every_history_matches_the_contract(
    make_store: StoreFactory, steps: list[tuple[Any, ...]]
) -> None:
    clock = Clock()
    store = make_store(clock)
    model = Model()
    run = uuid.uuid4().hex  # keys of their own: examples share the store's file/server
    tokens: list[str] = []
    for step in steps:
        if step[0] == "wait":
            clock.now += step[1]
            continue
        key = f"{run}:{step[1]}"
        if step[0] == "claim":
            claim = await store.claim(key)
            assert claim.state is model.claim(key, clock.now, claim.token), step
            if claim.state is ClaimState.CLAIMED:
                assert claim.token and claim.token not in tokens
                tokens.append(claim.token)
            else:
                assert claim.token == ""
            continue
        token = tokens[step[2]] if step[2] < len(tokens) else "never-issued"
        if step[0] == "complete":
            await store.complete(key, token)
            model.complete(key)
        else:
            await store.release(key, token)
            model.release(key, token)


async def test_sqlite_remembers_across_store_objects(tmp_path: Path) -> None:
    path = tmp_path / "notify.db"
    clock = Clock()
    async with SQLiteNotificationStore(path, lease=LEASE, clock=clock) as store:
        done = await store.claim("done")
        await store.complete("done", done.token)
        await store.claim("crashed")  # claimed, then the process "dies"
    async with SQLiteNotificationStore(path, lease=LEASE, clock=clock) as reopened:
        assert (await reopened.claim("done")).state is ClaimState.DONE
        assert (await reopened.claim("crashed")).state is ClaimState.BUSY
        clock.now += LEASE + 1
        assert (await reopened.claim("crashed")).state is ClaimState.CLAIMED


async def test_two_store_objects_on_one_place_share_claims(make_store: StoreFactory) -> None:
    # Two store objects stand in for two workers: separate connections, one file/server.
    clock = Clock()
    a, b = make_store(clock), make_store(clock)
    if isinstance(a, MemoryNotificationStore):
        # Not shared by design: each object is its own store.
        assert (await a.claim("k")).state is (await b.claim("k")).state is ClaimState.CLAIMED
        return
    claims = await asyncio.gather(*(s.claim("k") for s in (a, b, a, b, a, b)))
    assert [c.state for c in claims].count(ClaimState.CLAIMED) == 1
    winner = next(c for c in claims if c.state is ClaimState.CLAIMED)
    await b.complete("k", winner.token)
    assert (await a.claim("k")).state is ClaimState.DONE


async def test_complete_without_a_claim_still_marks_done(make_store: StoreFactory) -> None:
    # process_notification with a failing claim never completes, but the contract says
    # complete() remembers the key for good whatever happened before.
    store = make_store(Clock())
    await store.complete("k", "")
    assert (await store.claim("k")).state is ClaimState.DONE
    await store.release("k", "")  # a release after completion changes nothing
    assert (await store.claim("k")).state is ClaimState.DONE


async def test_many_keys_are_independent(make_store: StoreFactory) -> None:
    store = make_store(Clock())
    keys = [f"T{i}|0000|10000" for i in range(30)]
    claims = await asyncio.gather(*(store.claim(key) for key in keys))
    assert all(claim.state is ClaimState.CLAIMED for claim in claims)
    assert len({claim.token for claim in claims}) == len(keys)
    pairs = list(zip(keys, claims, strict=True))
    await asyncio.gather(*(store.complete(k, c.token) for k, c in pairs[::2]))
    await asyncio.gather(*(store.release(k, c.token) for k, c in pairs[1::2]))
    again = await asyncio.gather(*(store.claim(key) for key in keys))
    assert [c.state for c in again[::2]] == [ClaimState.DONE] * 15
    assert [c.state for c in again[1::2]] == [ClaimState.CLAIMED] * 15


async def test_sqlite_reopens_after_aclose(tmp_path: Path) -> None:
    store = SQLiteNotificationStore(tmp_path / "notify.db")
    first = await store.claim("k")
    await store.aclose()
    await store.complete("k", first.token)
    assert (await store.claim("k")).state is ClaimState.DONE
    await store.aclose()


async def test_memory_store_forgets_the_oldest_beyond_its_cap() -> None:
    store = MemoryNotificationStore(max_done=2)
    for key in ("a", "b", "c"):
        claim = await store.claim(key)
        await store.complete(key, claim.token)
    assert len(store) == 2
    assert (await store.claim("a")).state is ClaimState.CLAIMED
    assert (await store.claim("c")).state is ClaimState.DONE


@pytest.mark.parametrize("lease", [0, -1.0])
def test_a_lease_must_be_positive(lease: float, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="lease"):
        MemoryNotificationStore(lease=lease)
    with pytest.raises(ValueError, match="lease"):
        SQLiteNotificationStore(tmp_path / "x.db", lease=lease)


@pytest.mark.parametrize("lease", [float("nan"), float("inf"), "60"])
def test_a_lease_must_be_a_finite_number(lease: float) -> None:
    with pytest.raises(ValueError, match="lease"):
        MemoryNotificationStore(lease=lease)


# -- Redis ---------------------------------------------------------------------------------


async def test_redis_keys_expire_after_the_lease_and_done_keys_as_told(
    redis_server: RedisServer,
) -> None:
    from redis.asyncio import Redis

    prefix = unique("vexora") + ":"
    async with Redis.from_url(redis_server.url) as client:
        forever = RedisNotificationStore(client, prefix=prefix, lease=30)
        bounded = RedisNotificationStore(client, prefix=prefix, lease=30, done_ttl=3600)
        claim = await forever.claim("a")
        # A claim cleans up after itself (server clock): no TTL beyond the lease.
        assert 0 < await client.pttl(prefix + "a") <= 30_000
        await forever.complete("a", claim.token)
        assert await client.pttl(prefix + "a") == -1  # remembered for good
        assert await client.hgetall(prefix + "a") == {b"done": b"1"}
        claim = await bounded.claim("b")
        await bounded.complete("b", claim.token)
        assert 3_000_000 < await client.pttl(prefix + "b") <= 3_600_000
        await forever.aclose()  # a client passed in stays open
        assert await client.ping()


async def test_redis_store_works_with_only_the_documented_commands(
    redis_server: RedisServer,
) -> None:
    from redis.asyncio import Redis

    prefix = unique("vexora") + ":"
    user = unique("app")
    commands = "+evalsha +script|load +hset +hmget +hget +hdel +del +pexpire +persist +time"
    async with Redis.from_url(redis_server.url) as admin:
        await admin.execute_command(
            "ACL", "SETUSER", user, "on", "nopass", f"~{prefix}*", *commands.split()
        )
        try:
            url = redis_server.url.replace("redis://", f"redis://{user}:x@")
            async with RedisNotificationStore(url, prefix=prefix) as store:
                claim = await store.claim("k")
                assert claim.state is ClaimState.CLAIMED
                await store.release("k", claim.token)
                claim = await store.claim("k")
                await store.complete("k", claim.token)
                assert (await store.claim("k")).state is ClaimState.DONE
        finally:
            await admin.execute_command("ACL", "DELUSER", user)


def test_redis_store_repr_hides_the_url_password() -> None:
    pytest.importorskip("redis")
    store = RedisNotificationStore("redis://:hunter2@127.0.0.1:1/0", prefix="p:")
    assert "hunter2" not in repr(store) and "p:" in repr(store)


@pytest.mark.parametrize("done_ttl", [0, -1, float("nan")])
def test_redis_done_ttl_must_be_positive(done_ttl: float) -> None:
    with pytest.raises(ValueError, match="done_ttl"):
        RedisNotificationStore("redis://127.0.0.1:1/0", done_ttl=done_ttl)


def test_redis_store_wants_a_url_or_a_client() -> None:
    pytest.importorskip("redis")
    with pytest.raises(TypeError, match="Redis URL"):
        RedisNotificationStore(object())  # type: ignore[arg-type]


# -- PostgreSQL ----------------------------------------------------------------------------


async def test_postgres_table_is_created_once_by_many_replicas_at_once(
    postgres_server: PostgresServer,
) -> None:
    table = unique("vexora_notify")
    stores = [PostgresNotificationStore(postgres_server.dsn, table=table) for _ in range(5)]
    try:
        claims = await asyncio.gather(*(store.claim("k") for store in stores))
        assert [c.state for c in claims].count(ClaimState.CLAIMED) == 1
    finally:
        for store in stores:
            await store.aclose()


async def test_postgres_without_create_schema_needs_the_table(
    postgres_server: PostgresServer,
) -> None:
    import asyncpg

    table = unique("vexora_notify")
    async with PostgresNotificationStore(
        postgres_server.dsn, table=table, create_schema=False
    ) as store:
        with pytest.raises(asyncpg.UndefinedTableError):
            await store.claim("k")
        await store.ensure_schema()
        await store.ensure_schema()  # twice is fine
        assert (await store.claim("k")).state is ClaimState.CLAIMED


async def test_postgres_role_with_only_dml_privileges_suffices(
    postgres_server: PostgresServer,
) -> None:
    import asyncpg

    table, role = unique("vexora_notify"), unique("app")
    admin = await asyncpg.connect(postgres_server.dsn)
    try:
        await admin.execute(PostgresNotificationStore("", table=table).schema_sql())
        await admin.execute(f"CREATE ROLE {role} LOGIN")
        await admin.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        await admin.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {role}")
        # The default create_schema=True finds the table and creates nothing.
        async with PostgresNotificationStore(
            postgres_server.dsn_for(role), table=table
        ) as store:
            claim = await store.claim("k")
            await store.release("k", claim.token)
            claim = await store.claim("k")
            await store.complete("k", claim.token)
            assert (await store.claim("k")).state is ClaimState.DONE
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await PostgresNotificationStore(
                    postgres_server.dsn_for(role), table=unique("other")
                ).claim("k")
    finally:
        await admin.execute(f"DROP OWNED BY {role}")
        await admin.execute(f"DROP ROLE {role}")
        await admin.close()


async def test_postgres_store_uses_a_pool_you_pass_and_leaves_it_open(
    postgres_server: PostgresServer,
) -> None:
    import asyncpg

    pool = await asyncpg.create_pool(postgres_server.dsn, min_size=1, max_size=2)
    try:
        store = PostgresNotificationStore(pool, table=unique("vexora_notify"))
        assert (await store.claim("k")).state is ClaimState.CLAIMED
        await store.aclose()
        assert await pool.fetchval("SELECT 1") == 1
    finally:
        await pool.close()


async def test_postgres_store_reopens_after_aclose(postgres_server: PostgresServer) -> None:
    store = PostgresNotificationStore(postgres_server.dsn, table=unique("vexora_notify"))
    first = await store.claim("k")
    await store.aclose()
    await store.complete("k", first.token)
    assert (await store.claim("k")).state is ClaimState.DONE
    await store.aclose()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"table": "Robert'); DROP TABLE students;--"}, "table"),
        ({"table": "a.b.c"}, "table"),
        ({"pool_size": 0}, "pool_size"),
        ({"lease": 0}, "lease"),
    ],
)
def test_postgres_store_checks_its_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PostgresNotificationStore("postgresql://127.0.0.1:1/x", **kwargs)  # type: ignore[arg-type]


def test_postgres_store_repr_hides_the_dsn_password() -> None:
    pytest.importorskip("asyncpg")
    store = PostgresNotificationStore("postgresql://app:hunter2@127.0.0.1:1/x")
    assert "hunter2" not in repr(store) and "vexora_notifications" in repr(store)
    with pytest.raises(TypeError, match="DSN"):
        PostgresNotificationStore(42)  # type: ignore[arg-type]


# -- optional extras -------------------------------------------------------------------------


def test_importing_the_stores_and_limiters_loads_no_server_client() -> None:
    import subprocess
    import sys

    code = (
        "import sys, vexora_async.dedupe, vexora_async.ratelimit;"
        "loaded = [m for m in ('redis', 'asyncpg') if m in sys.modules];"
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    ("module", "make"),
    [
        ("redis", lambda: RedisNotificationStore("redis://127.0.0.1:1/0")),
        ("asyncpg", lambda: PostgresNotificationStore("postgresql://127.0.0.1:1/x")),
    ],
)
def test_a_missing_client_names_the_extra(
    module: str, make: Callable[[], object], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    monkeypatch.setitem(sys.modules, module + ".asyncio", None)
    with pytest.raises(ImportError) as caught:
        make()
    message = str(caught.value)
    # The extra (from a clone) and the bare dependency: never a name the index lacks.
    assert re.search(r"pip install '\.\[(redis|postgres)\]' from a clone", message)
    assert f"or pip install {module}" in message
    assert "vexora_async[" not in message


def _scaling_out_blocks(language: str) -> list[str]:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split("## Scaling out", 1)[1].split("\n## ", 1)[0]
    return [block.split("\n", 1)[1] for block in section.split("```")[1::2]
            if block.startswith(language + "\n")]


def test_the_readme_shows_the_table_the_store_creates() -> None:
    pytest.importorskip("asyncpg")
    [sql] = [b for b in _scaling_out_blocks("sql") if "vexora_notifications" in b]
    assert sql.strip() == PostgresNotificationStore("postgresql://x/y").schema_sql()


def test_the_readme_scaling_out_examples_run() -> None:
    pytest.importorskip("redis")
    pytest.importorskip("asyncpg")
    blocks = _scaling_out_blocks("python")
    assert len(blocks) == 2
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})  # builds objects; connects nowhere


async def test_a_redis_store_from_a_url_waits_for_a_connection_in_a_burst(
    redis_server: RedisServer,
) -> None:
    # More claims at once than the pool has connections: they queue for one instead of
    # failing (redis-py's default pool raises MaxConnectionsError, and the notification
    # would be answered 500).
    from vexora_async._redis_connect import POOL_SIZE

    store = RedisNotificationStore(redis_server.url, prefix=unique("vexora") + ":")
    try:
        claims = await asyncio.gather(*(store.claim(f"k{i}") for i in range(3 * POOL_SIZE)))
        assert all(claim.state is ClaimState.CLAIMED for claim in claims)
    finally:
        await store.aclose()
