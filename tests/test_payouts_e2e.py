"""Payouts end to end over 127.0.0.1, per built-in profile: collect, settle, pay out, receive
and verify the payout notification, query, check the balance; an insufficient balance; each
fault kind on payout requests, checked against the sandbox's payout ledger."""

from __future__ import annotations

from decimal import Decimal

import pytest

from vexora_async import OrderExists, OrderRejected
from vexora_async.outcome import Outcome, outcome_of
from vexora_async.payout_models import Balance, Payout, PayoutState
from vexora_async.sandbox import TEST_MERCHANTS, FaultKind, Sandbox, run_sandbox

from .payout_support import COLLECTED, QUICK, MerchantEndpoints, payout_request
from .test_sandbox_support import MERCHANTS, PROFILES, checkout_request


async def _collect(sandbox: Sandbox, client: object, profile: str, trade_no: str, url: str) -> None:
    link = await client.create_payment_link(  # type: ignore[attr-defined]
        checkout_request(profile, trade_no, url)
    )
    assert link.trade_no == trade_no
    await sandbox.pay(None, trade_no)
    await sandbox.notifications_settled(trade_no, timeout=10)


@pytest.mark.parametrize("profile", PROFILES)
async def test_collect_settle_pay_out_notify_query_balance(profile: str) -> None:
    merchant = MERCHANTS[profile]
    collected = COLLECTED[profile]
    async with (
        MerchantEndpoints(merchant.secret) as endpoints,
        run_sandbox(time_factor=0.001) as sandbox,
        sandbox.client(profile, retry=QUICK) as client,
    ):
        await _collect(sandbox, client, profile, f"PAY-{profile}", endpoints.payment_url)
        assert [n.trade_no for n in endpoints.payments] == [f"PAY-{profile}"]

        # Collected today: unsettled, not yet available to pay out.
        assert await client.get_balance() == Balance(Decimal(0), Decimal(0), collected)
        too_early = payout_request(profile, f"PO-{profile}-0", endpoints.payout_url)
        with pytest.raises(OrderRejected):
            await client.create_payout(too_early)

        sandbox.payouts.balances.settle()  # the next simulated day
        assert await client.get_balance() == Balance(collected, Decimal(0), Decimal(0))

        request = payout_request(profile, f"PO-{profile}-1", endpoints.payout_url)
        amount = Decimal(request.amount)
        sandbox.payouts.delay = 1e9  # settled below, once the hold has been seen
        payout = await client.create_payout(request)
        assert isinstance(payout, Payout)
        assert payout.trade_no == request.trade_no
        assert payout.status.is_processing
        held = await client.get_balance()
        assert (held.available, held.frozen) == (collected - amount, amount)
        sandbox.payouts.settle_now(request.trade_no)

        attempts = await sandbox.payouts.notifications_settled(request.trade_no, timeout=10)
        assert attempts[-1].acknowledged
        [notified] = endpoints.payouts
        assert notified.trade_no == request.trade_no
        assert notified.status.is_paid_out
        assert notified.amount == amount
        assert notified.platform_trade_no == payout.platform_trade_no

        state = await client.query_payout(request.trade_no)
        assert isinstance(state, PayoutState)
        assert state.status.is_paid_out
        assert state.amount == amount
        assert state.success_time is not None

        after = await client.get_balance()
        assert after == Balance(collected - amount, Decimal(0), Decimal(0))
        stored = sandbox.payouts.ledger.order(request.trade_no, merchant.merchant_no)
        assert stored is not None and stored.status == "0000"
        assert stored.checkout_requests == 1  # sent once
        # The refused one left nothing behind.
        assert sandbox.payouts.ledger.order(too_early.trade_no) is None
        assert len(endpoints.payments) == 1  # the payout's result never reached payments


async def test_insufficient_balance_is_a_confirmed_rejection() -> None:
    async with (
        MerchantEndpoints("TESTSECRET") as endpoints,
        run_sandbox(time_factor=0.001) as sandbox,
        sandbox.client("IDR", retry=QUICK) as client,
    ):
        sandbox.payouts.fund("0000000001", 50000)
        request = payout_request("IDR", "PO-POOR-1", endpoints.payout_url, amount=60000)
        with pytest.raises(OrderRejected) as caught:
            await client.create_payout(request)
        assert caught.value.code == "8100"
        assert outcome_of(caught.value) is Outcome.REJECTED
        assert sandbox.payouts.ledger.order("PO-POOR-1") is None
        assert await client.get_balance() == Balance(Decimal(50000), Decimal(0), Decimal(0))
        # Within the balance it goes through, under the same number.
        payout = await client.create_payout(
            payout_request("IDR", "PO-POOR-1", endpoints.payout_url, amount=50000)
        )
        assert payout.status.is_processing


async def test_failed_payout_returns_the_money_and_notifies_failure() -> None:
    async with (
        MerchantEndpoints("TESTSECRET") as endpoints,
        run_sandbox(time_factor=0.001) as sandbox,
        sandbox.client("IDR", retry=QUICK) as client,
    ):
        sandbox.payouts.fund("0000000001", 100000)
        sandbox.payouts.decide("PO-FAIL-1", "failed")
        await client.create_payout(payout_request("IDR", "PO-FAIL-1", endpoints.payout_url))
        await sandbox.payouts.notifications_settled("PO-FAIL-1", timeout=10)
        [notified] = endpoints.payouts
        assert notified.status.is_failed and not notified.status.is_paid_out
        assert (await client.query_payout("PO-FAIL-1")).status.is_failed
        assert await client.get_balance() == Balance(Decimal(100000), Decimal(0), Decimal(0))


async def test_instant_settlement_setting() -> None:
    async with (
        MerchantEndpoints("TESTSECRET") as endpoints,
        run_sandbox(time_factor=0.001) as sandbox,
        sandbox.client("IDR", retry=QUICK) as client,
    ):
        sandbox.payouts.balances.instant = True
        await _collect(sandbox, client, "IDR", "PAY-NOW-1", endpoints.payment_url)
        assert (await client.get_balance()).available == COLLECTED["IDR"]


async def test_notifications_are_refused_at_the_other_kinds_endpoint() -> None:
    """The sandbox sends each result to the URL it was given: point a payout at the payment
    endpoint and a payment at the payout endpoint, and both are refused unprocessed."""
    async with (
        MerchantEndpoints("TESTSECRET") as endpoints,
        run_sandbox(time_factor=0.001) as sandbox,
        sandbox.client("IDR", retry=QUICK) as client,
    ):
        sandbox.payouts.fund("0000000001", 100000)
        # A payout whose notifyUrl is the payment endpoint.
        await client.create_payout(payout_request("IDR", "PO-MIX-1", endpoints.payment_url))
        await sandbox.payouts.settled("PO-MIX-1", timeout=10)
        # A payment whose notifyUrl is the payout endpoint.
        mixed = checkout_request("IDR", "PAY-MIX-1", endpoints.payout_url)
        await client.create_payment_link(mixed)
        await sandbox.pay(None, "PAY-MIX-1")
        await endpoints.wait_answers(2)
        assert {(name, status) for name, status, _ in endpoints.answers[:2]} == {
            ("payments", 400),
            ("payouts", 400),
        }
        assert endpoints.payments == [] and endpoints.payouts == []


@pytest.mark.parametrize("kind", [k for k in FaultKind if "payout" in k.operations])
async def test_every_fault_kind_on_payouts(kind: FaultKind) -> None:
    async with (
        run_sandbox(TEST_MERCHANTS, time_factor=0.001) as sandbox,
        sandbox.client("IDR", retry=QUICK) as client,
    ):
        sandbox.faults.delay = 2.0  # longer than an attempt may take (QUICK: 1 s)
        sandbox.payouts.delay = 1e9  # stays processing: the hold is checked below
        sandbox.payouts.fund("0000000001", 100000)
        trade_no = f"PO-F-{list(FaultKind).index(kind)}"
        sandbox.faults.inject(trade_no, kind, operation="payout")
        request = payout_request("IDR", trade_no, "https://merchant.example/payouts")
        try:
            result: object = await client.create_payout(request)
        except (OrderExists, OrderRejected) as answered:
            result = answered
        stored = sandbox.payouts.ledger.order(trade_no, "0000000001")
        if isinstance(result, OrderRejected):
            # Refused before anything was stored (a throttle code), and confirmed absent:
            # the one case where "not paid out" is the truth.
            assert kind is FaultKind.THROTTLE_CODE and stored is None
            return
        # Whatever the fault, exactly one payout exists, and the client says so.
        assert stored is not None
        assert stored.amount == Decimal(100000)
        if isinstance(result, OrderExists):
            assert result.state.trade_no == trade_no
        else:
            assert isinstance(result, Payout)
        counts = sandbox.ledger.counts()["payout"]
        assert counts.get(kind.value, 0) + counts.get(f"fault:{kind.value}", 0) == 1
        # The money was taken once (held while processing), never twice.
        assert stored.status == "0015"
        balance = await client.get_balance()
        assert (balance.available, balance.frozen) == (0, Decimal(100000))


async def test_control_api_funds_settles_and_decides() -> None:
    import aiohttp

    async with (
        run_sandbox(time_factor=0.001) as sandbox,
        sandbox.client("KHR", retry=QUICK) as client,
        aiohttp.ClientSession() as http,
    ):
        base = f"{sandbox.base_url}/sandbox/payouts"
        fund = {"merchantNo": "0000000004", "amount": "20000"}
        async with http.post(f"{base}/fund", json=fund) as r:
            assert r.status == 200 and (await r.json())["available"] == "20000"
        decide = {"tradeNo": "PO-C-1", "outcome": "failed"}
        async with http.post(f"{base}/decide", json=decide) as r:
            assert r.status == 200
        async with http.post(f"{base}/decide", json={"tradeNo": "PO-C-2", "outcome": "maybe"}) as r:
            assert r.status == 400
        sandbox.payouts.balances.collect("0000000004", Decimal(5))
        async with http.post(f"{base}/settle", json={}) as r:
            assert r.status == 200
        assert (await client.get_balance()).available == Decimal(20005)
        await client.create_payout(payout_request("KHR", "PO-C-1", "https://m.example/po"))
        await sandbox.payouts.settled("PO-C-1", timeout=10)
        async with http.get(base, params={"merchantNo": "0000000004"}) as r:
            snap = await r.json()
        assert [(p["tradeNo"], p["status"]) for p in snap["payouts"]] == [("PO-C-1", "00029")]
        assert snap["balances"]["0000000004"]["available"] == "20005"


async def test_faults_apply_to_balance_and_payout_queries() -> None:
    from vexora_async import HTTPStatusError, OutcomeUnknown

    async with (
        run_sandbox(time_factor=0.001) as sandbox,
        sandbox.client("IDR", retry=QUICK) as client,
    ):
        sandbox.faults.set_rate(1.0, [FaultKind.UNAVAILABLE], operations=("balance",))
        with pytest.raises(HTTPStatusError):
            await client.get_balance()
        assert sandbox.ledger.counts()["balance"][FaultKind.UNAVAILABLE.value] == QUICK.attempts
        # Queries that always fail: a payout whose create answer was lost stays unknown,
        # never "rejected".
        sandbox.payouts.fund("0000000001", 100000)
        sandbox.faults.set_rate(
            1.0, [FaultKind.SERVER_ERROR_BEFORE_STORE], operations=("payout_query",)
        )
        sandbox.faults.inject("PO-Q-1", FaultKind.DROP_AFTER_STORE, operation="payout")
        request = payout_request("IDR", "PO-Q-1", "https://m.example/po")
        with pytest.raises(OutcomeUnknown):
            await client.create_payout(request)
        assert sandbox.payouts.ledger.order("PO-Q-1") is not None


async def test_no_recipient_data_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    async with (
        MerchantEndpoints("TESTSECRET") as endpoints,
        run_sandbox(time_factor=0.001) as sandbox,
        sandbox.client("IDR", retry=QUICK) as client,
    ):
        sandbox.payouts.fund("0000000001", 100000)
        sandbox.faults.inject("PO-L-1", FaultKind.SERVER_ERROR_AFTER_STORE, operation="payout")
        request = payout_request("IDR", "PO-L-1", endpoints.payout_url)
        with pytest.raises(OrderExists) as caught:
            await client.create_payout(request)
        await sandbox.payouts.notifications_settled("PO-L-1", timeout=10)
        shown = caplog.text + repr(request) + str(caught.value) + repr(caught.value.state)
        shown += repr(endpoints.payouts)
    assert "PO-L-1" in caplog.text  # the log is there, and speaks of the payout
    for secret in ("Jack", "081234567890", "jack@example.com", "5464438554636", "TESTSECRET"):
        assert secret not in shown


async def test_two_clients_racing_one_payout_pay_once() -> None:
    """A second process (another client) sending the same payout at the same moment: one
    payout exists, one client has it, the other is told it exists; never "rejected"."""
    import asyncio

    async with (
        run_sandbox(time_factor=0.001) as sandbox,
        sandbox.client("IDR", retry=QUICK) as first,
        sandbox.client("IDR", retry=QUICK) as second,
    ):
        sandbox.payouts.fund("0000000001", 1_000_000)
        sandbox.payouts.delay = 1e9
        request = payout_request("IDR", "PO-RACE-1", "https://m.example/po")
        results = await asyncio.gather(
            first.create_payout(request), second.create_payout(request), return_exceptions=True
        )
        assert sorted(type(r).__name__ for r in results) == ["OrderExists", "Payout"]
        assert len(sandbox.payouts.ledger.orders()) == 1
        assert (await first.get_balance()).frozen == Decimal(100000)  # held once
