"""Notification kinds: a second kind is one declaration, each endpoint serves one kind and
can refuse the other's notifications; ``process_notification`` dedupes by default."""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import aiohttp
import attrs
import pytest
from aiohttp import web

from vexora_async import ConfigurationError
from vexora_async.dedupe import MemoryNotificationStore
from vexora_async.models import Money, TradeState, TradeStatus
from vexora_async.notify import (
    DEFAULT_STORE,
    PAYMENT,
    PAYMENT_KEYS,
    NotificationKind,
    NotificationOutcome as Outcome,
    UnknownNotificationKey,
    declare_kind,
    notification_handler,
    notification_kind,
    parse_notification,
    process_notification,
)

from .test_notify_support import (
    SECRET,
    Callback,
    body_of,
    genuine_body,
    notification_fields,
    post,
    serve,
    signed,
)


@attrs.frozen
class TransferNotification:
    """A made-up second kind, shaped as a payout would be (SPEC §9)."""

    trade_no: str
    status: TradeStatus
    amount: Decimal
    bank_code: str | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @property
    def idempotency_key(self) -> str:
        return json.dumps(["transfer", self.trade_no, self.status.code, str(self.amount)])


TRANSFER_KEYS = {"platFormTradeNo", "tradeNo", "amount", "status", "message", "bankCode",
                 "successTime", "timestamp", "sign"}  # fmt: skip

TRANSFER = NotificationKind(
    name="transfer",
    keys=frozenset(TRANSFER_KEYS),
    model=TransferNotification,
    amount_matches=lambda n, expected: n.amount == expected,
    moves_money=lambda n: n.status.state is TradeState.PAID,
)


def transfer_fields(trade_no: str) -> dict[str, Any]:
    return {
        "platFormTradeNo": "PF" + trade_no,
        "tradeNo": trade_no,
        "amount": "50000",
        "status": "0000",
        "message": "success",
        "bankCode": "0002",
        "timestamp": "1715941383720",
    }


# -- issue 15: the default store ---------------------------------------------------------


async def test_process_notification_dedupes_in_memory_by_default() -> None:
    assert inspect.signature(process_notification).parameters["store"].default is DEFAULT_STORE
    assert isinstance(DEFAULT_STORE, MemoryNotificationStore)
    callback = Callback()
    body = genuine_body("T-DEFAULT-STORE")
    first = await process_notification(body, SECRET, callback)
    again = await process_notification(body, SECRET, callback)
    assert (first.outcome, again.outcome) == (Outcome.PROCESSED, Outcome.DUPLICATE)
    assert len(callback.calls) == 1


# -- a second kind -------------------------------------------------------------------------


def test_a_kind_is_one_declaration() -> None:
    assert TRANSFER.required == ("tradeNo", "status", "amount", "sign")
    n = parse_notification(signed(transfer_fields("TR1")), SECRET, kind=TRANSFER)
    assert isinstance(n, TransferNotification)
    assert (n.trade_no, n.amount, n.bank_code) == ("TR1", Decimal(50000), "0002")
    assert n.raw["bankCode"] == "0002"
    assert notification_kind("payment") is PAYMENT and notification_kind(TRANSFER) is TRANSFER


def test_kinds_and_their_keys_are_checked_when_declared() -> None:
    with pytest.raises(ConfigurationError, match=r"'refund'.*'payment'"):
        notification_kind("refund")
    with pytest.raises(ConfigurationError, match="already declared"):
        declare_kind(PAYMENT)
    with pytest.raises(ValueError, match="sign"):
        attrs.evolve(TRANSFER, keys=frozenset({"tradeNo"}))
    with pytest.raises(ValueError, match="no '='"):
        attrs.evolve(TRANSFER, keys=frozenset({"sign", "a=b"}))


async def test_each_kind_refuses_the_other_kinds_keys() -> None:
    payments, transfers = Callback(), Callback()
    transfer_body = body_of(signed(transfer_fields("TR2")))
    at_payments = await process_notification(transfer_body, SECRET, payments, store=None)
    assert at_payments.outcome is Outcome.MALFORMED
    assert isinstance(at_payments.error, UnknownNotificationKey)
    assert at_payments.error.keys == ("bankCode",)
    at_transfers = await process_notification(
        genuine_body("PAY2"), SECRET, transfers, store=None, kind=TRANSFER
    )
    assert at_transfers.error is not None and "'channelCode', 'wayCode'" in str(at_transfers.error)
    assert payments.calls == [] and transfers.calls == []


async def test_owns_trade_refuses_a_notification_of_the_other_kind_before_any_claim() -> None:
    # Same shape, same keys: only the merchant knows which trade numbers are transfers.
    payment_trades = {"PAY3"}

    async def is_payment(trade_no: str) -> bool:
        return trade_no in payment_trades

    store, callback = MemoryNotificationStore(), Callback()
    body = body_of(signed(notification_fields("TR3")))  # a transfer's number, payment's keys
    refused = await process_notification(body, SECRET, callback, store=store, owns_trade=is_payment)
    assert (refused.outcome, refused.http_status) == (Outcome.WRONG_KIND, 400)
    assert refused.notification is not None and callback.calls == []
    assert (await store.claim(refused.notification.idempotency_key)).state.value == "claimed"
    ok = await process_notification(
        genuine_body("PAY3"), SECRET, callback, store=store, owns_trade=is_payment
    )
    assert ok.outcome is Outcome.PROCESSED and [n.trade_no for n in callback.calls] == ["PAY3"]


@pytest.mark.parametrize("answer", [1, "yes", None, False])
async def test_only_true_from_owns_trade_accepts(answer: Any) -> None:
    async def owns(trade_no: str) -> Any:
        return answer

    result = await process_notification(
        genuine_body(), SECRET, Callback(), store=None, owns_trade=owns
    )
    assert result.outcome is Outcome.WRONG_KIND


async def test_a_failing_owns_trade_answers_500() -> None:
    async def owns(trade_no: str) -> bool:
        raise OSError("orders database is down")

    callback = Callback()
    result = await process_notification(
        genuine_body(), SECRET, callback, store=None, owns_trade=owns
    )
    assert (result.outcome, result.http_status) == (Outcome.FAILED, 500)
    assert callback.calls == []


async def test_two_endpoints_two_kinds_over_http() -> None:
    payments, transfers = Callback(), Callback()

    async def is_transfer(trade_no: str) -> bool:
        return trade_no.startswith("TR")

    async def expected(trade_no: str) -> Money | None:
        return 50000

    app = web.Application()
    app.router.add_post("/notify/payments", notification_handler(SECRET, payments))
    app.router.add_post(
        "/notify/transfers",
        notification_handler(
            SECRET, transfers, kind=TRANSFER, owns_trade=is_transfer, expected_amount=expected
        ),
    )
    transfer = body_of(signed(transfer_fields("TR4")))
    misrouted = body_of(signed({**transfer_fields("PAY4"), "bankCode": "0002"}))
    async with serve(app) as base, aiohttp.ClientSession() as session:
        assert await post(session, base + "/notify/transfers", transfer) == (200, "OK")
        assert await post(session, base + "/notify/payments", transfer) == (
            400,
            "malformed notification",
        )
        assert await post(session, base + "/notify/transfers", misrouted) == (
            400,
            "not a notification for this endpoint",
        )
    assert [n.trade_no for n in transfers.calls] == ["TR4"] and payments.calls == []


def test_payment_keys_are_the_documented_ones() -> None:
    # SPEC §7: the documented fields, plus remark, payAmount and orderAmount.
    assert sorted(PAYMENT_KEYS) == sorted(
        ["platFormTradeNo", "tradeNo", "amount", "status", "message", "successTime",
         "channelCode", "wayCode", "timestamp", "sign", "remark", "payAmount", "orderAmount"]
    )  # fmt: skip
