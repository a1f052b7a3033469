"""What the worker processes of the cross-process store and rate-limit tests run (no tests).

Each function is the target of a ``multiprocessing`` spawn process: it builds its own store
or limiter from a picklable description, runs its own event loop, and reports through a
queue or a file, like a real replica would.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from typing import Any

from vexora_async.dedupe import (
    NotificationStore,
    PostgresNotificationStore,
    RedisNotificationStore,
    SQLiteNotificationStore,
)
from vexora_async.notify import PaymentNotification, process_notification
from vexora_async.ratelimit import RedisRateLimiter, Reservation
from vexora_async.signing import sign

SECRET = "TESTSECRET"

# ("sqlite", path) | ("redis", url, prefix) | ("postgres", dsn, table)
StoreSpec = tuple[str, ...]


def make_store(spec: StoreSpec, lease: float) -> NotificationStore:
    kind = spec[0]
    if kind == "sqlite":
        return SQLiteNotificationStore(spec[1], lease=lease)
    if kind == "redis":
        return RedisNotificationStore(spec[1], prefix=spec[2], lease=lease)
    if kind == "postgres":
        return PostgresNotificationStore(spec[1], table=spec[2], lease=lease)
    raise ValueError(kind)


async def close_store(store: NotificationStore) -> None:
    aclose = getattr(store, "aclose", None)
    if aclose is not None:
        await aclose()


def notification_body(trade_no: str) -> bytes:
    """A genuine, signed "paid" notification (SPEC §7)."""
    fields: dict[str, Any] = {
        "platFormTradeNo": "PF" + trade_no,
        "tradeNo": trade_no,
        "amount": "10000",
        "status": "0000",
        "message": "success",
        "successTime": "2024-01-01 12:00:00",
        "channelCode": "EWALLET",
        "wayCode": "DANA",
        "timestamp": "1715941383720",
    }
    return json.dumps({**fields, "sign": sign(fields, SECRET)}).encode()


def record_run(evidence: str, what: str) -> None:
    """One line per callback run, appended atomically (O_APPEND) by whichever process."""
    fd = os.open(evidence, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, f"{what} {os.getpid()}\n".encode())
    finally:
        os.close(fd)


def flood(
    spec: StoreSpec, lease: float, body: bytes, copies: int, evidence: str, start: Any, out: Any
) -> None:
    """Deliver ``copies`` copies of one notification at once, after every worker is ready."""

    async def on_payment(notification: PaymentNotification) -> None:
        record_run(evidence, "ran")
        await asyncio.sleep(0.05)  # the callback's own work: widens the window for a race

    async def run() -> Counter[str]:
        store = make_store(spec, lease)
        try:
            # Open as many connections as the flood will use before the start line, so that
            # every copy's claim is in flight at once rather than queued behind a connect.
            await asyncio.gather(*(store.claim(f"warm-up-{i}") for i in range(copies)))
            start.wait()
            results = await asyncio.gather(
                *(process_notification(body, SECRET, on_payment, store=store)
                  for _ in range(copies))
            )
        finally:
            await close_store(store)
        return Counter(result.outcome.value for result in results)

    out.put(dict(asyncio.run(run())))


def hold(spec: StoreSpec, lease: float, body: bytes, evidence: str, out: Any) -> None:
    """Claim the notification and hang inside the callback until killed."""

    async def on_payment(notification: PaymentNotification) -> None:
        record_run(evidence, "entered")
        out.put("in callback")
        await asyncio.Event().wait()  # forever: the test SIGKILLs this process here

    async def run() -> None:
        store = make_store(spec, lease)
        await process_notification(body, SECRET, on_payment, store=store)

    asyncio.run(run())


class RecordingLimiter(RedisRateLimiter):
    """A Redis limiter that also notes the slot the server handed out for each request."""

    slots: list[float]

    async def reserve(self) -> Reservation:
        reservation = await super().reserve()
        self.slots.append(reservation.at)
        return reservation


def take_slots(
    url: str, key: str, rate: float, burst: int, requests: int, start: Any, out: Any
) -> None:
    """``requests`` acquires, two at a time, on a limiter shared through Redis."""

    async def run() -> list[float]:
        async with RecordingLimiter(url, key, rate, burst) as limiter:
            limiter.slots = []
            start.wait()

            async def worker(count: int) -> None:
                for _ in range(count):
                    await limiter.acquire()

            await asyncio.gather(worker(requests // 2), worker(requests - requests // 2))
            return limiter.slots

    out.put(asyncio.run(run()))
