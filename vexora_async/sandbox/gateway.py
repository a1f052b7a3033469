"""``Gateway``: the gateway's behaviour without HTTP: merchants, checkout, query, payments.

The HTTP layer (``app.py``) parses requests, applies faults and writes the answers this module
decides; ``server.py`` serves it (``Sandbox`` is a ``Gateway`` that can build its app and
clients). This module imports neither aiohttp's server nor the client. Everything here runs
on the sandbox's event loop.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Iterable, Mapping
from decimal import ROUND_DOWN, Decimal
from types import MappingProxyType
from typing import Any, Literal

from ..errors import ConfigurationError, ValidationError, Violation
from ..models import Money, to_money
from ..regions import RegionProfile, registry
from ..signing import verify
from ..wire import epoch_millis
from .checks import Reply, amount_type_violations, invalid_message, timestamp_violations
from .codes import (
    STATUS_FAILED,
    STATUS_MESSAGES,
    STATUS_PAID,
    STATUS_PARTIAL,
    STATUS_PROCESSING,
    SandboxCodes,
    SandboxError,
)
from .faults import FaultPolicy
from .ledger import Ledger, NotificationAttempt, Order, default_partial_amount, money_text
from .merchants import SandboxMerchant
from .notifier import NOTIFY_SCHEDULE, Notifier
from .payouts import SandboxPayouts, payout_endpoints

__all__ = ["Gateway", "PayOutcome", "Reply", "invalid_message", "paths_of"]

PayOutcome = Literal["paid", "partial", "failed"]

_UNSIGNED = frozenset({"sign", "timestamp"})
_PAYABLE = frozenset({STATUS_PROCESSING, STATUS_PARTIAL})


class Gateway:
    """The fake Vexora/Paypro gateway's behaviour; ``Sandbox`` (``server.py``) serves it.

    ``time_factor`` scales the notification retry schedule (0.001 runs it in milliseconds).
    Notifications go only to loopback hosts unless ``allow_external_notify`` is set.
    ``codes`` are the answers' codes and messages (``SandboxCodes``: a duplicate ``tradeNo``
    answers ``8000`` unless told otherwise).
    """

    def __init__(
        self,
        merchants: Iterable[SandboxMerchant] = (),
        *,
        time_factor: float = 1.0,
        allow_external_notify: bool = False,
        notify_timeout: float = 10.0,
        notify_schedule: Iterable[float] = NOTIFY_SCHEDULE,
        log_size: int = 10_000,
        faults: FaultPolicy | None = None,
        codes: SandboxCodes | None = None,
    ) -> None:
        if not time_factor > 0:
            raise ConfigurationError("time_factor must be greater than 0")
        self.codes = codes or SandboxCodes()
        self.time_factor = time_factor
        self.allow_external_notify = allow_external_notify
        self.ledger = Ledger(log_size=log_size)
        self.faults = faults or FaultPolicy()
        self.notifier = Notifier(
            self.ledger,
            time_factor=time_factor,
            schedule=tuple(notify_schedule),
            allow_external=allow_external_notify,
            timeout=notify_timeout,
        )
        # Set by the server once bound. Payment URLs start with ``payment_base_url``, or with
        # the request's own host when it is None (a server bound to every interface).
        self.base_url: str | None = None
        self.payment_base_url: str | None = None
        self._merchants: dict[str, SandboxMerchant] = {}
        self._served_paths: frozenset[str] | None = None
        # 2 + 6 hex + 8 digits: 16 characters like the gateway's, unique within a run and
        # unlikely to repeat across runs.
        self._platform_prefix = "sb" + secrets.token_hex(3)
        self._platform_counter = itertools.count(1)
        # Many orders share one notify URL: keep one copy of each.
        self._urls: dict[str, str] = {}
        for merchant in merchants:
            self.add_merchant(merchant)
        self.payouts = SandboxPayouts(self)  # payouts and balances (SPEC §9)

    # -- merchants and routes -------------------------------------------------------------

    @property
    def merchants(self) -> Mapping[str, SandboxMerchant]:
        """Merchants by number (read-only view)."""
        return MappingProxyType(self._merchants)

    def merchant(self, merchant_no: str | None) -> SandboxMerchant | None:
        return self._merchants.get(merchant_no) if merchant_no is not None else None

    def find_merchant(self, key: str) -> SandboxMerchant:
        """A merchant by number, or the first one whose profile has the name ``key``."""
        merchant = self._merchants.get(key)
        if merchant is None:
            wanted = key.upper()
            merchant = next(
                (m for m in self._merchants.values() if m.profile.name.upper() == wanted), None
            )
        if merchant is None:
            raise SandboxError(f"no merchant numbered or with a profile named {key!r}")
        return merchant

    def add_merchant(self, merchant: SandboxMerchant) -> SandboxMerchant:
        """Add a merchant; while serving, only one whose paths are already routed."""
        known = self._merchants.get(merchant.merchant_no)
        if known is not None and known != merchant:
            raise ConfigurationError(f"merchant {merchant.merchant_no} is already configured")
        if self._served_paths is not None and not paths_of(merchant.profile) <= self._served_paths:
            raise ConfigurationError(
                f"profile {merchant.profile.name} uses paths the running sandbox does not serve;"
                " add the merchant before starting it"
            )
        self._merchants[merchant.merchant_no] = merchant
        return merchant

    def profiles(self) -> list[RegionProfile]:
        """Every registered profile and every merchant's profile (their paths are served)."""
        found = {p.name.upper(): p for p in registry}
        found.update((m.profile.name.upper(), m.profile) for m in self._merchants.values())
        return list(found.values())

    def routed(self) -> frozenset[str]:
        """The gateway paths an app serves (every profile's); merchants added later must use
        these. Called by the app when it is built."""
        self._served_paths = frozenset(p for prof in self.profiles() for p in paths_of(prof))
        return self._served_paths

    # -- gateway operations ---------------------------------------------------------------

    def checkout(
        self, merchant: SandboxMerchant, fields: Mapping[str, Any], base_url: str
    ) -> Reply:
        """Check a checkout request like the gateway and store the order (SPEC §3-§5)."""
        codes = self.codes
        if not verify(fields, merchant.secret):
            return Reply(codes.sign_error_code, codes.sign_error_msg, None, "rejected")
        profile = merchant.profile
        violations = timestamp_violations(fields.get("timestamp"), profile.timestamp_as_number)
        violations += amount_type_violations(fields.get("amount"), profile.amount.as_number)
        business = {k: v for k, v in fields.items() if k not in _UNSIGNED}
        try:
            wire = profile.check_fields(business)
        except ValidationError as exc:
            violations += exc.violations
            wire = {}
        except Exception:  # a custom profile's check failed: the gateway's own fault
            return Reply(codes.system_error_code, codes.system_error_msg, None, "rejected")
        trade_no = wire.get("tradeNo")
        if not violations and not isinstance(trade_no, str):
            violations.append(Violation("trade_no", "required"))
        if violations:
            msg = invalid_message(violations)
            return Reply(codes.invalid_parameter_code, msg, None, "rejected")
        assert isinstance(trade_no, str)
        order = Order(
            merchant.merchant_no,
            trade_no,
            f"{self._platform_prefix}{next(self._platform_counter):08d}",
            profile.name,
            Decimal(to_money(business["amount"])),  # as received: "10.50" stays 10.50
            self._shared(wire.get("notifyUrl")),
            return_url=self._shared(wire.get("returnUrl")),
            channel_code=wire.get("channelCode"),
            way_code=wire.get("wayCode"),
            remark=wire.get("remark"),
        )
        if not self.ledger.store(order):
            return Reply(codes.duplicate_code, codes.duplicate_msg, None, "duplicate")
        data = _link_data(merchant, order, base_url)
        return Reply(codes.accepted_code, codes.accepted_msg, data, "stored")

    def query(
        self, merchant: SandboxMerchant, fields: Mapping[str, Any], *, lag: float = 0.0
    ) -> Reply:
        """Answer ``queryPayInResult`` from the ledger (SPEC §6); with ``lag`` (seconds), from
        a replica that far behind: an order committed more recently is not found."""
        codes = self.codes
        if not verify(fields, merchant.secret):
            return Reply(codes.sign_error_code, codes.sign_error_msg, None, "rejected")
        violations = timestamp_violations(
            fields.get("timestamp"), merchant.profile.timestamp_as_number
        )
        trade_no = fields.get("tradeNo")
        if not isinstance(trade_no, str) or not trade_no:
            violations.append(Violation("trade_no", "required"))
        if violations:
            msg = invalid_message(violations)
            return Reply(codes.invalid_parameter_code, msg, None, "rejected")
        assert isinstance(trade_no, str)
        order = self.ledger.order(trade_no, merchant.merchant_no)
        if order is None or (lag > 0 and order.created_ms > epoch_millis() - lag * 1000):
            return Reply(codes.not_found_code, codes.not_found_msg, None, "not_found")
        return Reply(codes.accepted_code, codes.accepted_msg, _query_data(order), "found")

    def _shared(self, url: str | None) -> str | None:
        if url is None:
            return None
        return self._urls.setdefault(url, url)

    # -- payments and notifications -------------------------------------------------------

    async def pay(
        self,
        merchant_no: str | None,
        trade_no: str,
        outcome: PayOutcome = "paid",
        amount: Money | str | None = None,
    ) -> Order:
        """Pay an order as its payer would at the cashier, and notify the merchant.

        ``paid`` pays the amount (status ``0000``); ``partial`` pays ``amount`` in total,
        by default half of what is left (``0001``); ``failed`` fails it (``00029``).
        ``merchant_no`` may be ``None`` when only one merchant has ``trade_no``.
        """
        return self.apply_payment(merchant_no, trade_no, outcome, amount)

    def apply_payment(
        self,
        merchant_no: str | None,
        trade_no: str,
        outcome: str,
        amount: Money | str | None = None,
    ) -> Order:
        """``pay`` for code already on the sandbox's loop (the HTTP handlers)."""
        order = self._order(trade_no, merchant_no)
        merchant = self._merchants[order.merchant_no]
        status, paid = _payment(order, outcome, amount, merchant.profile.amount.decimals)
        # The gateway's local time, as its query and notification write it.
        when = time.strftime("%Y-%m-%d %H:%M:%S") if status != STATUS_FAILED else None
        before = order.paid_amount
        self.ledger.update(order, status, paid, when)
        self.payouts.collected(order, before)  # the merchant's balance grows
        if order.notify_url:
            self.notifier.start(order, merchant)
        return order

    def redeliver(self, trade_no: str, merchant_no: str | None = None) -> Order:
        """Send the order's current state again, freshly stamped and signed, as the gateway
        does now and then (a merchant must process such a repeat only once)."""
        order = self._order(trade_no, merchant_no)
        if not order.notify_url:
            raise SandboxError(f"trade {trade_no} has no notify URL")
        self.notifier.start(order, self._merchants[order.merchant_no])
        return order

    async def notifications_settled(
        self, trade_no: str, merchant_no: str | None = None, *, timeout: float | None = None
    ) -> list[NotificationAttempt]:
        """Wait until the latest notification of ``trade_no`` was acknowledged, ran out of
        retries or was skipped; return its attempts. Raises ``SandboxError`` when no
        notification was started and ``asyncio.TimeoutError`` after ``timeout`` seconds."""
        return await self.notifier.settled(self._order(trade_no, merchant_no), timeout=timeout)

    def _order(self, trade_no: str, merchant_no: str | None) -> Order:
        order = self.ledger.order(trade_no, merchant_no)
        if order is None:
            raise SandboxError(f"no order for trade {trade_no}")
        return order

    async def aclose(self) -> None:
        """Stop notification deliveries (the server calls this when it stops)."""
        await self.notifier.aclose()
        await self.payouts.aclose()

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(merchants={sorted(self._merchants)!r}, base_url={self.base_url!r})"


def paths_of(profile: RegionProfile) -> frozenset[str]:
    """Every gateway path a profile serves: checkout and query, and its payout endpoints."""
    return frozenset((profile.checkout_path, profile.query_path)) | frozenset(
        path for _, path in payout_endpoints(profile)
    )


def _qr_payload(order: Order) -> str:
    # EMV-like tag-length-value text; clients keep it as an opaque string.
    merchant = f"0014SANDBOX.VEXORA01{len(order.platform_trade_no):02d}{order.platform_trade_no}"
    amount = money_text(order.amount)
    return f"00020101021226{len(merchant):02d}{merchant}54{len(amount):02d}{amount}6304"


def _link_data(merchant: SandboxMerchant, order: Order, base_url: str) -> dict[str, Any]:
    """The checkout ``data`` in the shape of the merchant's gateway system (SPEC §5)."""
    data: dict[str, Any] = {
        "tradeNo": order.trade_no,
        "platFormTradeNo": order.platform_trade_no,
        "status": order.status,
    }
    shape = merchant.profile.response  # each key as this system spells it (the first)
    data[shape.message[0]] = shape.status_text
    data["remark"] = order.remark or ""
    data[shape.payment_url[0]] = f"{base_url}/cashier/{order.platform_trade_no}"
    if shape.qr_payload and (shape.qr_ways is None or order.way_code in shape.qr_ways):
        data[shape.qr_payload[0]] = _qr_payload(order)
    return data


def _query_data(order: Order) -> dict[str, Any]:
    return {
        "tradeNo": order.trade_no,
        "platFormTradeNo": order.platform_trade_no,
        "status": order.status,
        "amount": money_text(order.amount),
        "payAmount": money_text(order.paid_amount),
        "message": STATUS_MESSAGES.get(order.status, ""),
        "successTime": order.success_time,
        "channelCode": order.channel_code,
        "wayCode": order.way_code,
        "remark": order.remark,
    }


def _payment(
    order: Order, outcome: str, amount: Money | str | None, decimals: int
) -> tuple[str, Decimal]:
    """The status and total paid amount after a payment, or ``SandboxError``."""
    if order.status not in _PAYABLE:
        raise SandboxError(f"trade {order.trade_no} is final already (status {order.status})")
    try:
        given = None if amount is None else Decimal(to_money(amount))
    except ValidationError as exc:
        raise SandboxError(f"payment amount: {exc}") from None
    if outcome == "failed":
        if given is not None:
            raise SandboxError("a failed payment takes no amount")
        return STATUS_FAILED, order.paid_amount
    if outcome == "paid":
        if given is not None and given != order.amount:
            raise SandboxError("a full payment pays the order's amount; use outcome 'partial'")
        return STATUS_PAID, order.amount
    if outcome != "partial":
        raise SandboxError("outcome must be 'paid', 'partial' or 'failed'")
    paid = given if given is not None else default_partial_amount(order, decimals)
    if not order.paid_amount < paid < order.amount:
        raise SandboxError(
            "a partial payment must be more than paid so far and less than the amount"
        )
    if paid != paid.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_DOWN):
        raise SandboxError(f"the currency has at most {decimals} decimals")
    return STATUS_PARTIAL, paid
