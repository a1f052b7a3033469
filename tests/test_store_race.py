"""Shared stores across real processes: a flood of copies of one notification runs the
callback exactly once, and a claimer killed with SIGKILL is taken over after its lease.

Workers are spawned processes (``tests/store_workers.py``), each with its own event loop and
its own connections, as replicas behind a load balancer would be.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from vexora_async.notify import NotificationOutcome, process_notification

from . import store_workers
from .servers import kill

SHARED_STORES = ["sqlite", "redis", "postgres"]
WORKERS = 3
COPIES = 100  # per worker: 300 copies of one notification at once
KILL_LEASE = 1.0
JOIN_TIMEOUT = 120.0

spawn = multiprocessing.get_context("spawn")


@pytest.fixture(params=SHARED_STORES)
def store_spec(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[store_workers.StoreSpec]:
    place = f"vexora_race_{uuid.uuid4().hex[:12]}"
    if request.param == "sqlite":
        yield ("sqlite", str(tmp_path / "notify.db"))
    elif request.param == "redis":
        yield ("redis", request.getfixturevalue("redis_server").url, place + ":")
    else:
        yield ("postgres", request.getfixturevalue("postgres_server").dsn, place)


def _runs(evidence: Path, what: str) -> int:
    if not evidence.exists():
        return 0
    return sum(line.split()[0] == what for line in evidence.read_text().splitlines())


async def test_hundreds_of_copies_in_several_processes_run_the_callback_once(
    store_spec: store_workers.StoreSpec, tmp_path: Path
) -> None:
    evidence = tmp_path / "runs.txt"
    body = store_workers.notification_body("T-RACE-" + uuid.uuid4().hex[:8])
    start = spawn.Barrier(WORKERS)
    out = spawn.Queue()
    processes = [
        spawn.Process(
            target=store_workers.flood,
            args=(store_spec, 30.0, body, COPIES, str(evidence), start, out),
        )
        for _ in range(WORKERS)
    ]
    for process in processes:
        process.start()
    try:
        outcomes: Counter[str] = Counter()
        for _ in processes:
            outcomes.update(await asyncio.to_thread(out.get, timeout=JOIN_TIMEOUT))
    finally:
        for process in processes:
            process.join(JOIN_TIMEOUT)
            if process.is_alive():
                process.kill()
    assert [process.exitcode for process in processes] == [0] * WORKERS
    assert sum(outcomes.values()) == WORKERS * COPIES
    assert outcomes[NotificationOutcome.PROCESSED.value] == 1
    # Every other copy was held off (503) or recognised as done (200), never run.
    assert set(outcomes) <= {"processed", "busy", "duplicate"}
    assert _runs(evidence, "ran") == 1
    # Later deliveries, from any replica, see it done.
    store = store_workers.make_store(store_spec, 30.0)
    try:
        again = await process_notification(
            body, store_workers.SECRET, _never_called, store=store
        )
    finally:
        await store_workers.close_store(store)
    assert again.outcome is NotificationOutcome.DUPLICATE


async def _never_called(notification: object) -> None:
    raise AssertionError("the callback ran for a notification already processed")


async def test_a_claimer_killed_mid_callback_is_taken_over_after_its_lease(
    store_spec: store_workers.StoreSpec, tmp_path: Path
) -> None:
    evidence = tmp_path / "runs.txt"
    body = store_workers.notification_body("T-KILL-" + uuid.uuid4().hex[:8])
    out = spawn.Queue()
    started = time.time()  # the victim claims after this instant
    victim = spawn.Process(
        target=store_workers.hold,
        args=(store_spec, KILL_LEASE, body, str(evidence), out),
    )
    victim.start()
    try:
        assert await asyncio.to_thread(out.get, timeout=JOIN_TIMEOUT) == "in callback"
        kill(victim.pid or 0)
    finally:
        victim.join(JOIN_TIMEOUT)
    assert victim.exitcode == -9

    ran: list[object] = []

    async def on_payment(notification: object) -> None:
        ran.append(notification)

    store = store_workers.make_store(store_spec, KILL_LEASE)
    answers: list[NotificationOutcome] = []
    try:
        # The lease runs out on the store's clock, which no event of ours can await: poll,
        # bounded, as the gateway's redeliveries would.
        deadline = time.monotonic() + 30 * KILL_LEASE + 30
        while time.monotonic() < deadline:
            result = await process_notification(body, store_workers.SECRET, on_payment, store=store)
            answers.append(result.outcome)
            if result.outcome is not NotificationOutcome.BUSY:
                break
            await asyncio.sleep(0.05)
        taken_over = time.time()
        again = await process_notification(body, store_workers.SECRET, on_payment, store=store)
    finally:
        await store_workers.close_store(store)

    assert answers[-1] is NotificationOutcome.PROCESSED, answers
    assert set(answers[:-1]) <= {NotificationOutcome.BUSY}
    # Not before the victim's lease ran out (a lower bound only: load can only delay us).
    assert taken_over - started >= KILL_LEASE
    assert len(ran) == 1 and _runs(evidence, "entered") == 1
    assert again.outcome is NotificationOutcome.DUPLICATE
