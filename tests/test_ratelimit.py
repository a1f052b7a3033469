"""Rate limiters: GCRA in process (a hand-moved clock, no waiting) and in Redis, shared by
several processes (the slots the server hands out are counted, nothing is timed here)."""

from __future__ import annotations

import asyncio
import itertools
import json
import multiprocessing
import uuid
from collections.abc import Sequence

import pytest
from hypothesis import given, settings, strategies as st

from vexora_async import HttpRequest, HttpResponse, MemoryTransport, RetryPolicy, VexoraClient
from vexora_async.call import ApiCall, Envelope
from vexora_async.errors import ConfigurationError, ConnectError
from vexora_async.middleware import compose
from vexora_async.ratelimit import (
    LocalRateLimiter,
    RateLimiter,
    RateLimitMiddleware,
    RedisRateLimiter,
)

from . import seed_examples as seeds, store_workers
from .helpers import MERCHANT, SECRET, envelope, link_data, request_from_wire
from .servers import RedisServer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeSleep:
    """Records each wait and moves the clock by it, so ``acquire`` returns at once."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.clock is not None:
            self.clock.now += seconds


def most_in_any_window(slots: Sequence[float], rate: float, burst: int) -> float:
    """How far the busiest stretch of ``slots`` goes over ``burst + rate * length``.

    GCRA promises that any ``n`` consecutive slots span at least ``(n - burst) / rate``
    seconds; the answer is ``<= 0`` exactly when that holds for every stretch.
    """
    ordered = sorted(slots)
    worst = -float("inf")
    for i in range(len(ordered)):
        for j in range(i, len(ordered)):
            worst = max(worst, (j - i + 1) - burst - (ordered[j] - ordered[i]) * rate)
    return worst


def test_a_burst_goes_at_once_then_one_per_interval() -> None:
    clock = Clock()
    limiter = LocalRateLimiter(10, burst=3, clock=clock)
    delays = [limiter.reserve().delay for _ in range(6)]
    assert delays == pytest.approx([0, 0, 0, 0.1, 0.2, 0.3])
    # After a quiet spell the whole burst is back, and no more than it.
    clock.now += 60
    delays = [limiter.reserve().delay for _ in range(4)]
    assert delays == pytest.approx([0, 0, 0, 0.1])


def test_a_partly_refilled_bucket() -> None:
    clock = Clock()
    limiter = LocalRateLimiter(2, burst=2, clock=clock)
    assert [limiter.reserve().delay for _ in range(2)] == [0, 0]
    clock.now += 0.5  # one request's worth of time
    assert [limiter.reserve().delay for _ in range(2)] == pytest.approx([0, 0.5])


async def test_acquire_sleeps_for_the_reserved_slot() -> None:
    clock = Clock()
    sleep = FakeSleep()  # the clock stands still: all five ask at the same instant
    limiter = LocalRateLimiter(4, burst=2, clock=clock, sleep=sleep)
    await asyncio.gather(*(limiter.acquire() for _ in range(5)))
    # No sleep for the burst; the others queue in order, one interval apart.
    assert sleep.waits == pytest.approx([0.25, 0.5, 0.75])


@settings(max_examples=200, deadline=None)
@given(
    rate=st.floats(min_value=0.5, max_value=500),
    burst=st.integers(min_value=1, max_value=20),
    gaps=st.lists(st.floats(min_value=0, max_value=2), min_size=1, max_size=60),
)
def test_no_arrival_pattern_gets_past_the_limit(
    rate: float, burst: int, gaps: list[float]
) -> None:
    clock = Clock()
    limiter = LocalRateLimiter(rate, burst, clock=clock)
    slots = []
    for gap in gaps:
        clock.now += gap
        reservation = limiter.reserve()
        assert reservation.at >= clock.now and reservation.delay >= 0
        slots.append(reservation.at)
    assert slots == sorted(slots)  # first come, first served
    assert most_in_any_window(slots, rate, burst) <= 1e-6


@pytest.mark.parametrize(
    ("rate", "burst", "named"),
    [
        (0, 1, ["rate"]),
        (-5, 1, ["rate"]),
        (float("nan"), 1, ["rate"]),
        (float("inf"), 1, ["rate"]),
        (True, 1, ["rate"]),
        (10, 0, ["burst"]),
        (10, 2.5, ["burst"]),
        (0, 0, ["rate", "burst"]),
    ],
)
def test_bad_settings_name_every_problem(rate: float, burst: int, named: list[str]) -> None:
    with pytest.raises(ConfigurationError) as caught:
        LocalRateLimiter(rate, burst)
    message = str(caught.value)
    assert [word for word in ("rate", "burst") if f"{word} must" in message] == named


async def test_the_middleware_waits_for_the_limiter_before_each_attempt() -> None:
    events: list[str] = []

    class Limiter:
        async def acquire(self) -> None:
            events.append("acquire")

    async def send(call: ApiCall) -> Envelope:
        events.append(f"send {call.attempt}")
        return Envelope(code="0000", msg="success", data=None)

    limiter = Limiter()
    assert isinstance(limiter, RateLimiter)
    chain = compose([RateLimitMiddleware(limiter)], send)
    for attempt in (1, 2):
        await chain(ApiCall("query", "/q", {}, "T1", attempt=attempt))
    assert events == ["acquire", "send 1", "acquire", "send 2"]


async def test_the_middleware_with_a_real_limiter_spaces_the_calls() -> None:
    clock = Clock()
    sleep = FakeSleep(clock)
    sent: list[float] = []

    async def send(call: ApiCall) -> Envelope:
        sent.append(clock.now)
        return Envelope(code="0000", msg="success", data=None)

    middleware = RateLimitMiddleware(LocalRateLimiter(5, clock=clock, sleep=sleep))
    chain = compose([middleware], send)
    for _ in range(4):
        await chain(ApiCall("query", "/q", {}, "T1"))
    assert [round(t - sent[0], 6) for t in sent] == [0, 0.2, 0.4, 0.6]
    assert "LocalRateLimiter(rate=5.0, burst=1)" in repr(middleware)


# -- Redis -----------------------------------------------------------------------------------


async def test_redis_limiter_hands_out_gcra_slots(redis_server: RedisServer) -> None:
    key = uuid.uuid4().hex
    sleep = FakeSleep()
    # A slow rate: the round trips (a few ms) are small beside the 200 ms interval.
    async with RedisRateLimiter(redis_server.url, key, 5, burst=3, sleep=sleep) as limiter:
        reservations = [await limiter.reserve() for _ in range(6)]
        await limiter.acquire()
    slots = [r.at for r in reservations]
    assert [r.delay for r in reservations[:3]] == [0, 0, 0]
    assert all(r.delay > 0 for r in reservations[3:])
    # Past the burst, one interval apart from the first, on the server's clock.
    assert [b - slots[0] for b in slots[3:]] == pytest.approx([0.2, 0.4, 0.6], abs=1e-5)
    assert len(sleep.waits) == 1 and sleep.waits[0] > 0.6


async def test_redis_limiter_keys_are_separate_and_expire(redis_server: RedisServer) -> None:
    from redis.asyncio import Redis

    async with Redis.from_url(redis_server.url) as client:
        a = RedisRateLimiter(client, "a-" + uuid.uuid4().hex, 1, burst=1)
        b = RedisRateLimiter(client, "b-" + uuid.uuid4().hex, 1, burst=1)
        assert (await a.reserve()).delay == 0
        assert (await b.reserve()).delay == 0  # a's use does not slow b
        assert (await a.reserve()).delay > 0.9
        # The state lives no longer than it matters (about two intervals here).
        assert 0 < await client.pttl("vexora:rate:" + a.key) <= 2_100
        await a.aclose()  # a client passed in stays open
        assert await client.ping()


def test_redis_limiter_checks_its_arguments() -> None:
    with pytest.raises(ConfigurationError, match=r"rate must.*burst must"):
        RedisRateLimiter("redis://127.0.0.1:1/0", "k", 0, burst=0)
    with pytest.raises(ConfigurationError, match="key"):
        RedisRateLimiter("redis://127.0.0.1:1/0", "", 10)
    limiter = RedisRateLimiter("redis://:hunter2@127.0.0.1:1/0", "k", 10)
    assert "hunter2" not in repr(limiter)


async def test_processes_sharing_a_redis_key_stay_under_the_rate_together(
    redis_server: RedisServer,
) -> None:
    processes_count, requests, rate, burst = 3, 30, 150.0, 5
    key = uuid.uuid4().hex
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(processes_count)
    out = spawn.Queue()
    processes = [
        spawn.Process(
            target=store_workers.take_slots,
            args=(redis_server.url, key, rate, burst, requests, start, out),
        )
        for _ in range(processes_count)
    ]
    for process in processes:
        process.start()
    try:
        per_process = [
            await asyncio.to_thread(out.get, timeout=120) for _ in range(processes_count)
        ]
    finally:
        for process in processes:
            process.join(120)
            if process.is_alive():
                process.kill()
    assert [process.exitcode for process in processes] == [0] * processes_count
    assert [len(slots) for slots in per_process] == [requests] * processes_count
    every = [slot for slots in per_process for slot in slots]
    # Counted on the server's clock: no window holds more than burst + rate * its length
    # (1 ms of slack for the slot times' rounding).
    assert most_in_any_window(every, rate, burst) <= rate * 0.001
    # ... and the processes really did share it: their slots interleave.
    owner = {slot: n for n, slots in enumerate(per_process) for slot in slots}
    in_order = [owner[slot] for slot in sorted(every)]
    assert sum(a != b for a, b in itertools.pairwise(in_order)) >= processes_count


def test_threads_sharing_a_local_limiter_never_share_a_slot() -> None:
    import sys
    import threading

    limiter = LocalRateLimiter(1000, burst=1, clock=Clock())  # the clock stands still
    slots: list[float] = []

    def take() -> None:
        taken = [limiter.reserve().at for _ in range(10_000)]
        slots.extend(taken)

    threads = [threading.Thread(target=take) for _ in range(4)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: races show up
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    # 40,000 slots, one millisecond apart: none lost to a race, none handed out twice.
    assert sorted(slots) == pytest.approx([1000 + n / 1000 for n in range(40_000)], abs=1e-6)


# -- on the client ------------------------------------------------------------------------


def _answer(request: HttpRequest) -> HttpResponse:
    trade_no = json.loads(request.body)["tradeNo"]
    return HttpResponse(200, {}, envelope(link_data(trade_no)))


async def test_the_client_limits_every_attempt_inside_the_retry_loop() -> None:
    clock = Clock()
    sleep = FakeSleep(clock)
    answers = iter([HttpResponse(502, {}, b"bad gateway")])

    async def gateway(request: HttpRequest) -> HttpResponse:
        first = next(answers, None)
        return first if first is not None else _answer(request)

    limiter = LocalRateLimiter(10.0, burst=1, clock=clock, sleep=sleep)
    async with VexoraClient(
        merchant_no=MERCHANT, secret=SECRET, base_url="https://g.example",
        transport=MemoryTransport(gateway), rate_limit=limiter,
        retry=RetryPolicy(backoff=0.001, backoff_max=0.001),
    ) as client:  # fmt: skip
        assert isinstance(client.middlewares[1], RateLimitMiddleware)
        for i in range(3):
            request = request_from_wire({**seeds.IDR_REQUEST, "tradeNo": f"RL{i}"})
            await client.create_payment_link(request)
    # 4 attempts (one retried after the 502), one slot each: 0, 0.1, 0.2, 0.3 s
    assert sleep.waits == pytest.approx([0.1, 0.1, 0.1])


async def test_a_limiter_that_fails_means_not_sent() -> None:
    class Broken:
        async def acquire(self) -> None:
            raise OSError("redis is down")

    sent: list[HttpRequest] = []

    async def gateway(request: HttpRequest) -> HttpResponse:
        sent.append(request)
        return _answer(request)

    async with VexoraClient(
        merchant_no=MERCHANT, secret=SECRET, base_url="https://g.example",
        transport=MemoryTransport(gateway), rate_limit=Broken(),
        retry=RetryPolicy(attempts=2, backoff=0.001, backoff_max=0.001),
    ) as client:  # fmt: skip
        with pytest.raises(ConnectError) as caught:
            await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    assert sent == [] and not caught.value.maybe_sent and caught.value.attempts == 2
