"""The aiohttp transport keeps each attempt's time itself (``transports/deadlines.py``).

The claims: an attempt that runs out of time is a ``RequestTimeout``, at its timeout or
(for timeouts of 10 s or more) at most a second earlier, never later; a cancellation the
caller asked for stays a cancellation, even when the deadline expires at the same moment;
an enclosing ``asyncio.timeout`` keeps working; and nothing is left behind: no pending
cancellation on the task, no deadline registered, whatever way the attempt ended.

Long timeouts are tested without waiting for them: the loop's clock is moved forward.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from unittest import mock

import pytest
from aiohttp import web
from hypothesis import given, settings, strategies as st

from vexora_async import ConnectError, HttpRequest, RequestTimeout, Timeouts
from vexora_async.transports.aiohttp import AiohttpTransport
from vexora_async.transports.deadlines import SHARED_FROM, AttemptDeadlines

from .helpers import serving


class Gateway:
    """A loopback server whose answers the test releases one by one."""

    def __init__(self) -> None:
        self.arrived: asyncio.Queue[asyncio.Future[None]] = asyncio.Queue()

    async def held(self, request: web.Request) -> web.Response:
        answer: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self.arrived.put(answer)
        await answer
        return web.Response(text='{"code":"0000","msg":"ok"}')


    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/held", self.held)
        return app


@pytest.fixture
async def gateway() -> AsyncIterator[tuple[str, Gateway]]:
    gate = Gateway()
    async with serving(gate.app()) as base:
        yield base + "/held", gate


@pytest.fixture
async def transport() -> AsyncIterator[AiohttpTransport]:
    transport = AiohttpTransport()
    yield transport
    await transport.aclose()


@pytest.fixture
async def forward(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Move the running loop's clock forward by the given seconds."""
    loop = asyncio.get_running_loop()
    real = loop.time
    offset = [0.0]
    monkeypatch.setattr(loop, "time", lambda: real() + offset[0])

    def forward(seconds: float) -> None:
        offset[0] += seconds

    return forward


def _deadlines(transport: AiohttpTransport) -> AttemptDeadlines:
    return transport._deadlines


async def _send(transport: AiohttpTransport, url: str, timeout: float) -> object:
    return await transport.send(HttpRequest("POST", url, {}, b"{}"), timeout=timeout)


async def test_a_long_timeout_ends_the_attempt_in_its_second_never_late(
    gateway: tuple[str, Gateway], forward: Callable[[float], None], transport: AiohttpTransport
) -> None:
    # Never after its timeout: the retry link gives the last attempt exactly the call's
    # time left, so an attempt that ran over would overrun the call's deadline.
    url, gate = gateway
    loop = asyncio.get_running_loop()
    started = loop.time()
    attempt = asyncio.create_task(_send(transport, url, 15.0))
    answer = await gate.arrived.get()  # the request reached the gateway
    (due,) = _deadlines(transport)._due
    assert started + 15.0 - 1.0 <= due <= loop.time() + 15.0
    forward(due - loop.time() - 0.05)  # just before it is due
    await asyncio.sleep(0)
    assert not attempt.done()
    forward(0.05)
    with pytest.raises(RequestTimeout):
        await attempt
    answer.set_result(None)
    assert len(_deadlines(transport)) == 0
    assert attempt.cancelling() == 0


@given(
    now=st.floats(min_value=0, max_value=1e7, allow_nan=False),
    seconds=st.floats(min_value=SHARED_FROM, max_value=1e4, allow_nan=False),
)
def test_a_shared_due_time_is_never_after_the_timeout(now: float, seconds: float) -> None:
    scheduled: list[float] = []

    class Clock:
        def time(self) -> float:
            return now

        def call_at(self, when: float, *args: object) -> None:
            scheduled.append(when)

    deadlines = AttemptDeadlines(Clock())  # type: ignore[arg-type]
    task = mock.Mock(cancelling=lambda: 0)
    deadlines.start(task, seconds)
    (due,) = scheduled
    assert now + seconds - 1.0 <= due <= now + seconds


async def test_attempts_due_in_one_second_share_one_timer(
    gateway: tuple[str, Gateway], forward: Callable[[float], None], transport: AiohttpTransport
) -> None:
    url, gate = gateway
    attempts = [asyncio.create_task(_send(transport, url, 20.0)) for _ in range(5)]
    answers = [await gate.arrived.get() for _ in attempts]
    deadlines = _deadlines(transport)
    assert len(deadlines) == 5
    assert len(deadlines._due) <= 2  # at most a second boundary between two starts
    forward(21.0)
    outcomes = await asyncio.gather(*attempts, return_exceptions=True)
    assert all(isinstance(outcome, RequestTimeout) for outcome in outcomes)
    assert len(deadlines) == 0 and not deadlines._due
    for answer in answers:
        answer.set_result(None)


async def test_an_answer_in_time_leaves_nothing_behind(
    gateway: tuple[str, Gateway], transport: AiohttpTransport
) -> None:
    url, gate = gateway
    attempt = asyncio.create_task(_send(transport, url, 30.0))
    (await gate.arrived.get()).set_result(None)
    response = await attempt
    assert response.status == 200  # type: ignore[attr-defined]
    assert len(_deadlines(transport)) == 0
    assert attempt.cancelling() == 0


@pytest.mark.parametrize("timeout", [0.5, 30.0], ids=["own-timer", "shared-timer"])
async def test_the_callers_cancellation_stays_a_cancellation(
    gateway: tuple[str, Gateway],
    forward: Callable[[float], None],
    transport: AiohttpTransport,
    timeout: float,
) -> None:
    """Cancelled by its caller at the moment its deadline expires: still a cancellation
    (a batch stopped by Ctrl+C must stop, not count the order as a timeout)."""
    url, gate = gateway
    attempt = asyncio.create_task(_send(transport, url, timeout))
    answer = await gate.arrived.get()
    attempt.cancel()
    forward(timeout + 1.0)  # the deadline's timer is due in the same loop turn
    with pytest.raises(asyncio.CancelledError):
        await attempt
    assert attempt.cancelled()
    assert len(_deadlines(transport)) == 0
    answer.set_result(None)


async def test_an_enclosing_timeout_is_the_callers_not_the_attempts(
    gateway: tuple[str, Gateway], transport: AiohttpTransport
) -> None:
    url, gate = gateway
    with pytest.raises(TimeoutError) as caught:
        async with asyncio.timeout(0.05):
            await _send(transport, url, 30.0)
    assert not isinstance(caught.value, RequestTimeout)
    assert len(_deadlines(transport)) == 0
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0
    # ... and an attempt timeout inside a caller's longer timeout leaves it running.
    async with asyncio.timeout(30.0):
        with pytest.raises(RequestTimeout):
            await _send(transport, url, 0.05)
        assert task.cancelling() == 0  # the attempt took back its own cancellation
    (await gate.arrived.get()).set_result(None)
    (await gate.arrived.get()).set_result(None)


def test_only_long_timeouts_are_rounded() -> None:
    # Shorter attempts keep their exact time; a shared one ends at most a tenth of its
    # time early (the default attempt timeout, 15 s, shares).
    assert SHARED_FROM == 10.0


@settings(max_examples=25, deadline=None)
@given(
    plan=st.lists(
        st.tuples(
            st.sampled_from(["answer", "expire", "cancel", "both"]),
            st.sampled_from([2.0, 9.9, 10.0, 17.3]),
        ),
        min_size=1,
        max_size=12,
    ),
    seed=st.integers(0, 2**16),
)
def test_every_ending_is_told_truthfully_and_leaves_nothing(
    plan: list[tuple[str, float]], seed: int
) -> None:
    """Many attempts at once, each ending its own way, in a random order: an answered one
    returns, an expired one is a RequestTimeout, a cancelled one (even as it expires) is
    cancelled, and afterwards no deadline and no cancellation is left."""

    async def scenario() -> None:
        gate = Gateway()
        async with serving(gate.app()) as base:
            await attempts_end_truthfully(base + "/held", gate)

    async def attempts_end_truthfully(url: str, gate: Gateway) -> None:
        loop = asyncio.get_running_loop()
        real = loop.time
        offset = [0.0]
        loop.time = lambda: real() + offset[0]  # type: ignore[method-assign]
        transport = AiohttpTransport(limit=len(plan))
        try:
            attempts = []
            answers = []
            for _, timeout in plan:
                attempts.append(asyncio.create_task(_send(transport, url, timeout)))
                answers.append(await gate.arrived.get())
            order = list(range(len(plan)))
            random.Random(seed).shuffle(order)
            for index in order:
                ending, timeout = plan[index]
                if ending == "answer":
                    answers[index].set_result(None)
                    await asyncio.wait([attempts[index]])
            for index in order:
                if plan[index][0] in ("cancel", "both"):
                    attempts[index].cancel()
            if any(ending != "answer" for ending, _ in plan):
                offset[0] += 30.0  # every deadline is due now
            outcomes = await asyncio.gather(*attempts, return_exceptions=True)
            for (ending, _), outcome, attempt in zip(plan, outcomes, attempts, strict=True):
                if ending == "answer":
                    assert getattr(outcome, "status", None) == 200
                elif ending == "expire":
                    assert isinstance(outcome, RequestTimeout)
                else:
                    assert isinstance(outcome, asyncio.CancelledError)
                if not attempt.cancelled():
                    assert attempt.cancelling() == 0
            # (a second's entry stays, empty, until its timer fires)
            assert len(_deadlines(transport)) == 0
            for answer in answers:
                if not answer.done():
                    answer.set_result(None)
        finally:
            loop.time = real  # type: ignore[method-assign]
            await transport.aclose()

    asyncio.run(scenario())


def test_attempt_deadlines_hold_on_uvloop() -> None:
    """uvloop keeps its own clock: an attempt on it still ends as a RequestTimeout, with
    nothing left behind (the CLI runs on uvloop when it is installed)."""
    uvloop = pytest.importorskip("uvloop")

    async def scenario() -> None:
        gate = Gateway()
        async with serving(gate.app()) as base:
            transport = AiohttpTransport()
            try:
                with pytest.raises(RequestTimeout):
                    await _send(transport, base + "/held", 0.05)
                task = asyncio.current_task()
                assert task is not None and task.cancelling() == 0
                assert len(_deadlines(transport)) == 0
                (await gate.arrived.get()).set_result(None)
            finally:
                await transport.aclose()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(scenario())


async def test_waiting_for_a_pooled_connection_is_told_as_documented(
    gateway: tuple[str, Gateway],
) -> None:
    """The README's words on a pool wait: past ``Timeouts.connect`` it is a ConnectError
    (never sent); past a *shorter* attempt timeout it is a RequestTimeout (maybe sent)."""
    url, gate = gateway
    transport = AiohttpTransport(limit=1, timeouts=Timeouts(connect=0.1))
    try:
        holder = asyncio.create_task(_send(transport, url, 30.0))
        held = await gate.arrived.get()  # the only connection is busy from now on
        with pytest.raises(ConnectError):
            await _send(transport, url, 30.0)  # the connect timeout comes first
        transport_short = AiohttpTransport(limit=1, timeouts=Timeouts(connect=30.0))
        try:
            other = asyncio.create_task(_send(transport_short, url, 30.0))
            other_held = await gate.arrived.get()
            with pytest.raises(RequestTimeout):
                await _send(transport_short, url, 0.1)  # the attempt's time comes first
            other_held.set_result(None)
            await other
        finally:
            await transport_short.aclose()
        held.set_result(None)
        await holder
        assert len(_deadlines(transport)) == 0
    finally:
        await transport.aclose()
