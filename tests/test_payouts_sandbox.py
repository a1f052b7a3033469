"""The sandbox's payout endpoints with raw signed requests: what the gateway checks before a
payout exists (sign, timestamp type, amount type, fields, duplicates), queries and balance,
and the Python control side; plus the payout notification handlers' refusals."""

from __future__ import annotations

import time
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from vexora_async import ConfigurationError
from vexora_async.notify import NotificationOutcome as Outcome
from vexora_async.payout_notify import (
    TradePrefix,
    payment_notification_handler,
    payout_notification_handler,
    process_payout_notification,
)
from vexora_async.payout_rules import payout_fields
from vexora_async.sandbox import Sandbox, SandboxError, SandboxMerchant, run_sandbox
from vexora_async.signing import sign

from .payout_support import payout_request
from .test_sandbox_support import MERCHANTS, post

IDR = MERCHANTS["IDR"]
KHR = MERCHANTS["KHR"]
PATHS = {
    "IDR": ("/v1/vexora/disbursements", "/v1/vexora/queryPayOutResult", "/v1/vexora/queryBalance"),
    "PAYPRO_IDR": ("/v1/paypro/payOut", "/v1/paypro/queryPayOutResult", "/v1/paypro/queryBalance"),
}


def _stamp(as_number: bool) -> int | str:
    now = time.time_ns() // 1_000_000
    return now if as_number else str(now)


def _payout_body(profile: str, trade_no: str, **changes: Any) -> dict[str, Any]:
    merchant = MERCHANTS[profile]
    payout = merchant.profile.payout
    assert payout is not None
    fields = payout.prepare(payout_request(profile, trade_no, "https://m.example/po"))
    fields["timestamp"] = _stamp(payout.timestamp_as_number)
    fields.update(changes)
    fields = {k: v for k, v in fields.items() if v is not None}
    fields["sign"] = sign(fields, merchant.secret)
    return fields


def _signed(profile: str, **fields: Any) -> dict[str, Any]:
    fields["sign"] = sign(fields, MERCHANTS[profile].secret)
    return fields


async def test_the_gateway_checks_before_a_payout_exists() -> None:
    async with run_sandbox(time_factor=0.001) as sandbox:
        sandbox.payouts.fund(IDR.merchant_no, 1_000_000)
        url = sandbox.base_url + PATHS["IDR"][0]
        send = IDR.merchant_no

        bad_sign = {**_payout_body("IDR", "PO-R-1"), "sign": "0" * 32}
        assert (await post(url, bad_sign, merchant_no=send)).code == "1001"
        text_stamp = _payout_body("IDR", "PO-R-2", timestamp=str(time.time_ns() // 10**6))
        assert (await post(url, text_stamp, merchant_no=send)).code == "1000"
        text_amount = _payout_body("IDR", "PO-R-3", amount="100000")
        answer = await post(url, text_amount, merchant_no=send)
        assert answer.code == "1000" and "amount (not_number" in answer.json()["msg"]
        missing = _payout_body("IDR", "PO-R-4", bankCode=None, customerName=None)
        msg = (await post(url, missing, merchant_no=send)).json()["msg"]
        assert "customerName (required)" in msg and "bankCode (required)" in msg
        assert "Jack" not in msg  # names fields and rules, never values
        # A payout path the merchant's profile does not serve: unknown merchant.
        paypro = sandbox.base_url + PATHS["PAYPRO_IDR"][0]
        assert (await post(paypro, _payout_body("IDR", "PO-R-5"), merchant_no=send)).code == "1002"

        assert (await post(url, _payout_body("IDR", "PO-R-6"), merchant_no=send)).code == "0000"
        again = await post(url, _payout_body("IDR", "PO-R-6"), merchant_no=send)
        assert again.code == "8000"  # one payout per tradeNo
        assert [o.trade_no for o in sandbox.payouts.ledger.orders()] == ["PO-R-6"]
        assert sandbox.payouts.ledger.checkout_requests("PO-R-6") == 2
        counts = sandbox.ledger.counts()["payout"]
        assert counts["stored"] == 1 and counts["duplicate"] == 1 and counts["rejected"] == 5


async def test_payout_query_and_balance_answers() -> None:
    async with run_sandbox(time_factor=0.001) as sandbox:
        query = sandbox.base_url + PATHS["IDR"][1]
        balance = sandbox.base_url + PATHS["IDR"][2]
        send = IDR.merchant_no
        stamp = _stamp(True)
        assert (await post(query, _signed("IDR", timestamp=stamp), merchant_no=send)).code == "1000"
        unknown = _signed("IDR", tradeNo="PO-NONE", timestamp=stamp)
        assert (await post(query, unknown, merchant_no=send)).code == "8000"
        bad = _signed("IDR", timestamp="soon")
        assert (await post(balance, bad, merchant_no=send)).code == "1000"
        sandbox.payouts.fund(send, "1500.5")
        data = (await post(balance, _signed("IDR", timestamp=stamp), merchant_no=send)).json()
        assert data["data"] == {
            "availableAmount": "1500.5", "freezeAmount": 0, "unsettledAmount": 0,
        }  # fmt: skip
        # PHP pages misspell the key; Cambodia writes text.
        php = MERCHANTS["PHP"]
        answer = await post(
            balance, _signed("PHP", timestamp=_stamp(True)), merchant_no=php.merchant_no
        )
        assert set(answer.json()["data"]) == {"availablAmount", "freezeAmount", "unsettledAmount"}


async def test_a_profile_without_payouts_serves_none() -> None:
    custom = MERCHANTS["IDR"].profile.with_changes(name="NOPAY", payout=None)
    merchant = SandboxMerchant("0000000099", "S", custom)
    async with run_sandbox([merchant], time_factor=0.001) as sandbox:
        url = sandbox.base_url + PATHS["IDR"][0]
        body = _payout_body("IDR", "PO-N-1")
        assert (await post(url, body, merchant_no=merchant.merchant_no)).code == "1002"


async def test_sandbox_controls() -> None:
    sandbox = Sandbox([IDR], time_factor=0.001)
    with pytest.raises(SandboxError):
        sandbox.payouts.decide("PO-1", "maybe")  # type: ignore[arg-type]
    with pytest.raises(SandboxError, match="no payout"):
        sandbox.payouts.settle_now("PO-1")
    with pytest.raises(SandboxError, match="no payout"):
        await sandbox.payouts.settled("PO-1")
    assert sandbox.payouts.snapshot(IDR.merchant_no)["payouts"] == []
    async with run_sandbox(sandbox=sandbox) as served, served.client("IDR") as client:
        served.payouts.fund(IDR.merchant_no, 110000)
        served.payouts.delay = 1e9
        await client.create_payout(payout_request("IDR", "PO-S-1", "https://m.example/po"))
        served.payouts.settle_now("PO-S-1")
        with pytest.raises(SandboxError, match="settled already"):
            served.payouts.settle_now("PO-S-1")
        # Not a loopback notify URL: the delivery is skipped, and recorded as such.
        attempts = await served.payouts.notifications_settled("PO-S-1", timeout=10)
        assert attempts[0].skipped
        await client.create_payout(payout_request("IDR", "PO-S-2", "https://m.example/po",
                                                  amount=10000))  # fmt: skip
        assert served.payouts.balance(IDR.merchant_no).available == 0
    # Stopped with a settlement pending: it stays processing (the timer was cancelled).
    assert served.payouts.ledger.order("PO-S-2").status == "0015"  # type: ignore[union-attr]


def test_payout_fields_render_extra() -> None:
    request = payout_request("IDR", "PO-E-1", "https://m.example/po", extra={"purpose": "refund"})
    assert payout_fields(request)["purpose"] == "refund"


# -- the handlers' refusals -----------------------------------------------------------------


def _note(trade_no: str, secret: str = "TESTSECRET") -> bytes:
    import json

    fields: dict[str, Any] = {"tradeNo": trade_no, "amount": "100", "status": "0000",
                              "timestamp": "1715941383720"}  # fmt: skip
    fields["sign"] = sign(fields, secret)
    return json.dumps(fields).encode()


async def _call(handler: Any, body: bytes) -> web.Response:
    request = make_mocked_request("POST", "/", payload=None)

    async def read() -> bytes:
        return body

    request.read = read  # type: ignore[method-assign]
    response: web.Response = await handler(request)
    return response


async def test_handlers_answer_each_kind_only() -> None:
    got: list[str] = []

    async def on_any(notification: Any) -> None:
        got.append(notification.trade_no)

    kinds = TradePrefix("PO-")
    payouts = payout_notification_handler("TESTSECRET", on_any, owns_payout=kinds.owns_payout)
    payments = payment_notification_handler("TESTSECRET", on_any, owns_payment=kinds.owns_payment)
    answers = [
        (await _call(payouts, _note("PO-1"))).status,
        (await _call(payouts, _note("ORDER-1"))).status,
        (await _call(payments, _note("ORDER-1"))).status,
        (await _call(payments, _note("PO-1"))).status,
        (await _call(payouts, b"not json")).status,
        (await _call(payouts, _note("PO-2", "WRONG"))).status,
    ]
    assert answers == [200, 400, 200, 400, 400, 400]
    assert got == ["PO-1", "ORDER-1"]


async def test_a_failing_lookup_is_a_500_and_bad_settings_raise() -> None:
    async def broken(trade_no: str) -> bool:
        raise RuntimeError("database down")

    async def on_payout(notification: Any) -> None:
        raise AssertionError("must not run")

    result = await process_payout_notification(
        _note("PO-1"), "TESTSECRET", on_payout, owns_payout=broken, store=None
    )
    assert result.outcome is Outcome.FAILED and result.http_status == 500
    with pytest.raises(ConfigurationError):
        TradePrefix("")
    with pytest.raises(ConfigurationError):
        payout_notification_handler("", on_payout, owns_payout=broken)
    with pytest.raises(ConfigurationError):
        payout_notification_handler("S", on_payout, owns_payout=broken, extra_keys="bonus")
