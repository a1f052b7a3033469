"""The sandbox pays out too (SPEC §9): create, query, balance, settlement, notifications.

Payouts are ``Order`` records in a ledger of their own (``SandboxPayouts.ledger``: a
``tradeNo`` is unique per merchant among payouts, as it is among payments), so everything
the ledger offers (stored once, arrivals counted, notification attempts) holds for them.
Requests are counted in the sandbox's main ledger under the operations ``payout``,
``payout_query`` and ``balance``, and every fault kind applies to them (the HTTP layer
picks faults per operation).

A payout is accepted only when the merchant's *available* balance covers it; otherwise it
is refused (code ``8100``) and nothing is stored: the ledger shows no payout. An accepted
payout holds its amount and settles after ``delay`` seconds (scaled by the time factor) as
paid out or failed, then the merchant is notified on the payment schedule (SPEC §7).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any, Literal, Protocol

from aiohttp import web

from ..errors import ValidationError, Violation
from ..models import to_money
from ..payout_rules import PayoutProfile
from ..signing import sign, verify
from ..wire import dumps, epoch_millis
from .balance import Balances, MerchantBalance
from .checks import Reply, amount_type_violations, invalid_message, timestamp_violations
from .codes import (
    STATUS_FAILED,
    STATUS_MESSAGES,
    STATUS_PAID,
    STATUS_PROCESSING,
    SandboxCodes,
    SandboxError,
)
from .ledger import Ledger, NotificationAttempt, Operation, Order, money_text
from .merchants import SandboxMerchant
from .notifier import Delivery, Notifier, _finish


class _Host(Protocol):
    """What the payout side needs of the gateway it is part of (no import: the gateway
    builds on this module, not the reverse)."""

    time_factor: float
    notifier: Notifier
    codes: SandboxCodes
    _platform_prefix: str

    @property
    def merchants(self) -> Mapping[str, SandboxMerchant]: ...

__all__ = [
    "INSUFFICIENT_BALANCE",
    "PAYOUT_OPERATIONS",
    "PayoutOutcome",
    "SandboxPayouts",
    "add_payout_routes",
    "path_for",
    "payout_endpoints",
    "payout_notification_fields",
]

INSUFFICIENT_BALANCE = "8100"  # the sandbox's own choice: any refusal code reads the same
PAYOUT_OPERATIONS = ("payout", "payout_query", "balance")
PayoutOutcome = Literal["paid", "failed"]

_UNSIGNED = frozenset({"sign", "timestamp"})
_PAYOUT_MESSAGES = {**STATUS_MESSAGES, STATUS_PAID: "Paid out"}


def payout_endpoints(profile: Any) -> tuple[tuple[Operation, str], ...]:
    """``(operation, path)`` for each payout endpoint of a region profile (none without
    ``payout``)."""
    payout: PayoutProfile | None = getattr(profile, "payout", None)
    if payout is None:
        return ()
    return (
        ("payout", payout.create_path),
        ("payout_query", payout.query_path),
        ("balance", payout.balance_path),
    )


def path_for(merchant: SandboxMerchant, operation: str) -> str | None:
    """The path a merchant's profile serves ``operation`` on (``None``: it does not)."""
    if operation == "checkout":
        return merchant.checkout_path
    if operation == "query":
        return merchant.query_path
    for kind, path in payout_endpoints(merchant.profile):
        if kind == operation:
            return path
    return None


def payout_notification_fields(
    order: Order, merchant: SandboxMerchant, stamp: int
) -> dict[str, object]:
    """The signed payout notification: the payment notification's shape (SPEC §7, §9)."""
    payout: PayoutProfile | None = getattr(merchant.profile, "payout", None)
    as_number = payout is not None and payout.timestamp_as_number
    fields: dict[str, object] = {
        "platFormTradeNo": order.platform_trade_no,
        "tradeNo": order.trade_no,
        "amount": money_text(order.amount),
        "status": order.status,
        "message": _PAYOUT_MESSAGES.get(order.status, ""),
        "timestamp": stamp if as_number else str(stamp),
    }
    optional = (
        ("successTime", order.success_time),
        ("channelCode", order.channel_code),
        ("wayCode", order.way_code),
        ("remark", order.remark),
    )
    fields.update((name, value) for name, value in optional if value)
    fields["sign"] = sign(fields, merchant.secret)
    return fields


class _PayoutNotifier(Notifier):
    """The sandbox's notifier, with the payout body (and its own deliveries: a payout may
    share its ``tradeNo`` with a payment)."""

    def start(self, order: Order, merchant: SandboxMerchant) -> Delivery:
        key = (order.merchant_no, order.trade_no)
        previous = self._latest.get(key)
        if previous is not None:
            _finish(previous)
        body = dumps(payout_notification_fields(order, merchant, epoch_millis()))
        delivery = Delivery(order, previous.number + 1 if previous else 1, body)
        self._latest[key] = delivery
        delivery.task = asyncio.get_running_loop().create_task(self._deliver(delivery))
        return delivery


class SandboxPayouts:
    """The payout side of one ``Sandbox`` (``sandbox.payouts``).

    Settings (change them any time):

    - ``delay``: seconds from acceptance to settlement, scaled by the time factor.
    - ``outcome``: how payouts settle by default (``"paid"`` or ``"failed"``); ``decide``
      sets it for one trade number.
    - ``balances.instant``: collections are available at once instead of on the next
      simulated day (``balances.day`` seconds, a day times the time factor).
    """

    def __init__(self, sandbox: _Host, *, delay: float = 5.0) -> None:
        self._sandbox = sandbox
        self.ledger = Ledger()
        self.balances = Balances(day=86400.0 * sandbox.time_factor)
        self.delay = delay
        self.outcome: PayoutOutcome = "paid"
        self._decided: dict[str, PayoutOutcome] = {}
        self._timers: dict[tuple[str, str], asyncio.TimerHandle] = {}
        self._settled: dict[tuple[str, str], asyncio.Event] = {}
        self._counter = 0
        base = sandbox.notifier
        self.notifier = _PayoutNotifier(self.ledger)
        # The same schedule, timeout and loopback rule as the payment notifications.
        self.notifier._delays = base._delays
        self.notifier._timeout = base._timeout
        self.notifier._allow_external = base._allow_external

    # -- settings and control -------------------------------------------------------------

    def decide(self, trade_no: str, outcome: PayoutOutcome) -> None:
        """Settle the payout ``trade_no`` (now or when it arrives) as ``outcome``."""
        if outcome not in ("paid", "failed"):
            raise SandboxError("a payout settles as 'paid' or 'failed'")
        self._decided[trade_no] = outcome

    def settle_now(self, trade_no: str, merchant_no: str | None = None) -> Order:
        """Settle the processing payout ``trade_no`` at once instead of after ``delay``."""
        order = self._order(trade_no, merchant_no)
        timer = self._timers.get((order.merchant_no, order.trade_no))
        if timer is None:
            raise SandboxError(f"payout {trade_no} has settled already")
        timer.cancel()
        self._settle(order, self._sandbox.merchants[order.merchant_no])
        return order

    def fund(self, merchant_no: str, amount: Any) -> MerchantBalance:
        """Make ``amount`` available to ``merchant_no`` at once (a top-up)."""
        self.balances.fund(merchant_no, Decimal(to_money(amount)))
        return self.balances.of(merchant_no)

    def balance(self, merchant_no: str) -> MerchantBalance:
        return self.balances.of(merchant_no)

    def collected(self, order: Order, previous_paid: Decimal) -> None:
        """A payment moved money in: the increase is the merchant's (unsettled) income."""
        self.balances.collect(order.merchant_no, order.paid_amount - previous_paid)

    async def settled(
        self, trade_no: str, merchant_no: str | None = None, *, timeout: float | None = None
    ) -> Order:
        """Wait until the payout ``trade_no`` has settled (paid out or failed)."""
        order = self._order(trade_no, merchant_no)
        event = self._settled.setdefault((order.merchant_no, order.trade_no), asyncio.Event())
        if order.status == STATUS_PROCESSING:
            await asyncio.wait_for(event.wait(), timeout)
        return order

    async def notifications_settled(
        self, trade_no: str, merchant_no: str | None = None, *, timeout: float | None = None
    ) -> list[NotificationAttempt]:
        """As ``Sandbox.notifications_settled``, for the payout ``trade_no``."""
        order = await self.settled(trade_no, merchant_no, timeout=timeout)
        return await self.notifier.settled(order, timeout=timeout)

    def _order(self, trade_no: str, merchant_no: str | None) -> Order:
        order = self.ledger.order(trade_no, merchant_no)
        if order is None:
            raise SandboxError(f"no payout for trade {trade_no}")
        return order

    # -- the gateway's answers ------------------------------------------------------------

    def answer(
        self, operation: str, merchant: SandboxMerchant, fields: Mapping[str, Any],
        *, lag: float = 0.0,
    ) -> Reply:  # fmt: skip
        """Answer a payout operation's request (the HTTP layer applies the faults), in the
        gateway's configured codes (``SandboxCodes``). ``lag``: a payout query answered from
        a replica that many seconds behind (the ``lagging-replica`` fault)."""
        codes = self._sandbox.codes
        payout: PayoutProfile | None = getattr(merchant.profile, "payout", None)
        if payout is None:
            return Reply(
                codes.unknown_merchant_code, codes.unknown_merchant_msg, None, "rejected"
            )
        if not verify(fields, merchant.secret):
            return Reply(codes.sign_error_code, codes.sign_error_msg, None, "rejected")
        violations = timestamp_violations(fields.get("timestamp"), payout.timestamp_as_number)
        invalid = codes.invalid_parameter_code
        if operation == "balance":
            if violations:
                return Reply(invalid, invalid_message(violations), None, "rejected")
            data = self._balance_data(merchant)
            return Reply(codes.accepted_code, codes.accepted_msg, data, "found")
        if operation == "payout_query":
            trade_no = fields.get("tradeNo")
            if not isinstance(trade_no, str) or not trade_no:
                violations.append(_required("trade_no"))
            if violations:
                return Reply(invalid, invalid_message(violations), None, "rejected")
            assert isinstance(trade_no, str)
            order = self.ledger.order(trade_no, merchant.merchant_no)
            if order is None or (lag > 0 and order.created_ms > epoch_millis() - lag * 1000):
                return Reply(codes.not_found_code, codes.not_found_msg, None, "not_found")
            data = _query_data(order)
            return Reply(codes.accepted_code, codes.accepted_msg, data, "found")
        return self._create(merchant, payout, fields, violations)

    def _create(
        self, merchant: SandboxMerchant, payout: PayoutProfile, fields: Mapping[str, Any],
        violations: list[Violation],
    ) -> Reply:  # fmt: skip
        violations += amount_type_violations(fields.get("amount"), payout.amount.as_number)
        business = {k: v for k, v in fields.items() if k not in _UNSIGNED}
        try:
            wire = payout.check_fields(business)
        except ValidationError as exc:
            violations += exc.violations
            wire = {}
        except Exception:  # a custom profile's check failed: the gateway's own fault
            return Reply(
                self._sandbox.codes.system_error_code, self._sandbox.codes.system_error_msg,
                None, "rejected",
            )  # fmt: skip
        trade_no = wire.get("tradeNo")
        if not violations and not isinstance(trade_no, str):
            violations.append(_required("trade_no"))
        if violations:
            msg = invalid_message(violations)
            return Reply(self._sandbox.codes.invalid_parameter_code, msg, None, "rejected")
        assert isinstance(trade_no, str)
        merchant_no = merchant.merchant_no
        if self.ledger.order(trade_no, merchant_no) is not None:
            codes = self._sandbox.codes
            return Reply(codes.duplicate_code, codes.duplicate_msg, None, "duplicate")
        amount = Decimal(to_money(business["amount"]))
        if not self.balances.hold(merchant_no, amount):
            msg = "insufficient balance"
            return Reply(INSUFFICIENT_BALANCE, msg, None, "insufficient")
        self._counter += 1
        order = Order(
            merchant_no,
            trade_no,
            f"po{self._sandbox._platform_prefix[2:]}{self._counter:08d}",
            merchant.profile.name,
            amount,
            wire.get("notifyUrl"),
            channel_code=wire.get("channelCode"),
            way_code=wire.get("wayCode"),
            remark=wire.get("remark"),
        )
        self.ledger.store(order)  # not a duplicate: checked above, on this one loop
        self._timers[(merchant_no, trade_no)] = asyncio.get_running_loop().call_later(
            self.delay * self._sandbox.time_factor, self._settle, order, merchant
        )
        data = {
            "tradeNo": trade_no,
            "platFormTradeNo": order.platform_trade_no,
            "status": STATUS_PROCESSING,
            "amount": money_text(amount),
            "message": _PAYOUT_MESSAGES[STATUS_PROCESSING],
        }
        return Reply(self._sandbox.codes.accepted_code, self._sandbox.codes.accepted_msg, data,
                     "stored")  # fmt: skip

    def _settle(self, order: Order, merchant: SandboxMerchant) -> None:
        key = (order.merchant_no, order.trade_no)
        self._timers.pop(key, None)
        outcome = self._decided.pop(order.trade_no, self.outcome)
        paid_out = outcome == "paid"
        when = time.strftime("%Y-%m-%d %H:%M:%S") if paid_out else None
        status = STATUS_PAID if paid_out else STATUS_FAILED
        self.ledger.update(order, status, order.amount if paid_out else Decimal(0), when)
        self.balances.release(order.merchant_no, order.amount, paid_out=paid_out)
        self._settled.setdefault(key, asyncio.Event()).set()
        if order.notify_url:
            self.notifier.start(order, merchant)

    def _balance_data(self, merchant: SandboxMerchant) -> dict[str, Any]:
        now = self.balances.of(merchant.merchant_no)
        # The documented variety (SPEC §9), as the profile declares it: numbers or text,
        # and the misspelt key of some pages.
        payout = merchant.profile.payout
        assert payout is not None  # only payout profiles reach the balance path
        write = _number if payout.balance_as_number else money_text
        return {
            payout.balance_available_key: write(now.available),
            "freezeAmount": write(now.frozen),
            "unsettledAmount": write(now.unsettled),
        }

    def snapshot(self, merchant_no: str | None = None) -> dict[str, Any]:
        """Payouts, their notification attempts and the balances, as JSON-ready data."""
        snap = self.ledger.snapshot(merchant_no=merchant_no)
        numbers = [merchant_no] if merchant_no else list(self._sandbox.merchants)
        return {
            "payouts": snap["orders"],
            "notifications": snap["notifications"],
            "balances": {n: self.balances.of(n).to_dict() for n in numbers},
        }

    async def aclose(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        await self.notifier.aclose()


def add_payout_routes(
    add: Callable[[str, str, Callable[[web.Request], Awaitable[web.Response]]], object],
    payouts: SandboxPayouts,
) -> None:
    """The control API for payouts (what tests and the ``sandbox`` command use), routed by
    ``add(method, path, handler)``:

    - ``GET /sandbox/payouts`` (``?merchantNo=``): payouts, their notifications, balances;
    - ``POST /sandbox/payouts/fund`` ``{"merchantNo", "amount"}``: make money available;
    - ``POST /sandbox/payouts/settle`` ``{"merchantNo"?}``: the next simulated day now;
    - ``POST /sandbox/payouts/decide`` ``{"tradeNo", "outcome": "paid"|"failed"}``.
    """

    async def snapshot(request: web.Request) -> web.Response:
        return web.json_response(payouts.snapshot(request.query.get("merchantNo")))

    async def control(request: web.Request) -> web.Response:
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("send a JSON object")
            action = request.match_info["action"]
            merchant_no = body.get("merchantNo")
            if action == "fund":
                result = payouts.fund(str(merchant_no), str(body["amount"])).to_dict()
            elif action == "settle":
                payouts.balances.settle(merchant_no if isinstance(merchant_no, str) else None)
                result = {}
            else:
                payouts.decide(str(body["tradeNo"]), body.get("outcome", "paid"))
                result = {}
        except (KeyError, TypeError, ValueError, ValidationError, SandboxError) as exc:
            return web.json_response({"error": f"{type(exc).__name__}: {exc}"}, status=400)
        return web.json_response(result)

    add("GET", "/sandbox/payouts", snapshot)
    add("POST", "/sandbox/payouts/{action:fund|settle|decide}", control)


def _required(field: str) -> Violation:
    return Violation(field, "required")


def _number(amount: Decimal) -> int | str:
    # A JSON number only when whole: a fraction could be re-formatted on the way (SPEC §3).
    return int(amount) if amount == amount.to_integral_value() else money_text(amount)


def _query_data(order: Order) -> dict[str, Any]:
    return {
        "tradeNo": order.trade_no,
        "platFormTradeNo": order.platform_trade_no,
        "status": order.status,
        "amount": money_text(order.amount),
        "payAmount": money_text(order.paid_amount),
        "message": _PAYOUT_MESSAGES.get(order.status, ""),
        "successTime": order.success_time,
    }
