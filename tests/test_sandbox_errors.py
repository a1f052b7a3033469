"""Gateway-style refusals, over HTTP: raw requests, and the client's reading of them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from vexora_async import OrderExists, OrderNotFound, OrderRejected, VexoraClient
from vexora_async.errors import AuthenticationError
from vexora_async.regions import VEXORA_IDR
from vexora_async.retry import RetryPolicy
from vexora_async.rules import AmountRule
from vexora_async.sandbox import Sandbox, run_sandbox
from vexora_async.signing import sign
from vexora_async.wire import dumps

from .test_sandbox_support import (
    MERCHANTS,
    checkout_request,
    post,
    query_body,
    wire_body,
)

IDR = MERCHANTS["IDR"]
CHECKOUT = "/v1/vexora/checkout"
QUERY = "/v1/vexora/queryPayInResult"


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with run_sandbox(time_factor=0.001) as served:
        yield served


async def test_accepted_envelope_shape(sandbox: Sandbox) -> None:
    answer = await post(
        sandbox.base_url + CHECKOUT, wire_body("IDR", "OK-1"), merchant_no=IDR.merchant_no
    )
    envelope = answer.json()
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("application/json")
    assert envelope["code"] == "0000"
    assert envelope["msg"] == "success"
    assert envelope["success"] is True
    assert isinstance(envelope["timestamp"], int)
    assert envelope["data"]["status"] == "0015"
    assert sorted(envelope["data"]) == sorted(
        ["tradeNo", "platFormTradeNo", "status", "desc", "remark", "paymentUrl", "qrString"]
    )


async def test_wrong_sign(sandbox: Sandbox) -> None:
    body = wire_body("IDR", "SIGN-1", secret="NOT-THE-SECRET")
    answer = await post(sandbox.base_url + CHECKOUT, body, merchant_no=IDR.merchant_no)
    assert answer.code == "1001"
    assert answer.json()["success"] is False
    assert body["sign"] not in answer.body.decode()  # no signature in the message

    wrong = VexoraClient(
        merchant_no=IDR.merchant_no, secret="NOT-THE-SECRET", base_url=sandbox.base_url or ""
    )
    async with wrong:
        with pytest.raises(AuthenticationError) as caught:
            await wrong.create_payment_link(checkout_request("IDR", "SIGN-2"))
    assert caught.value.code == "1001"
    assert "NOT-THE-SECRET" not in str(caught.value)
    assert sandbox.ledger.order("SIGN-1") is None
    assert sandbox.ledger.order("SIGN-2") is None
    assert sandbox.ledger.checkout_requests("SIGN-1") == 1  # arrived, refused, counted


async def test_unknown_merchant(sandbox: Sandbox) -> None:
    body = wire_body("IDR", "WHO-1")
    unknown = await post(sandbox.base_url + CHECKOUT, body, merchant_no="0000009999")
    missing = await post(sandbox.base_url + CHECKOUT, body)
    # An IDR account calling the Paypro path is not a Paypro merchant.
    elsewhere = await post(
        sandbox.base_url + "/v1/paypro/paymentLink", body, merchant_no=IDR.merchant_no
    )
    assert [unknown.code, missing.code, elsewhere.code] == ["1002"] * 3

    stranger = VexoraClient(
        merchant_no="0000009999", secret="TESTSECRET", base_url=sandbox.base_url or ""
    )
    async with stranger:
        with pytest.raises(AuthenticationError) as caught:
            await stranger.create_payment_link(checkout_request("IDR", "WHO-2"))
    assert caught.value.code == "1002"
    assert len(sandbox.ledger) == 0
    assert sandbox.ledger.counts()["checkout"]["rejected"] == 4


async def test_broken_rules_are_named_without_values(sandbox: Sandbox) -> None:
    body = wire_body("IDR", "RULE-1", amount=5000, mobile="0711", wayCode="DANA", channelCode=None)
    answer = await post(sandbox.base_url + CHECKOUT, body, merchant_no=IDR.merchant_no)
    msg = answer.json()["msg"]
    assert answer.code == "1000"
    assert "amount (below_minimum" in msg
    assert "mobile (mobile_format" in msg
    assert "wayCode (requires_channel_code" in msg
    assert "0711" not in msg and "5000" not in msg

    # A client whose own profile is looser than the merchant's: the sandbox still says no.
    loose = VEXORA_IDR.with_changes(name="LOOSE_IDR", amount=AmountRule(as_number=True))
    async with VexoraClient(
        merchant_no=IDR.merchant_no,
        secret=IDR.secret,
        region=loose,
        base_url=sandbox.base_url or "",
    ) as client:
        with pytest.raises(OrderRejected) as caught:
            await client.create_payment_link(checkout_request("IDR", "RULE-2", amount=500))
    assert caught.value.code == "1000"
    assert "amount (below_minimum" in caught.value.msg
    assert len(sandbox.ledger) == 0


@pytest.mark.parametrize(
    ("profile", "changes", "expected"),
    [
        ("PAYPRO_IDR", {"timestamp": "1715941383720"}, "timestamp (not_number"),
        ("IDR", {"timestamp": 1715941383720}, "timestamp (not_text"),
        ("IDR", {"timestamp": "171594138372"}, "timestamp (timestamp_format"),
        ("IDR", {"timestamp": None}, "timestamp (required"),
        ("IDR", {"amount": "150000"}, "amount (not_number"),
        ("PHP", {"amount": 300}, "amount (not_text"),
        ("KHR", {"remark": None}, "remark (required"),
        ("USD", {"amount": "12.505"}, "amount (too_many_decimals"),
        ("IDR", {"payType": "GCash"}, "payType (not_allowed"),
    ],
)
async def test_wire_types_and_rules_per_profile(
    sandbox: Sandbox, profile: str, changes: dict[str, object], expected: str
) -> None:
    merchant = MERCHANTS[profile]
    body = wire_body(profile, "TYPE-1", **changes)
    answer = await post(
        sandbox.base_url + merchant.profile.checkout_path, body, merchant_no=merchant.merchant_no
    )
    assert answer.code == "1000"
    assert expected in answer.json()["msg"]


async def test_not_json(sandbox: Sandbox) -> None:
    for body in (b"{not json", b"[1, 2]", b""):
        answer = await post(sandbox.base_url + CHECKOUT, body, merchant_no=IDR.merchant_no)
        assert answer.code == "1000"
    assert sandbox.ledger.counts()["checkout"] == {"rejected": 3}


async def test_amount_text_is_kept_for_the_sign(sandbox: Sandbox) -> None:
    usd = MERCHANTS["USD"]
    answer = await post(
        sandbox.base_url + CHECKOUT, wire_body("USD", "TEXT-1", amount="12.50"),
        merchant_no=usd.merchant_no,
    )
    order = sandbox.ledger.order("TEXT-1")
    assert answer.code == "0000"
    assert order is not None
    assert str(order.amount) == "12.50"

    # A JSON number is signed as the text sent: "150000.00", which a float would turn into
    # "150000.0" and so fail the signature.
    fields = wire_body("IDR", "TEXT-2")
    del fields["sign"]
    text = dumps(fields).replace(b'"amount":150000', b'"amount":150000.00')
    signature = sign(json.loads(text, parse_float=Decimal), IDR.secret)
    signed = text[:-1] + b',"sign":"' + signature.encode() + b'"}'
    answer = await post(sandbox.base_url + CHECKOUT, signed, merchant_no=IDR.merchant_no)
    assert answer.code == "0000"


async def test_duplicate_trade_no(sandbox: Sandbox) -> None:
    body = wire_body("IDR", "DUP-1")
    first = await post(sandbox.base_url + CHECKOUT, body, merchant_no=IDR.merchant_no)
    again = await post(sandbox.base_url + CHECKOUT, body, merchant_no=IDR.merchant_no)
    assert (first.code, again.code) == ("0000", "8000")

    # A second create of an existing order (a retry by a new client, another process) is
    # refused by the gateway, but the order exists: the SDK says so, never "rejected".
    async with sandbox.client("IDR", retry=RetryPolicy(attempts=1)) as client:
        await client.create_payment_link(checkout_request("IDR", "DUP-2"))
        with pytest.raises(OrderExists) as caught:
            await client.create_payment_link(checkout_request("IDR", "DUP-2"))
    assert caught.value.trade_no == "DUP-2" and caught.value.state.status.is_processing
    assert len(sandbox.ledger) == 2
    assert sandbox.ledger.checkout_requests("DUP-1") == 2
    assert sandbox.ledger.counts()["checkout"] == {"stored": 2, "duplicate": 2}


async def test_same_trade_no_for_two_merchants_is_two_orders(sandbox: Sandbox) -> None:
    for profile in ("IDR", "PHP"):
        merchant = MERCHANTS[profile]
        answer = await post(
            sandbox.base_url + CHECKOUT, wire_body(profile, "SHARED-1"),
            merchant_no=merchant.merchant_no,
        )
        assert answer.code == "0000"
    assert len(sandbox.ledger.orders()) == 2


async def test_query_unknown_order_and_refusals(sandbox: Sandbox) -> None:
    unknown = await post(
        sandbox.base_url + QUERY, query_body("IDR", "NOPE-1"), merchant_no=IDR.merchant_no
    )
    assert unknown.code == "8000"
    bad_sign = await post(
        sandbox.base_url + QUERY, query_body("IDR", "NOPE-1", secret="x"),
        merchant_no=IDR.merchant_no,
    )
    assert bad_sign.code == "1001"
    no_trade = await post(
        sandbox.base_url + QUERY, query_body("IDR", ""), merchant_no=IDR.merchant_no
    )
    assert no_trade.code == "1000"
    async with sandbox.client("IDR") as client:
        with pytest.raises(OrderNotFound) as caught:
            await client.query_payment("NOPE-1")
    assert caught.value.code == "8000"
    assert sandbox.ledger.counts()["query"] == {"not_found": 2, "rejected": 2}
