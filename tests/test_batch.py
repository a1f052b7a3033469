"""create_payment_links: a bounded pool, one result per input, nothing swallowed."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from vexora_async import CheckoutRequest, HttpRequest, HttpResponse, MemoryTransport, VexoraClient
from vexora_async.batch import BatchOutcome
from vexora_async.retry import RetryPolicy
from vexora_async.sandbox import SandboxThread

from .helpers import MERCHANT, SECRET, envelope, link_data


def _request(i: int, amount: int = 10000) -> CheckoutRequest:
    return CheckoutRequest(
        trade_no=f"B{i:08d}",
        amount=amount,
        username="Budi",
        mobile="081234567890",
        email="budi@example.com",
        notify_url="https://shop.example/notify",
    )


class Gateway:
    """Answers checkouts in memory and records how many were in flight at once."""

    def __init__(self, reject: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.in_flight = 0
        self.peak = 0
        self.created: list[str] = []
        self.reject = reject

    async def __call__(self, request: HttpRequest) -> HttpResponse:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(0)  # let other workers start: a real await point
            trade_no = json.loads(request.body)["tradeNo"]
            if request.url.endswith("queryPayInResult"):  # only refused orders are queried
                assert trade_no not in self.created
                return HttpResponse(200, {}, envelope(None, code="8000", msg="no such order"))
            if trade_no in self.reject:
                return HttpResponse(200, {}, envelope(None, code="1000", msg="rejected"))
            self.created.append(trade_no)
            return HttpResponse(200, {}, envelope(link_data(trade_no)))
        finally:
            self.in_flight -= 1


def _client(gateway: Gateway) -> VexoraClient:
    return VexoraClient(
        merchant_no=MERCHANT,
        secret=SECRET,
        base_url="https://gw.example",
        transport=MemoryTransport(gateway),
        retry=RetryPolicy(attempts=1),
    )


async def test_every_input_gets_exactly_one_result_within_the_pool_bound() -> None:
    gateway = Gateway()
    tasks_seen: list[int] = []
    async with _client(gateway) as client:
        indexes = []
        async for result in client.create_payment_links(
            (_request(i) for i in range(1000)), concurrency=8
        ):
            tasks_seen.append(len(asyncio.all_tasks()))
            assert result.ok and result.outcome == BatchOutcome.CREATED
            assert result.link is not None and result.link.trade_no == result.trade_no
            indexes.append(result.index)
    assert sorted(indexes) == list(range(1000))
    assert sorted(gateway.created) == [f"B{i:08d}" for i in range(1000)]
    assert 1 < gateway.peak <= 8
    assert max(tasks_seen) <= 8 + 2  # workers, the pool's runner, the test: not one per input


async def test_failures_are_results_not_exceptions() -> None:
    gateway = Gateway(reject={"B00000003"})
    inputs: list[Any] = [_request(i) for i in range(6)]
    inputs[1] = _request(1, amount=5)  # invalid: below the IDR minimum
    inputs[4] = {"not": "a request"}  # a caller's bug still gets its own result
    async with _client(gateway) as client:
        results = await client.create_payment_links(inputs, concurrency=3)
    assert [r.index for r in results] == list(range(6))
    assert [r.outcome for r in results] == [
        BatchOutcome.CREATED,
        BatchOutcome.INVALID,
        BatchOutcome.CREATED,
        BatchOutcome.REJECTED,
        BatchOutcome.ERROR,
        BatchOutcome.CREATED,
    ]
    assert isinstance(results[4].error, AttributeError)
    assert sorted(gateway.created) == ["B00000000", "B00000002", "B00000005"]


async def test_async_iterables_are_accepted() -> None:
    async def source() -> AsyncIterator[CheckoutRequest]:
        for i in range(50):
            yield _request(i)

    gateway = Gateway()
    async with _client(gateway) as client:
        results = await client.create_payment_links(source(), concurrency=4)
    assert len(results) == 50 and all(r.ok for r in results)


async def test_an_input_error_comes_after_the_work_in_flight() -> None:
    def source() -> Iterator[CheckoutRequest]:
        for i in range(5):
            yield _request(i)
        raise OSError("input file vanished")

    gateway = Gateway()
    seen = []
    async with _client(gateway) as client:
        with pytest.raises(OSError, match="vanished"):
            async for result in client.create_payment_links(source(), concurrency=2):
                seen.append(result.index)
    assert sorted(seen) == [0, 1, 2, 3, 4]


async def test_leaving_early_with_aclose_stops_the_workers() -> None:
    gateway = Gateway()
    async with _client(gateway) as client:
        run = client.create_payment_links((_request(i) for i in range(10_000)), concurrency=4)
        iterator = aiter(run)
        async for _ in iterator:  # type: ignore[attr-defined]
            break
        await iterator.aclose()  # type: ignore[attr-defined]
        assert asyncio.all_tasks() == {asyncio.current_task()}  # nothing left running
    assert len(gateway.created) < 100


def test_concurrency_must_be_positive() -> None:
    client = VexoraClient(merchant_no=MERCHANT, secret=SECRET, base_url="https://gw.example")
    with pytest.raises(ValueError):
        client.create_payment_links([], concurrency=0)


# -- stopping from every side: nothing left running, nothing hangs ---------------------------


class Stalled:
    """A gateway that accepts every request and never answers (until cancelled)."""

    def __init__(self) -> None:
        self.arrived = 0
        self.cancelled = 0
        self.first = asyncio.Event()

    async def __call__(self, request: HttpRequest) -> HttpResponse:
        self.arrived += 1
        self.first.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        raise AssertionError("unreachable")


def _stalled_client(gateway: Stalled) -> VexoraClient:
    return VexoraClient(
        merchant_no=MERCHANT,
        secret=SECRET,
        base_url="https://gw.example",
        transport=MemoryTransport(gateway),
        retry=RetryPolicy(attempts=1, attempt_timeout=3600, reconcile=False),
    )


def _only_me_left() -> bool:
    return asyncio.all_tasks() == {asyncio.current_task()}


def _many(count: int = 1_000_000) -> Iterator[CheckoutRequest]:
    return (_request(i) for i in range(count))


async def test_wait_for_around_the_awaited_batch_returns_and_cancels_every_worker() -> None:
    gateway = Stalled()
    async with _stalled_client(gateway) as client:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.create_payment_links(_many(), concurrency=16), 0.2)
        assert _only_me_left()
    assert gateway.arrived == 16 and gateway.cancelled == 16  # the pool, never the input


async def test_wait_for_around_the_iterated_batch_returns_and_cancels_every_worker() -> None:
    gateway = Stalled()

    async def drain() -> None:
        async for _ in client.create_payment_links(_many(), concurrency=16):
            pass

    async with _stalled_client(gateway) as client:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(drain(), 0.2)
        assert _only_me_left()
    assert gateway.arrived == gateway.cancelled == 16


async def test_breaking_out_of_async_for_without_aclose_leaves_nothing_running() -> None:
    gateway = Gateway()
    async with _client(gateway) as client:
        async for _ in client.create_payment_links(_many(), concurrency=8):
            break
        # The abandoned generator is closed by asyncio's finaliser hook on the next turns.
        for _ in range(20):
            if _only_me_left():
                break
            await asyncio.sleep(0)
        assert _only_me_left()
    assert len(gateway.created) < 100


async def test_aclose_while_every_worker_is_stuck_returns() -> None:
    gateway = Stalled()
    async with _stalled_client(gateway) as client:
        iterator = aiter(client.create_payment_links(_many(), concurrency=8))
        waiting = asyncio.ensure_future(anext(iterator))
        await gateway.first.wait()
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await iterator.aclose()  # type: ignore[attr-defined]
        assert _only_me_left()
    assert gateway.arrived == gateway.cancelled


async def test_cancelling_the_task_that_runs_a_batch_stops_it() -> None:
    gateway = Stalled()
    async with _stalled_client(gateway) as client:
        task = asyncio.ensure_future(client.create_payment_links(_many(), concurrency=32))
        await gateway.first.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert _only_me_left()
    assert gateway.arrived == gateway.cancelled == 32


async def test_an_async_input_is_closed_when_the_batch_is_cancelled() -> None:
    closed = asyncio.Event()

    async def source() -> AsyncIterator[CheckoutRequest]:
        try:
            for i in range(1_000_000):
                yield _request(i)
        finally:
            closed.set()

    gateway = Stalled()
    async with _stalled_client(gateway) as client:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.create_payment_links(source(), concurrency=4), 0.1)
        assert closed.is_set() and _only_me_left()


async def test_a_slow_reader_holds_the_workers_back() -> None:
    """Memory stays flat: with nobody reading, the pool stops after filling one channel."""
    gateway = Gateway()
    pulled = 0

    def source() -> Iterator[CheckoutRequest]:
        nonlocal pulled
        for i in range(100_000):
            pulled += 1
            yield _request(i)

    async with _client(gateway) as client:
        iterator = aiter(client.create_payment_links(source(), concurrency=8))
        await anext(iterator)
        for _ in range(200):  # let the workers run as far as they can
            await asyncio.sleep(0)
        assert pulled <= 1 + 8 + 8 + 1  # read, waiting in the channel, blocked on it, pulling
        await iterator.aclose()  # type: ignore[attr-defined]


async def test_a_server_that_goes_away_mid_batch_ends_the_batch() -> None:
    results = []
    server = SandboxThread(time_factor=0.001).start()
    stopped: asyncio.Future[None] | None = None
    try:
        # Short timeouts and settle window: the 16 calls in flight at the stop reconcile (and
        # hold every slot) for about their sum before the rest fail fast.
        policy = RetryPolicy(attempts=2, backoff=0.01, attempt_timeout=1.0, settle_window=0.5)
        async with server.client("IDR", retry=policy) as client:
            async with asyncio.timeout(60):  # a hang fails here, not in CI's timeout
                async for result in client.create_payment_links(
                    (_request(i) for i in range(3000)), concurrency=16
                ):
                    results.append(result)
                    if len(results) == 100:  # the server shuts down under the batch
                        stopped = asyncio.ensure_future(asyncio.to_thread(server.stop))
            if stopped is not None:
                await stopped
            assert _only_me_left()
    finally:
        server.stop()
    assert len(results) == 3000 and stopped is not None
    assert sorted(r.index for r in results) == list(range(3000))
    assert any(r.outcome in ("not_sent", "unknown") for r in results)


def test_ok_narrows_the_result_for_mypy(tmp_path: Path) -> None:
    snippet = Path(__file__).parent / "typing" / "batch_narrowing.py"
    wrong = tmp_path / "wrong.py"
    wrong.write_text(
        "from vexora_async.batch import BatchResult\n"
        "def url(result: BatchResult) -> str:\n"
        "    return result.link.payment_url\n"
    )
    # One mypy run for both files (each run spends seconds loading the standard library):
    # the narrowed snippet is clean, the unnarrowed use is the only error.
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(snippet), str(wrong)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    errors = [line for line in checked.stdout.splitlines() if ": error:" in line]
    assert checked.returncode == 1, checked.stdout
    assert errors and all(line.startswith(str(wrong)) for line in errors), checked.stdout
    assert any("union-attr" in line for line in errors), checked.stdout


_STOP_EVERY_WAY = """
import asyncio
from vexora_async import CheckoutRequest
from vexora_async.retry import RetryPolicy
from vexora_async.sandbox import Sandbox, TEST_MERCHANTS, run_sandbox

def requests(tag):
    return (CheckoutRequest(trade_no=f"XD{tag}{i:07d}", amount=10000 + i, username="Budi",
            mobile="081234567890", email="budi@example.com",
            notify_url="http://127.0.0.1:9/notify") for i in range(1_000_000))

async def main():
    sandbox = Sandbox(TEST_MERCHANTS, time_factor=0.001)
    sandbox.faults.delay = 30.0  # some answers are held: workers are stuck mid-request
    sandbox.faults.set_rate(0.2, seed=1, operations=("checkout",))
    async with run_sandbox(sandbox=sandbox) as served:
        policy = RetryPolicy(attempts=1, attempt_timeout=60, reconcile=False)
        async with served.client("IDR", retry=policy) as client:
            try:
                await asyncio.wait_for(client.create_payment_links(requests("A")), 0.5)
            except TimeoutError:
                print("timeout ok")
            async def drain():
                async for _ in client.create_payment_links(requests("B")):
                    pass
            try:
                await asyncio.wait_for(drain(), 0.5)
            except TimeoutError:
                print("iterated timeout ok")
            async for _ in client.create_payment_links(requests("C")):
                break
            iterator = aiter(client.create_payment_links(requests("D")))
            await anext(iterator)
            await iterator.aclose()
            task = asyncio.ensure_future(client.create_payment_links(requests("E")))
            await asyncio.sleep(0.3)  # let it get under way: the point is to cancel mid-run
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                print("cancel ok")
            for _ in range(10):
                await asyncio.sleep(0)
            left = asyncio.all_tasks() - {asyncio.current_task()}
            ours = [t for t in left if "vexora_async/batch.py" in repr(t)]
            print("left", len(ours))

asyncio.run(main())
"""


def test_every_way_of_stopping_is_clean_under_python_dev_mode() -> None:
    done = subprocess.run(
        [sys.executable, "-X", "dev", "-c", _STOP_EVERY_WAY],
        capture_output=True,
        text=True,
        timeout=120,  # a hang fails here
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:4] == [
        "timeout ok", "iterated timeout ok", "cancel ok", "left 0",
    ]  # fmt: skip
    for noise in ("Exception ignored", "Task was destroyed", "never awaited", "Unclosed",
                  "Traceback"):  # fmt: skip
        assert noise not in done.stderr, done.stderr
