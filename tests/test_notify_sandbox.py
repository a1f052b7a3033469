"""End to end: the embedded sandbox gateway delivers real signed notifications, on its retry
schedule (scaled down), to ``notification_handler`` over loopback sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal

import attrs
from aiohttp import web

from vexora_async import CheckoutRequest, VexoraClient
from vexora_async.models import Money
from vexora_async.notify import notification_handler
from vexora_async.sandbox import (
    NOTIFY_SCHEDULE,
    NotificationAttempt,
    Sandbox,
    SandboxThread,
    run_sandbox,
)
from vexora_async.sandbox.merchants import TEST_MERCHANTS

from .test_notify_support import Callback, serve_handler

TIME_FACTOR = 0.001  # the 2 s, 5 s, 10 s, 30 s retries take milliseconds
SETTLE_TIMEOUT = 30.0
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def create_order(
    client: VexoraClient, trade_no: str, notify_url: str, amount: int = 10000
) -> None:
    async with client:
        await client.create_payment_link(
            CheckoutRequest(
                trade_no=trade_no,
                amount=amount,
                username="Budi",
                mobile="081234567890",
                email="budi@example.com",
                notify_url=notify_url,
            )
        )


@attrs.define
class Shop:
    """A sandbox gateway and a merchant whose notify URL serves the handler under test."""

    sandbox: Sandbox
    notify_url: str
    secret: str

    async def create_order(self, trade_no: str, amount: int = 10000) -> None:
        await create_order(self.sandbox.client("IDR"), trade_no, self.notify_url, amount)

    async def settled(self, trade_no: str) -> list[NotificationAttempt]:
        return await self.sandbox.notifications_settled(trade_no, timeout=SETTLE_TIMEOUT)


@asynccontextmanager
async def shop(
    make_handler: Callable[[str], Handler], *, schedule: tuple[float, ...] | None = None
) -> AsyncIterator[Shop]:
    """``make_handler(secret)`` builds the notify handler for the sandbox's IDR merchant."""
    sandbox = Sandbox(
        TEST_MERCHANTS, time_factor=TIME_FACTOR, notify_schedule=schedule or NOTIFY_SCHEDULE
    )
    secret = sandbox.find_merchant("IDR").secret
    async with (
        run_sandbox(sandbox=sandbox) as running,
        serve_handler(make_handler(secret)) as notify_url,
    ):
        yield Shop(running, notify_url, secret)


def statuses(attempts: list[NotificationAttempt]) -> list[int | None]:
    return [attempt.status for attempt in attempts]


async def test_a_payment_is_processed_once_and_acknowledged() -> None:
    callback = Callback()
    async with shop(lambda secret: notification_handler(secret, callback)) as s:
        await s.create_order("E2E-PAID")
        await s.sandbox.pay(None, "E2E-PAID")
        attempts = await s.settled("E2E-PAID")
    assert statuses(attempts) == [200] and attempts[0].acknowledged
    [notification] = callback.succeeded
    assert notification.trade_no == "E2E-PAID" and notification.status.is_paid
    assert notification.amount == Decimal("10000")


async def test_lost_oks_deliver_five_times_but_process_once() -> None:
    callback = Callback()
    answers: list[tuple[int, str | None]] = []

    def lossy(secret: str) -> Handler:
        inner = notification_handler(secret, callback)

        async def handle(request: web.Request) -> web.StreamResponse:
            response = await inner(request)
            answers.append((response.status, response.text))
            if len(answers) < 5:
                # Our OK is lost on the way back: the gateway sees a failure and retries.
                return web.Response(status=502, text="bad gateway")
            return response

        return handle

    async with shop(lossy) as s:
        await s.create_order("E2E-LOST")
        await s.sandbox.pay(None, "E2E-LOST")
        attempts = await s.settled("E2E-LOST")
    assert statuses(attempts) == [502, 502, 502, 502, 200]
    assert answers == [(200, "OK")] * 5
    assert len(callback.calls) == 1


async def test_redelivered_five_times_processed_once() -> None:
    callback = Callback()
    async with shop(lambda secret: notification_handler(secret, callback)) as s:
        await s.create_order("E2E-AGAIN")
        await s.sandbox.pay(None, "E2E-AGAIN")
        await s.settled("E2E-AGAIN")
        for _ in range(4):  # the gateway sends the same result again, freshly stamped
            s.sandbox.redeliver("E2E-AGAIN")
            await s.settled("E2E-AGAIN")
        attempts = s.sandbox.ledger.notifications("E2E-AGAIN")
    assert [(a.delivery, a.status) for a in attempts] == [(n, 200) for n in range(1, 6)]
    assert all(a.acknowledged for a in attempts)
    assert len(callback.calls) == 1


async def test_a_failing_callback_is_retried_by_the_gateway_until_it_succeeds() -> None:
    callback = Callback(fail_first=3)
    async with shop(lambda secret: notification_handler(secret, callback)) as s:
        await s.create_order("E2E-RETRY")
        await s.sandbox.pay(None, "E2E-RETRY")
        attempts = await s.settled("E2E-RETRY")
    assert statuses(attempts) == [500, 500, 500, 200]
    assert [a.acknowledged for a in attempts] == [False, False, False, True]
    assert [a.attempt for a in attempts] == [1, 2, 3, 4]
    assert len(callback.calls) == 4 and len(callback.succeeded) == 1


async def test_partial_then_full_payment_are_two_notifications() -> None:
    callback = Callback()
    orders: dict[str, Money] = {}

    async def expected(trade_no: str) -> Money | None:
        return orders.get(trade_no)

    def handler(secret: str) -> Handler:
        return notification_handler(secret, callback, expected_amount=expected)

    async with shop(handler) as s:
        await s.create_order("E2E-PART", amount=20000)
        orders["E2E-PART"] = 20000
        await s.sandbox.pay(None, "E2E-PART", "partial", 5000)
        await s.settled("E2E-PART")
        await s.sandbox.pay(None, "E2E-PART", "paid")
        await s.settled("E2E-PART")
    seen = [(n.status.code, n.amount) for n in callback.succeeded]
    assert seen == [("0001", Decimal(5000)), ("0000", Decimal(20000))]


async def test_an_amount_mismatch_is_never_acknowledged_or_processed() -> None:
    callback = Callback()

    async def expected(trade_no: str) -> Money | None:
        return 99999  # the merchant created this order for another amount

    def handler(secret: str) -> Handler:
        return notification_handler(secret, callback, expected_amount=expected)

    async with shop(handler, schedule=(2, 5)) as s:  # two retries, then the gateway gives up
        await s.create_order("E2E-MISMATCH")
        await s.sandbox.pay(None, "E2E-MISMATCH")
        attempts = await s.settled("E2E-MISMATCH")
    assert statuses(attempts) == [400, 400, 400]
    assert not any(a.acknowledged for a in attempts)
    assert callback.calls == []


async def test_a_handler_with_the_wrong_secret_refuses_every_delivery() -> None:
    callback = Callback()
    async with shop(lambda _: notification_handler("WRONG", callback), schedule=(2,)) as s:
        await s.create_order("E2E-FORGED")
        await s.sandbox.pay(None, "E2E-FORGED")
        attempts = await s.settled("E2E-FORGED")
    assert statuses(attempts) == [400, 400]
    assert callback.calls == []


async def test_with_the_pytest_fixture_the_gateway_retries_until_ok(
    vexora_sandbox: SandboxThread,
) -> None:
    # The fixture's gateway runs in a thread of its own; the handler runs in this loop.
    callback = Callback(fail_first=2)
    secret = vexora_sandbox.merchant("IDR").secret
    async with serve_handler(notification_handler(secret, callback)) as notify_url:
        await create_order(vexora_sandbox.client("IDR"), "E2E-FIXTURE", notify_url)
        await vexora_sandbox.pay_async(None, "E2E-FIXTURE")
        attempts = await vexora_sandbox.notifications_settled("E2E-FIXTURE", timeout=SETTLE_TIMEOUT)
    assert statuses(attempts) == [500, 500, 200]
    assert vexora_sandbox.ledger.notifications("E2E-FIXTURE") == attempts
    assert len(callback.succeeded) == 1 and callback.succeeded[0].trade_no == "E2E-FIXTURE"
