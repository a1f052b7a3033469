"""create_payment_links: a bounded pool, one result per input, nothing swallowed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from vexora_async import CheckoutRequest, HttpRequest, HttpResponse, MemoryTransport, VexoraClient
from vexora_async.batch import BatchOutcome
from vexora_async.retry import RetryPolicy

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
    assert max(tasks_seen) <= 8 + 3  # workers, producer, supervisor, the test: not one per input


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


async def test_leaving_early_stops_the_workers() -> None:
    gateway = Gateway()
    async with _client(gateway) as client:
        run = client.create_payment_links((_request(i) for i in range(10_000)), concurrency=4)
        iterator = aiter(run)
        async for _ in iterator:  # type: ignore[attr-defined]
            break
        await iterator.aclose()  # type: ignore[attr-defined]
    assert len(asyncio.all_tasks()) == 1  # only this test's task remains
    assert len(gateway.created) < 100


def test_concurrency_must_be_positive() -> None:
    client = VexoraClient(merchant_no=MERCHANT, secret=SECRET, base_url="https://gw.example")
    with pytest.raises(ValueError):
        client.create_payment_links([], concurrency=0)
