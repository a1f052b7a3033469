"""The dedupe stores: claim / complete / release, leases, atomic claims, SQLite persistence."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from vexora_async.dedupe import (
    ClaimState,
    MemoryNotificationStore,
    NotificationStore,
    SQLiteNotificationStore,
)

LEASE = 60.0


class Clock:
    """A clock the test moves by hand, so lease expiry needs no waiting."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


StoreFactory = Callable[[Clock], NotificationStore]


@pytest.fixture(params=["memory", "sqlite"])
async def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreFactory]:
    made: list[SQLiteNotificationStore] = []

    def make(clock: Clock) -> NotificationStore:
        if request.param == "memory":
            return MemoryNotificationStore(lease=LEASE, clock=clock)
        store = SQLiteNotificationStore(tmp_path / "notify.db", lease=LEASE, clock=clock)
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


async def test_two_sqlite_stores_on_one_file_share_claims(tmp_path: Path) -> None:
    # Two store objects stand in for two worker processes: separate connections, one file.
    a = SQLiteNotificationStore(tmp_path / "notify.db")
    b = SQLiteNotificationStore(tmp_path / "notify.db")
    try:
        claims = await asyncio.gather(*(s.claim("k") for s in (a, b, a, b)))
        assert [c.state for c in claims].count(ClaimState.CLAIMED) == 1
    finally:
        await a.aclose()
        await b.aclose()


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
