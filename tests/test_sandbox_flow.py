"""End to end over 127.0.0.1: create a link with the client, open the cashier page, pay,
receive the signed notification, query the result."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from vexora_async.sandbox import NOTIFY_SCHEDULE, TEST_MERCHANTS, Sandbox, run_sandbox

from .test_sandbox_support import (
    MERCHANTS,
    PROFILES,
    amount_text,
    checkout_request,
    get,
    merchant_setup,
    post_form,
)

SUCCESS_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
HEX32 = re.compile(r"[0-9a-f]{32}")

# The answer's spelling of the cashier URL and the status text, per gateway system (SPEC §5).
# How the cashier page writes each profile's sample amount.
SHOWN = {
    "IDR": "Rp\u00a0150.000",
    "PAYPRO_IDR": "Rp\u00a0150.000",
    "PHP": "\u20b1300",
    "KHR": "KHR\u00a012,000",
    "USD": "$12.50",
}
SHAPES = {
    "IDR": ("paymentUrl", "desc", "Paying"),
    "PAYPRO_IDR": ("paymentUrl", "desc", "Paying"),
    "PHP": ("paymentLink", "desc", "Paying"),
    "KHR": ("paymentLink", "message", "Processing"),
    "USD": ("paymentLink", "message", "Processing"),
}


@pytest.mark.parametrize("profile", PROFILES)
async def test_create_open_pay_notify_query(profile: str) -> None:
    merchant = MERCHANTS[profile]
    trade_no = f"E2E-{profile}-1"
    # The merchant's endpoint refuses the first notification, then acknowledges.
    async with merchant_setup(profile, [(200, "busy")]) as (receiver, sandbox, client):
        request = checkout_request(profile, trade_no, receiver.url)
        link = await client.create_payment_link(request)

        assert link.trade_no == trade_no
        assert link.status.is_processing
        assert link.payment_url == f"{sandbox.base_url}/cashier/{link.platform_trade_no}"
        url_field, text_field, text = SHAPES[profile]
        assert link.raw[url_field] == link.payment_url
        assert link.raw[text_field] == text
        assert ("qrString" in link.raw) is (url_field == "paymentUrl")
        assert ("payInfo" in link.raw) is (request.way_code == "KHQR")

        page = await get(link.payment_url)
        html = page.body.decode()
        assert page.status == 200
        assert page.headers["Content-Type"].startswith("text/html")
        assert trade_no in html
        assert merchant.merchant_no in html
        assert f'id="amount">{SHOWN[profile]}<' in html
        assert request.way_code in html

        paid = await post_form(link.payment_url, {"outcome": "paid"})
        assert paid.status == 303
        attempts = await sandbox.notifications_settled(trade_no, timeout=10)

        # Retried once after "busy", then stopped: the OK ended the delivery.
        assert [(a.attempt, a.acknowledged) for a in attempts] == [(1, False), (2, True)]
        assert attempts[1].scheduled_delay == pytest.approx(NOTIFY_SCHEDULE[0] * 0.001)
        assert len(receiver.received) == 2
        assert receiver.verified == [True, True]
        assert sandbox.ledger.notifications(trade_no) == attempts

        body = receiver.received[-1]
        assert body["tradeNo"] == trade_no
        assert body["platFormTradeNo"] == link.platform_trade_no
        assert body["amount"] == amount_text(request.amount, profile)
        assert body["status"] == "0000"
        assert SUCCESS_TIME.fullmatch(body["successTime"])
        assert body["channelCode"] == request.channel_code
        assert body["wayCode"] == request.way_code
        assert isinstance(body["timestamp"], int if profile == "PAYPRO_IDR" else str)
        assert HEX32.fullmatch(body["sign"])

        state = await client.query_payment(trade_no)
        assert state.status.is_paid
        assert state.platform_trade_no == link.platform_trade_no
        assert state.amount == Decimal(request.amount)
        assert state.pay_amount == Decimal(request.amount)
        assert state.success_time == body["successTime"]

        after = (await get(link.payment_url)).body.decode()
        assert 'data-status="0000"' in after
        assert "Payment successful" in after
        assert "<form" not in after  # a paid order offers nothing more to pay


async def test_partial_then_full_payment_notifies_each_time() -> None:
    merchant = MERCHANTS["KHR"]
    async with merchant_setup("KHR") as (receiver, sandbox, client):
        await client.create_payment_link(checkout_request("KHR", "PART-1", receiver.url))

        order = await sandbox.pay(merchant.merchant_no, "PART-1", "partial")
        first = await sandbox.notifications_settled("PART-1", timeout=10)
        state = await client.query_payment("PART-1")
        assert order.status == "0001"
        assert state.status.is_partially_paid
        assert state.pay_amount == Decimal(6000)  # half of 12000 by default
        assert receiver.received[-1]["amount"] == "6000"
        assert receiver.received[-1]["status"] == "0001"

        await sandbox.pay(None, "PART-1", "paid")
        second = await sandbox.notifications_settled("PART-1", timeout=10)
        assert receiver.received[-1]["amount"] == "12000"
        assert receiver.received[-1]["status"] == "0000"
        assert [(a.delivery, a.attempt) for a in first + second] == [(1, 1), (2, 1)]
        assert (await client.query_payment("PART-1")).status.is_paid


async def test_failed_payment_from_the_cashier() -> None:
    async with merchant_setup("IDR") as (receiver, sandbox, client):
        link = await client.create_payment_link(checkout_request("IDR", "FAIL-1", receiver.url))
        assert (await post_form(link.payment_url, {"outcome": "failed"})).status == 303
        await sandbox.notifications_settled("FAIL-1", timeout=10)

        body = receiver.received[0]
        assert body["status"] == "00029"
        assert body["amount"] == "0"
        assert "successTime" not in body
        state = await client.query_payment("FAIL-1")
        assert state.status.is_failed
        assert state.success_time is None


async def test_unacknowledged_notification_follows_the_whole_schedule() -> None:
    factor = 0.00001  # 2 s ... 3 h become 20 us ... 108 ms
    not_acks = [(200, "FAIL"), (500, "OK"), (200, "ok"), (200, "OK\n")]
    served = Sandbox(TEST_MERCHANTS, time_factor=factor)
    async with merchant_setup("IDR", not_acks, (503, ""), sandbox=served) as (
        receiver, sandbox, client,
    ):
        await client.create_payment_link(checkout_request("IDR", "RETRY-1", receiver.url))
        await sandbox.pay(None, "RETRY-1")
        attempts = await sandbox.notifications_settled("RETRY-1", timeout=20)

    assert [a.attempt for a in attempts] == list(range(1, 10))  # the first try and 8 retries
    assert [a.scheduled_delay for a in attempts] == pytest.approx(
        [0.0, *(seconds * factor for seconds in NOTIFY_SCHEDULE)]
    )
    assert not any(a.acknowledged for a in attempts)
    assert [a.status for a in attempts] == [200, 500, 200, 200] + [503] * 5
    assert len(receiver.received) == 9
    assert all(receiver.verified)


async def test_retry_waits_are_real_and_scaled() -> None:
    served = Sandbox(TEST_MERCHANTS, notify_schedule=(0.5, 1.0), time_factor=0.1)
    async with merchant_setup("IDR", [(500, ""), (500, "")], sandbox=served) as (
        receiver, sandbox, client,
    ):
        await client.create_payment_link(checkout_request("IDR", "WAIT-1", receiver.url))
        await sandbox.pay(None, "WAIT-1")
        attempts = await sandbox.notifications_settled("WAIT-1", timeout=10)

    assert [a.acknowledged for a in attempts] == [False, False, True]
    gaps = [b - a for a, b in zip(receiver.arrivals, receiver.arrivals[1:], strict=False)]
    # asyncio may wake up to one clock tick early; 10 % of slack covers it.
    assert gaps[0] >= 0.05 * 0.9
    assert gaps[1] >= 0.1 * 0.9


async def test_notifications_to_other_hosts_are_skipped_not_sent() -> None:
    async with run_sandbox(time_factor=0.001) as sandbox, sandbox.client("IDR") as client:
        # The seed pages' own notifyUrl: must never be called from a test run.
        await client.create_payment_link(
            checkout_request("IDR", "EXT-1", "https://google.com")
        )
        await sandbox.pay(None, "EXT-1")
        attempts = await sandbox.notifications_settled("EXT-1", timeout=10)
        snapshot = sandbox.ledger.snapshot(trade_no="EXT-1")

    assert len(attempts) == 1
    assert attempts[0].skipped
    assert attempts[0].status is None
    assert not attempts[0].acknowledged
    assert snapshot["notifications"][0]["skipped"] is True
    assert snapshot["orders"][0]["status"] == "0000"
