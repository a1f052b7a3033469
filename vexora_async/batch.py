"""Many links at once: a bounded pool of workers over any (async) iterable of requests.

Each worker pulls the next request straight from the input, creates its link and hands the
result over; there is no producer task and no queue per item. The workers live in an
``asyncio.TaskGroup``, so stopping from any side (a timeout, ``break``, ``aclose()``, a
cancelled task, Ctrl+C) cancels the orders in flight and returns once they are gone.

Memory stays flat in the number of inputs: the input is read only as fast as workers take
it, and when iterating, results wait in one channel no longer than the pool. Every input
yields exactly one result, ``Created`` or ``Failed``; ``index`` says which input it answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Generator, Iterable
from typing import Any, ClassVar, Literal, TypeAlias

import attrs

from .channel import Channel
from .frozen_init import cheap_init, positional_maker
from .models import CheckoutRequest, PaymentLink
from .outcome import Outcome, outcome_of

__all__ = [
    "BatchOutcome",
    "BatchResult",
    "BatchRun",
    "Created",
    "Failed",
    "outcome_of",
    "run_batch",
]

BatchOutcome = Outcome  # the name batch code used before the outcome module existed


@cheap_init
@attrs.frozen(slots=True)
class Created:
    """An input whose link was created. ``ok`` is ``True``, so ``if result.ok:`` narrows
    ``result`` to this class (and ``result.link`` to ``PaymentLink``) for type checkers."""

    ok: ClassVar[Literal[True]] = True
    error: ClassVar[None] = None
    outcome: ClassVar[str] = BatchOutcome.CREATED

    index: int
    request: CheckoutRequest
    link: PaymentLink

    @property
    def trade_no(self) -> str:
        return self.request.trade_no


@cheap_init
@attrs.frozen(slots=True)
class Failed:
    """An input without a link: ``error`` says what happened to the order."""

    ok: ClassVar[Literal[False]] = False
    link: ClassVar[None] = None

    index: int
    request: CheckoutRequest
    error: Exception

    @property
    def outcome(self) -> Outcome:
        return outcome_of(self.error)

    @property
    def trade_no(self) -> str:
        trade_no = getattr(self.request, "trade_no", None)  # a caller's bad input has none
        return trade_no if isinstance(trade_no, str) else ""


#: One input's result; check ``.ok`` (or ``isinstance``) to tell which.
BatchResult: TypeAlias = Created | Failed

Create = Callable[[CheckoutRequest], Awaitable[PaymentLink]]
Requests = Iterable[CheckoutRequest] | AsyncIterable[CheckoutRequest]


# Built by the workers once per input: without an ``__init__`` call (see frozen_init).
_created = positional_maker(Created)
_failed = positional_maker(Failed)


class _Pool:
    """The shared state of one run's workers: the input, the next index, the first input error.

    Workers pull from the input themselves. A plain iterator needs no lock (``next()`` runs
    without an await); an async one is pulled under a lock, since two ``__anext__`` calls
    may not overlap.
    """

    def __init__(self, create: Create, requests: Requests, concurrency: int) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.create = create
        self.concurrency = concurrency
        self.index = 0
        self.exhausted = False
        self.input_error: Exception | None = None
        self._sync = None if isinstance(requests, AsyncIterable) else iter(requests)
        self._async = aiter(requests) if isinstance(requests, AsyncIterable) else None
        self._lock = asyncio.Lock()

    async def pull(self) -> tuple[int, CheckoutRequest] | None:
        """The next input and its index, or None once the input is done (or broke)."""
        if self._sync is not None:
            return self.pull_sync()
        if self.exhausted:
            return None
        assert self._async is not None
        async with self._lock:
            if self.exhausted:
                return None
            try:
                request = await anext(self._async)
            except StopAsyncIteration:
                self.exhausted = True
                return None
            except Exception as exc:  # raised to the caller after the work in flight is out
                self.exhausted = True
                self.input_error = exc
                return None
        index = self.index
        self.index += 1
        return index, request

    def pull_sync(self) -> tuple[int, CheckoutRequest] | None:
        """``pull`` for a plain iterator: no await, so no lock and no coroutine per item."""
        if self.exhausted:
            return None
        assert self._sync is not None
        try:
            request = next(self._sync)
        except StopIteration:
            self.exhausted = True
            return None
        except Exception as exc:
            self.exhausted = True
            self.input_error = exc
            return None
        index = self.index
        self.index += 1
        return index, request

    @property
    def is_sync(self) -> bool:
        return self._sync is not None

    async def one(self, index: int, request: CheckoutRequest) -> BatchResult:
        try:
            return _created(index, request, await self.create(request))
        except Exception as exc:  # every failure becomes this input's result
            return _failed(index, request, exc)

    async def close_input(self) -> None:
        """Close an async input we opened (its ``finally`` blocks run now, not at GC)."""
        closer = getattr(self._async, "aclose", None)
        if closer is not None and not self._lock.locked():
            await closer()


async def run_batch(
    create: Create,
    requests: Requests,
    *,
    concurrency: int = 64,
) -> AsyncIterator[BatchResult]:
    """Run ``create`` over ``requests`` with at most ``concurrency`` in flight; yield each
    result as it completes.

    An error reading the input itself is raised after the results already under way have
    been yielded. Leaving the loop early (``break``, ``aclose()``, cancellation) cancels the
    orders still in flight: their outcome is then unknown, so only do that when you will
    look them up (or resume a journal).
    """
    pool = _Pool(create, requests, concurrency)
    # One bounded channel from the workers to this reader: a slow reader holds the workers
    # back instead of letting results pile up.
    channel: Channel[BatchResult] = Channel(concurrency)

    create = pool.create

    async def work() -> None:
        sync = pool.is_sync  # the common case: no coroutine per pull
        while (item := pool.pull_sync() if sync else await pool.pull()) is not None:
            index, request = item
            result: BatchResult
            try:  # inline, not ``pool.one``: one coroutine less per input
                result = _created(index, request, await create(request))
            except Exception as exc:  # every failure becomes this input's result
                result = _failed(index, request, exc)
            if not channel.offer(result):  # no coroutine when there is room
                await channel.put(result)

    async def run_pool() -> None:
        async with asyncio.TaskGroup() as group:
            for _ in range(concurrency):
                group.create_task(work())

    runner = asyncio.create_task(run_pool())
    # The reader, waiting on an empty channel, learns that the pool is done.
    runner.add_done_callback(lambda _: channel.close())
    try:
        while True:
            # Drain what is there without a coroutine per result; wait only when empty.
            got, result = channel.poll()
            if not got:
                got, result = await channel.take()
                if not got:
                    break
            yield result  # type: ignore[misc]  # (got: an item)
        runner.result()  # a worker's BaseException (KeyboardInterrupt, SystemExit) surfaces
        if pool.input_error is not None:
            raise pool.input_error
    finally:
        if not runner.done():
            runner.cancel()
            # Wait for the cancelled workers even if we are being cancelled ourselves: a
            # batch that stops leaves nothing running behind it.
            await asyncio.wait([runner])
        if runner.done() and not runner.cancelled():
            runner.exception()  # retrieved: no "exception was never retrieved" at exit
        await pool.close_input()


async def collect_batch(
    create: Create, requests: Requests, *, concurrency: int = 64
) -> list[BatchResult]:
    """Every result in input order. The workers run in a TaskGroup inside the caller's task,
    so a timeout or cancellation around this call stops them all before it returns."""
    pool = _Pool(create, requests, concurrency)
    results: list[Any] = []

    async def work() -> None:
        while (item := pool.pull_sync() if pool.is_sync else await pool.pull()) is not None:
            index, request = item
            results.append(None)  # claim the slot in input order
            results[index] = await pool.one(index, request)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(concurrency):
                group.create_task(work())
    finally:
        await pool.close_input()
    if pool.input_error is not None:
        raise pool.input_error
    return results


class BatchRun:
    """What ``create_payment_links`` returns: iterate it (``async for``) to get results as
    they complete, or ``await`` it for the list of all results in input order."""

    def __init__(self, create: Create, requests: Requests, concurrency: int) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._create = create
        self._requests = requests
        self._concurrency = concurrency

    def __aiter__(self) -> AsyncIterator[BatchResult]:
        return run_batch(self._create, self._requests, concurrency=self._concurrency)

    async def collect(self) -> list[BatchResult]:
        return await collect_batch(self._create, self._requests, concurrency=self._concurrency)

    def __await__(self) -> Generator[Any, None, list[BatchResult]]:
        return self.collect().__await__()
