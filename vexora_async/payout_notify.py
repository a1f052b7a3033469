"""Payout notifications: the payout result at its own ``notifyUrl`` (SPEC §9).

Same verification as payments (``notify``): only the documented keys, the sign over every
received field, dedupe in a ``NotificationStore``, the amount check; the same answers.

**Which kind is it?** A payout's result arrives in the same shape as a payment's (SPEC §7),
signed with the same secret, with no field saying which it is. Guessing from fields is
impossible, and worse, a guess could be steered: a genuine "0000" payment notification
replayed at the payout endpoint would read "paid out". So (SPEC §9 decision):

1. Serve each kind on its own path: ``payment_notification_handler`` for the ``notifyUrl``
   of your checkouts, ``payout_notification_handler`` for that of your payouts.
2. Each endpoint asks *your* records whether the trade number is one of yours **of its
   kind** (``owns_payout`` / ``owns_payment``; ``TradePrefix`` does it by a naming
   convention). Anything else is refused with 400 before the store is touched and before
   your callback runs: a payout notification processed by the payment endpoint, or the
   reverse, never reaches the wrong callback. The trade number is the one thing in the body
   that is yours; the URL it arrived at says which list to look it up in.

The payout idempotency key names the kind, so one store can serve both endpoints. A payout
is one declared kind of ``vexora_async.notify`` (``PAYOUT``): everything below is that
package's processing with ``kind=PAYOUT`` and ``owns_trade=``.
"""

from __future__ import annotations

import decimal
import json
from collections.abc import Awaitable, Callable, Collection, Mapping
from decimal import Decimal
from typing import Any

import attrs
from aiohttp import web

from .dedupe import NotificationStore
from .errors import ConfigurationError
from .models import Money, TradeState, _raw_repr
from .notify import (
    DEFAULT_STORE,
    ExpectedAmount,
    NotificationKind,
    NotificationResult,
    OwnsTrade,
    PaymentNotification,
    declare_kind,
    notification_handler,
    parse_notification,
    process_notification,
)
from .notify.model import _read_only
from .payout_models import PayoutStatus

__all__ = [
    "PAYOUT",
    "PAYOUT_KEYS",
    "OwnsTrade",
    "PayoutNotification",
    "TradePrefix",
    "parse_payout_notification",
    "payment_notification_handler",
    "payout_amount_matches",
    "payout_moves_money",
    "payout_notification_handler",
    "process_payment_notification",
    "process_payout_notification",
]

PAYOUT_KEYS: frozenset[str] = frozenset(
    {
        # SPEC §9: the payout data and query fields
        "tradeNo",
        "platFormTradeNo",
        "status",
        "amount",
        "orderAmount",
        "payAmount",
        "message",
        "successTime",
        # SPEC §7: the notification shape they arrive in
        "channelCode",
        "wayCode",
        "remark",
        "timestamp",
        "sign",
    }
)
"""Every key a payout notification may carry; anything else is refused (SPEC §7: the sign
is ambiguous at field boundaries, so unknown keys could re-cut a genuine one)."""

OnPayout = Callable[["PayoutNotification"], Awaitable[object]]
OnPayment = Callable[[PaymentNotification], Awaitable[object]]
Body = bytes | str | Mapping[str, Any]


@attrs.frozen(slots=True)
class PayoutNotification:
    """A verified payout notification. ``status.is_paid_out`` is the money-out fact;
    ``amount`` is what was paid out (exact). ``raw`` holds every field (the sign too) and
    is kept out of ``repr``."""

    trade_no: str
    status: PayoutStatus
    amount: Decimal
    platform_trade_no: str | None = None
    message: str | None = None
    success_time: str | None = None
    channel_code: str | None = None
    way_code: str | None = None
    remark: str | None = None
    timestamp: int | None = None
    raw: Mapping[str, Any] = attrs.field(
        factory=dict, converter=_read_only, repr=_raw_repr, eq=False
    )

    @property
    def idempotency_key(self) -> str:
        """``["payout", trade number, status, amount]``: the kind first, so one store can
        hold payment and payout keys without a payout's result passing for a payment's."""
        exact = decimal.Context(prec=max(1, len(self.amount.as_tuple().digits)))
        amount = str(self.amount.normalize(exact))
        return json.dumps(["payout", self.trade_no, self.status.code, amount])


def payout_amount_matches(notification: PayoutNotification, expected: Money) -> bool:
    """Paid out: the amount equals what the payout was created for, exactly. A failed or
    processing payout moved no money: always fits. (There is no partial payout.)"""
    if notification.status.state is TradeState.PAID:
        return notification.amount == expected
    return True


def payout_moves_money(notification: PayoutNotification) -> bool:
    """Whether the amount check applies: only a paid-out result moved money."""
    return notification.status.state is TradeState.PAID


PAYOUT: NotificationKind[PayoutNotification] = declare_kind(
    NotificationKind(
        name="payout",
        keys=PAYOUT_KEYS,
        model=PayoutNotification,
        amount_matches=payout_amount_matches,
        moves_money=payout_moves_money,
    )
)


def parse_payout_notification(
    body: Body, secret: str, *, extra_keys: Collection[str] = ()
) -> PayoutNotification:
    """Decode, check the keys, verify and structure one payout notification; raises like
    ``parse_notification``."""
    return parse_notification(body, secret, kind=PAYOUT, extra_keys=extra_keys)


async def process_payout_notification(
    body: Body,
    secret: str,
    on_payout: OnPayout,
    *,
    owns_payout: OwnsTrade,
    store: NotificationStore | None = DEFAULT_STORE,
    expected_amount: ExpectedAmount | None = None,
    extra_keys: Collection[str] = (),
) -> NotificationResult:
    """One delivery at your payout endpoint: ``process_notification`` with the payout kind.
    ``owns_payout(trade_no)`` must return ``True``, else ``400 WRONG_KIND`` and nothing runs
    (a payment's notification sent to the payout endpoint)."""
    return await process_notification(
        body, secret, on_payout, store=store, expected_amount=expected_amount, kind=PAYOUT,
        extra_keys=extra_keys, owns_trade=owns_payout,
    )  # fmt: skip


async def process_payment_notification(
    body: Body,
    secret: str,
    on_payment: OnPayment,
    *,
    owns_payment: OwnsTrade,
    store: NotificationStore | None = DEFAULT_STORE,
    expected_amount: ExpectedAmount | None = None,
    extra_keys: Collection[str] = (),
) -> NotificationResult:
    """``process_notification`` that also refuses a trade that is not one of your payments
    (a payout's result sent to the payment endpoint): ``400 WRONG_KIND``, nothing runs."""
    return await process_notification(
        body, secret, on_payment, store=store, expected_amount=expected_amount,
        kind="payment", extra_keys=extra_keys, owns_trade=owns_payment,
    )  # fmt: skip


def payout_notification_handler(
    secret: str,
    on_payout: OnPayout,
    *,
    owns_payout: OwnsTrade,
    store: NotificationStore | None = None,
    expected_amount: ExpectedAmount | None = None,
    extra_keys: Collection[str] = (),
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """An ``aiohttp.web`` handler for the ``notifyUrl`` of your payouts (only).

    ``owns_payout`` is required: it is what refuses a payment's notification here. ``store``
    defaults to a new ``MemoryNotificationStore`` (share one with the payment endpoint if
    you like: payout keys name their kind).
    """
    return notification_handler(
        secret, on_payout, store=store, expected_amount=expected_amount, kind=PAYOUT,
        extra_keys=extra_keys, owns_trade=owns_payout,
    )  # fmt: skip


def payment_notification_handler(
    secret: str,
    on_payment: OnPayment,
    *,
    owns_payment: OwnsTrade,
    store: NotificationStore | None = None,
    expected_amount: ExpectedAmount | None = None,
    extra_keys: Collection[str] = (),
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """``notification_handler`` for the ``notifyUrl`` of your checkouts, refusing any trade
    that ``owns_payment`` does not confirm (a payout's result sent here)."""
    return notification_handler(
        secret, on_payment, store=store, expected_amount=expected_amount, kind="payment",
        extra_keys=extra_keys, owns_trade=owns_payment,
    )  # fmt: skip


@attrs.frozen
class TradePrefix:
    """Tell payouts from payments by your own trade-number convention: payouts start with
    ``prefix`` (``"PO-"``), payments never do. ``owns_payout``/``owns_payment`` plug into
    the handlers; use a lookup in your database instead when you have one."""

    prefix: str = attrs.field()

    @prefix.validator
    def _check(self, _: object, value: str) -> None:
        if not isinstance(value, str) or not value:
            raise ConfigurationError("a payout prefix must be non-empty text")

    async def owns_payout(self, trade_no: str) -> bool:
        return trade_no.startswith(self.prefix)

    async def owns_payment(self, trade_no: str) -> bool:
        return not trade_no.startswith(self.prefix)
