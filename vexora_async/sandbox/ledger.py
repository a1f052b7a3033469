"""The ground truth: every stored order, every notification attempt, every request's outcome.

Tests and benchmarks compare what a client *believes* with what is here. The ledger is
written from the sandbox's event loop and may be read from any thread (a lock guards every
change and every listing). It holds no payer data: no names, mobiles, emails or signatures.

Memory per order is a few hundred bytes; the request log keeps only the most recent
``log_size`` entries, while the per-outcome counts cover every request.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from decimal import ROUND_DOWN, Decimal
from typing import Any, Literal

import attrs

from ..wire import epoch_millis
from .codes import STATUS_PROCESSING, SandboxError

__all__ = [
    "Ledger",
    "NotificationAttempt",
    "Operation",
    "Order",
    "RequestRecord",
    "default_partial_amount",

    "money_text",
]

Operation = Literal["checkout", "query", "payout", "payout_query", "balance"]




def money_text(amount: Decimal) -> str:
    """Plain digits, no exponent: how amounts are written in answers and notifications."""
    return format(amount, "f")


@attrs.frozen(slots=True)
class NotificationAttempt:
    """One POST of a notification to a merchant's ``notifyUrl``.

    ``delivery`` counts the payment events of the order (a partial payment then a full one
    are two); ``attempt`` is 1 for the first try of a delivery; ``scheduled_delay`` is the
    wait (seconds, already scaled by the time factor) before this attempt.
    """

    merchant_no: str
    trade_no: str
    delivery: int
    attempt: int
    scheduled_delay: float
    status: int | None
    error: str | None
    acknowledged: bool
    skipped: bool = False
    at_ms: int = attrs.field(factory=epoch_millis)

    def to_dict(self) -> dict[str, Any]:
        return {
            "merchantNo": self.merchant_no,
            "tradeNo": self.trade_no,
            "delivery": self.delivery,
            "attempt": self.attempt,
            "scheduledDelay": self.scheduled_delay,
            "httpStatus": self.status,
            "error": self.error,
            "acknowledged": self.acknowledged,
            "skipped": self.skipped,
            "at": self.at_ms,
        }


@attrs.define(slots=True, eq=False)
class Order:
    """A stored order. Mutated only by the sandbox (payments, notifications)."""

    merchant_no: str
    trade_no: str
    platform_trade_no: str
    profile: str
    amount: Decimal
    notify_url: str | None
    return_url: str | None = None
    channel_code: str | None = None
    way_code: str | None = None
    remark: str | None = None
    status: str = STATUS_PROCESSING
    paid_amount: Decimal = Decimal(0)
    success_time: str | None = None
    checkout_requests: int = 1
    created_ms: int = attrs.field(factory=epoch_millis)
    notifications: list[NotificationAttempt] | None = None  # created on the first attempt

    def to_dict(self) -> dict[str, Any]:
        return {
            "merchantNo": self.merchant_no,
            "tradeNo": self.trade_no,
            "platFormTradeNo": self.platform_trade_no,
            "profile": self.profile,
            "amount": money_text(self.amount),
            "status": self.status,
            "paidAmount": money_text(self.paid_amount),
            "successTime": self.success_time,
            "createdAt": self.created_ms,
            "checkoutRequests": self.checkout_requests,
            "notifications": len(self.notifications or ()),
        }


def default_partial_amount(order: Order, decimals: int) -> Decimal:
    """Half of what is still unpaid, rounded down to the currency's smallest unit."""
    unit = Decimal(1).scaleb(-decimals)
    return (order.paid_amount + (order.amount - order.paid_amount) / 2).quantize(
        unit, rounding=ROUND_DOWN
    )


@attrs.frozen(slots=True)
class RequestRecord:
    """One request to checkout or query and what became of it.

    ``outcome``: ``stored``, ``duplicate``, ``rejected`` (checkout); ``found``, ``not_found``,
    ``rejected`` (query); or a fault kind's value when a fault answered before processing.
    ``fault`` names a fault applied after processing (the order may be stored all the same).
    """

    operation: Operation
    merchant_no: str | None
    trade_no: str | None
    outcome: str
    code: str | None
    fault: str | None = None
    at_ms: int = attrs.field(factory=epoch_millis)

    def to_dict(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "merchantNo": self.merchant_no,
            "tradeNo": self.trade_no,
            "outcome": self.outcome,
            "code": self.code,
            "fault": self.fault,
            "at": self.at_ms,
        }


class Ledger:
    """Orders by merchant and trade number, notification attempts, request outcomes."""

    def __init__(self, *, log_size: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._orders: dict[str, dict[str, Order]] = {}
        self._by_platform: dict[str, Order] = {}
        # Checkout arrivals for trade numbers that have no order (yet); moved onto the order
        # when it is stored, so a stored order costs no entry here.
        self._arrivals: dict[str, dict[str, int]] = {}
        self._counts: dict[str, dict[str, int]] = {"checkout": {}, "query": {}}
        self._log: deque[RequestRecord] = deque(maxlen=log_size)

    # -- written by the sandbox -----------------------------------------------------------

    def arrive(self, merchant_no: str, trade_no: str) -> Order | None:
        """Count a checkout request for ``trade_no``; return its order if one is stored."""
        with self._lock:
            order = self._orders.get(merchant_no, {}).get(trade_no)
            if order is not None:
                order.checkout_requests += 1
            else:
                pending = self._arrivals.setdefault(merchant_no, {})
                pending[trade_no] = pending.get(trade_no, 0) + 1
            return order

    def store(self, order: Order) -> bool:
        """Store ``order`` unless its trade number is taken; False for a duplicate."""
        with self._lock:
            orders = self._orders.setdefault(order.merchant_no, {})
            if order.trade_no in orders:
                return False
            orders[order.trade_no] = order
            self._by_platform[order.platform_trade_no] = order
            pending = self._arrivals.get(order.merchant_no)
            if pending is not None:
                order.checkout_requests = pending.pop(order.trade_no, order.checkout_requests)
            return True

    def record(self, record: RequestRecord) -> None:
        with self._lock:
            counts = self._counts.setdefault(record.operation, {})
            counts[record.outcome] = counts.get(record.outcome, 0) + 1
            if record.fault is not None:
                key = f"fault:{record.fault}"
                counts[key] = counts.get(key, 0) + 1
            self._log.append(record)

    def update(
        self, order: Order, status: str, paid_amount: Decimal, success_time: str | None
    ) -> None:
        """A payment changed the order (one lock, so readers never see half of it)."""
        with self._lock:
            order.status = status
            order.paid_amount = paid_amount
            order.success_time = success_time

    def add_attempt(self, order: Order, attempt: NotificationAttempt) -> None:
        with self._lock:
            if order.notifications is None:
                order.notifications = []
            order.notifications.append(attempt)

    # -- read by anyone -------------------------------------------------------------------

    def order(self, trade_no: str, merchant_no: str | None = None) -> Order | None:
        """The order for ``trade_no`` (of ``merchant_no``, or of the only merchant that has it).

        Raises ``SandboxError`` when several merchants have it and none is named.
        """
        with self._lock:
            if merchant_no is not None:
                return self._orders.get(merchant_no, {}).get(trade_no)
            found = [o for orders in self._orders.values() if (o := orders.get(trade_no))]
        if len(found) > 1:
            raise SandboxError(f"several merchants have trade {trade_no}: name the merchant")
        return found[0] if found else None

    def by_platform_trade_no(self, platform_trade_no: str) -> Order | None:
        return self._by_platform.get(platform_trade_no)

    def orders(self, merchant_no: str | None = None) -> list[Order]:
        """Stored orders in the order they were stored."""
        with self._lock:
            return list(self._iter_orders(merchant_no))

    def _iter_orders(self, merchant_no: str | None) -> Iterator[Order]:
        if merchant_no is not None:
            yield from self._orders.get(merchant_no, {}).values()
            return
        for orders in self._orders.values():
            yield from orders.values()

    def checkout_requests(self, trade_no: str, merchant_no: str | None = None) -> int:
        """How many checkout requests arrived for ``trade_no``, stored or not."""
        order = self.order(trade_no, merchant_no)
        if order is not None:
            return order.checkout_requests
        with self._lock:
            merchants = [merchant_no] if merchant_no is not None else list(self._arrivals)
            return sum(self._arrivals.get(m, {}).get(trade_no, 0) for m in merchants)

    def notifications(
        self, trade_no: str | None = None, merchant_no: str | None = None
    ) -> list[NotificationAttempt]:
        """Notification attempts, of one order or of all, oldest first per order."""
        if trade_no is not None:
            order = self.order(trade_no, merchant_no)
            with self._lock:
                return list(order.notifications or ()) if order is not None else []
        with self._lock:
            return [a for o in self._iter_orders(merchant_no) for a in o.notifications or ()]

    def counts(self) -> dict[str, dict[str, int]]:
        """Requests per operation and outcome (``fault:<kind>`` for faults after processing)."""
        with self._lock:
            return {op: dict(counts) for op, counts in self._counts.items()}

    def requests(self) -> list[RequestRecord]:
        """The most recent requests (up to ``log_size``), oldest first."""
        with self._lock:
            return list(self._log)

    def __len__(self) -> int:
        with self._lock:
            return sum(len(orders) for orders in self._orders.values())

    def snapshot(
        self, *, trade_no: str | None = None, merchant_no: str | None = None
    ) -> dict[str, Any]:
        """Everything as JSON-ready data (what ``GET /sandbox/ledger`` returns)."""
        if trade_no is not None:
            order = self.order(trade_no, merchant_no)
            orders = [order] if order is not None else []
        else:
            orders = self.orders(merchant_no)
        with self._lock:
            attempts = [a.to_dict() for o in orders for a in o.notifications or ()]
            log = [
                r.to_dict()
                for r in self._log
                if trade_no is None or r.trade_no == trade_no
            ]
        return {
            "orders": [o.to_dict() for o in orders],
            "notifications": attempts,
            "requests": {"counts": self.counts(), "recent": log},
        }
