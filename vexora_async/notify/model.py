"""What a verified payment notification says, and the rule its amount must fit."""

from __future__ import annotations

import decimal
import json
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Protocol

import attrs

from ..models import Money, TradeState, TradeStatus, _raw_repr

__all__ = ["Notification", "PaymentNotification", "amount_matches", "moves_money"]


class Notification(Protocol):
    """What processing needs of any kind of notification (payments, later payouts)."""

    @property
    def trade_no(self) -> str: ...

    @property
    def status(self) -> TradeStatus: ...

    @property
    def amount(self) -> Decimal: ...

    @property
    def idempotency_key(self) -> str: ...


def _read_only(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return value if isinstance(value, MappingProxyType) else MappingProxyType(dict(value))


@attrs.frozen(slots=True)
class PaymentNotification:
    """A verified notification. ``amount`` is what was actually paid (exact ``Decimal``).

    ``raw`` is a read-only view of every received field (numbers as ``int`` or ``Decimal``);
    it holds the sign and is kept out of ``repr``.
    """

    trade_no: str
    status: TradeStatus
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
        """What a ``NotificationStore`` dedupes on: trade number, status code and amount.

        The amount is part of it because a partially paid order (``0001``) can be notified
        again with a larger amount, and that is new information, not a duplicate. (Another
        kind's model must put its kind in its key, so one store can serve both endpoints;
        this one stays as it was, so stores written by earlier versions keep their meaning.)
        """
        # One text per value (10000, 10000.00 -> 1E+4), exact: precision is the digit count.
        exact = decimal.Context(prec=max(1, len(self.amount.as_tuple().digits)))
        amount = str(self.amount.normalize(exact))
        return json.dumps([self.trade_no, self.status.code, amount], ensure_ascii=False)


def amount_matches(notification: PaymentNotification, expected: Money) -> bool:
    """Whether the notified amount fits what the order was created for.

    - paid (``0000``): the amount equals ``expected`` exactly (``10000`` == ``10000.00``);
      more or less is a mismatch, never "paid".
    - partially paid (``0001``): more than zero and less than ``expected`` (the gateway says
      to trust the amount; the full amount or more under a "partial" status is contradictory).
    - any other status moves no money to you: always fits.
    """
    state = notification.status.state
    if state is TradeState.PAID:
        return notification.amount == expected
    if state is TradeState.PARTIALLY_PAID:
        return 0 < notification.amount < expected
    return True


def moves_money(notification: PaymentNotification) -> bool:
    """Paid or partially paid: the statuses ``expected_amount`` is checked for."""
    return notification.status.state in (TradeState.PAID, TradeState.PARTIALLY_PAID)
