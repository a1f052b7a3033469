"""Many links at once: a bounded pool of workers over any (async) iterable of requests.

Memory stays flat in the number of inputs: the input is read only as fast as workers take
it, and results wait in a queue no longer than the pool. Every input yields exactly one
``BatchResult``, in completion order; ``index`` says which input it answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Generator, Iterable
from typing import Any

import attrs

from .models import CheckoutRequest, PaymentLink
from .outcome import Outcome, outcome_of

__all__ = ["BatchOutcome", "BatchResult", "BatchRun", "run_batch"]

BatchOutcome = Outcome  # the name batch code used before the outcome module existed


@attrs.frozen(slots=True)
class BatchResult:
    """One input's result: the link, or the error that says what happened to the order."""

    index: int
    request: CheckoutRequest
    link: PaymentLink | None = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        return self.link is not None

    @property
    def outcome(self) -> Outcome:
        return outcome_of(self.error)

    @property
    def trade_no(self) -> str:
        return self.request.trade_no


Create = Callable[[CheckoutRequest], Awaitable[PaymentLink]]
_DONE: Any = object()


async def run_batch(
    create: Create,
    requests: Iterable[CheckoutRequest] | AsyncIterable[CheckoutRequest],
    *,
    concurrency: int = 64,
) -> AsyncIterator[BatchResult]:
    """Run ``create`` over ``requests`` with at most ``concurrency`` in flight.

    An error reading the input itself is raised after the results already under way have
    been yielded. Leaving the loop early cancels the orders still in flight: their outcome is
    then unknown, so only do that when you will look them up (or resume a journal).
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    inbox: asyncio.Queue[Any] = asyncio.Queue(maxsize=concurrency)
    outbox: asyncio.Queue[Any] = asyncio.Queue(maxsize=concurrency)
    input_error: list[BaseException] = []

    async def produce() -> None:
        index = 0
        try:
            if isinstance(requests, AsyncIterable):
                async for request in requests:
                    await inbox.put((index, request))
                    index += 1
            else:
                for request in requests:
                    await inbox.put((index, request))
                    index += 1
        except Exception as exc:  # reported to the consumer once in-flight work is out
            input_error.append(exc)
        finally:
            for _ in range(concurrency):
                await inbox.put(_DONE)

    async def work() -> None:
        while True:
            item = await inbox.get()
            if item is _DONE:
                return
            index, request = item
            try:
                result = BatchResult(index, request, link=await create(request))
            except Exception as exc:  # every failure becomes this input's result
                result = BatchResult(index, request, error=exc)
            await outbox.put(result)

    async def supervise(workers: list[asyncio.Task[None]]) -> None:
        try:
            await asyncio.gather(*workers)
        finally:
            await outbox.put(_DONE)

    producer = asyncio.ensure_future(produce())
    workers = [asyncio.ensure_future(work()) for _ in range(concurrency)]
    supervisor = asyncio.ensure_future(supervise(workers))
    try:
        while True:
            result = await outbox.get()
            if result is _DONE:
                break
            yield result
        await producer
        await supervisor
        if input_error:
            raise input_error[0]
    finally:
        for task in (producer, supervisor, *workers):
            task.cancel()
        await asyncio.gather(producer, supervisor, *workers, return_exceptions=True)


class BatchRun:
    """What ``create_payment_links`` returns: iterate it (``async for``) to get results as
    they complete, or ``await`` it for the list of all results in input order."""

    def __init__(
        self,
        create: Create,
        requests: Iterable[CheckoutRequest] | AsyncIterable[CheckoutRequest],
        concurrency: int,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._create = create
        self._requests = requests
        self._concurrency = concurrency

    def __aiter__(self) -> AsyncIterator[BatchResult]:
        return run_batch(self._create, self._requests, concurrency=self._concurrency)

    async def collect(self) -> list[BatchResult]:
        results = [result async for result in self]
        results.sort(key=lambda r: r.index)
        return results

    def __await__(self) -> Generator[Any, None, list[BatchResult]]:
        return self.collect().__await__()
