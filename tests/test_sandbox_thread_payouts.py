"""``SandboxThread.payouts`` (and so the ``vexora_sandbox`` fixture's): the sandbox's payout
side from the caller's thread and from other event loops, while the sandbox's own loop
runs in its thread."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from vexora_async import OrderRejected
from vexora_async.payout_models import Payout
from vexora_async.sandbox import NotifyRecorder, SandboxError, SandboxThread, ThreadedPayouts

from .payout_support import QUICK, payout_request

IDR = "0000000001"


def _create(sandbox: SandboxThread, trade_no: str, notify_url: str) -> Payout:
    """One IDR payout of 100,000, created from a loop of this thread's own."""

    async def create() -> Payout:
        async with sandbox.client("IDR", retry=QUICK) as client:
            return await client.create_payout(payout_request("IDR", trade_no, notify_url))

    return asyncio.run(create())


def test_fund_pay_out_and_wait_from_the_callers_thread(
    vexora_sandbox: SandboxThread, notify_recorder: NotifyRecorder
) -> None:
    payouts = vexora_sandbox.payouts
    assert isinstance(payouts, ThreadedPayouts)
    assert payouts.balance(IDR).available == 0  # merchants start with nothing to pay out
    with pytest.raises(OrderRejected) as refused:
        _create(vexora_sandbox, "PO-POOR", notify_recorder.url)
    assert refused.value.code == "8100" and payouts.ledger.order("PO-POOR") is None

    assert payouts.fund(IDR, 250000).available == Decimal(250000)
    created = _create(vexora_sandbox, "PO-1", notify_recorder.url)
    assert created.status.is_processing
    settled = payouts.wait_settled("PO-1")  # blocks on the sandbox's loop's own event
    assert settled.status == "0000" and settled.paid_amount == Decimal(100000)
    [attempt] = payouts.wait_for_notifications("PO-1")
    assert attempt.acknowledged
    [body] = notify_recorder.received
    assert (body["tradeNo"], body["status"]) == ("PO-1", "0000")
    balance = payouts.balance(IDR)
    assert (balance.available, balance.frozen) == (Decimal(150000), Decimal(0))
    assert payouts.snapshot(IDR)["balances"][IDR]["available"] == "150000"


def test_decide_and_settle_now_run_on_the_sandboxs_loop(
    vexora_sandbox: SandboxThread, notify_recorder: NotifyRecorder
) -> None:
    payouts = vexora_sandbox.payouts
    payouts.fund(IDR, 100000)
    payouts.delay = 3600.0  # an hour (times the time factor: 3.6 s): settle_now must end it
    assert vexora_sandbox.sandbox.payouts.delay == 3600.0
    payouts.decide("PO-FAIL", "failed")  # before it arrives
    _create(vexora_sandbox, "PO-FAIL", notify_recorder.url)
    assert payouts.balance(IDR).frozen == Decimal(100000)
    order = payouts.settle_now("PO-FAIL")  # cancels the loop's timer and settles at once
    assert order.status == "00029"
    assert payouts.balance(IDR).available == Decimal(100000)  # a failed payout gives it back
    with pytest.raises(SandboxError, match="settled already"):
        payouts.settle_now("PO-FAIL")
    with pytest.raises(SandboxError):
        payouts.outcome = "maybe"  # type: ignore[assignment]


async def test_awaited_from_another_event_loop(
    vexora_sandbox: SandboxThread, notify_recorder: NotifyRecorder
) -> None:
    # This test's loop is not the sandbox's: the waits run there and are awaited here.
    payouts = vexora_sandbox.payouts
    payouts.fund(IDR, 100000)
    payouts.delay = 200.0  # 0.2 s at the time factor: the wait below really waits
    async with vexora_sandbox.client("IDR", retry=QUICK) as client:
        await client.create_payout(payout_request("IDR", "PO-ASYNC", notify_recorder.url))
    assert payouts.ledger.order("PO-ASYNC").status == "0015"  # type: ignore[union-attr]
    order = await payouts.settled("PO-ASYNC")
    assert order.status == "0000"
    [attempt] = await payouts.notifications_settled("PO-ASYNC")
    assert attempt.acknowledged
    assert payouts.ledger.order("PO-ASYNC") is order


def test_funding_from_many_threads_while_the_loop_pays_out(
    vexora_sandbox: SandboxThread, notify_recorder: NotifyRecorder
) -> None:
    # Top-ups from 8 threads race the loop's holds and releases: no amount is lost.
    payouts = vexora_sandbox.payouts
    payouts.fund(IDR, 100000 * 6)
    start = threading.Barrier(9)

    def top_up(_: int) -> None:
        start.wait()
        for _ in range(50):
            payouts.fund(IDR, 1000)

    async def pay_out() -> None:
        async with vexora_sandbox.client("IDR", retry=QUICK) as client:
            start.wait()
            await asyncio.gather(*(
                client.create_payout(payout_request("IDR", f"PO-RACE-{i}", notify_recorder.url))
                for i in range(6)
            ))  # fmt: skip

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(top_up, i) for i in range(8)]
        asyncio.run(pay_out())
        for future in futures:
            future.result()
    for i in range(6):
        payouts.wait_settled(f"PO-RACE-{i}")
    balance = payouts.balance(IDR)
    assert balance.frozen == 0
    assert balance.available == Decimal(8 * 50 * 1000)  # everything paid out but the top-ups
