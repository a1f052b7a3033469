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

The payout idempotency key names the kind, so one store can serve both endpoints.

Merging with the ``notify`` package (per-kind key sets, ``owns_trade``, ``WRONG_KIND``): this
module's pieces are that package's kind declaration, ``declare_kind(NotificationKind(
"payout", PAYOUT_KEYS, PayoutNotification, payout_amount_matches, payout_moves_money))``;
the processing functions here then become ``process_notification(..., kind="payout",
owns_trade=owns_payout)`` and ``notification_handler(..., kind=..., owns_trade=...)``.
"""

from __future__ import annotations

import decimal
import json
from collections.abc import Awaitable, Callable, Collection, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import attrs
from aiohttp import web
from cattrs.gen import make_dict_structure_fn, override

from .dedupe import MemoryNotificationStore, NotificationStore
from .errors import ConfigurationError, MalformedNotification, MalformedResponse, SignatureError
from .models import TradeState
from .notify import (
    ExpectedAmount,
    NotificationResult,
    OnPayment,
    Outcome,
    _check_secret,
    _finish,
    _read_body,
    _run_once,
    _structure_millis,
    _trade_label,
    process_notification,
    verify_notification,
)
from .payout_models import PayoutStatus
from .wire import converter, wire_name

__all__ = [
    "PAYOUT_KEYS",
    "OwnsTrade",
    "PayoutNotification",
    "TradePrefix",
    "WrongKind",
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

OwnsTrade = Callable[[str], Awaitable[bool]]
"""``async def owns(trade_no) -> bool``: ``True`` only when ``trade_no`` is one of yours of
the endpoint's kind (a payout at the payout endpoint, a payment at the payment endpoint)."""

OnPayout = Callable[["PayoutNotification"], Awaitable[object]]


class WrongKind(MalformedNotification):
    """The notification's trade number is not one of this endpoint's kind (a payout's result
    at the payment endpoint, or the reverse): refused before anything ran."""


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
        factory=dict, repr=lambda v: f"<{len(v)} raw field(s)>", eq=False
    )

    @property
    def idempotency_key(self) -> str:
        """``["payout", trade number, status, amount]``: the kind first, so one store can
        hold payment and payout keys without a payout's result passing for a payment's."""
        exact = decimal.Context(prec=max(1, len(self.amount.as_tuple().digits)))
        amount = str(self.amount.normalize(exact))
        return json.dumps(["payout", self.trade_no, self.status.code, amount])


def payout_amount_matches(notification: PayoutNotification, expected: Decimal | int) -> bool:
    """Paid out: the amount equals what the payout was created for, exactly. A failed or
    processing payout moved no money: always fits. (There is no partial payout.)"""
    if notification.status.state is TradeState.PAID:
        return notification.amount == expected
    return True


def payout_moves_money(notification: PayoutNotification) -> bool:
    """Whether the amount check applies: only a paid-out result moved money."""
    return notification.status.state is TradeState.PAID


_RAW_KEY = "\x00raw"
_OVERRIDES: dict[str, Any] = {
    a.name: override(rename=wire_name(a.name)) for a in attrs.fields(PayoutNotification)
}
_OVERRIDES["raw"] = override(rename=_RAW_KEY, struct_hook=lambda value, _: value)
_OVERRIDES["timestamp"] = override(struct_hook=_structure_millis)
_structure_fields = make_dict_structure_fn(PayoutNotification, converter, **_OVERRIDES)
_REQUIRED = ("tradeNo", "status", "amount", "sign")


def _parse(
    signed: Mapping[str, Any], native: dict[str, Any], secret: str, keys: Collection[str]
) -> PayoutNotification:
    unknown = sorted(k for k in native if k not in keys)
    if unknown:
        # Names only, bounded: unverified input.
        listed = ", ".join(repr(k[:40]) for k in unknown[:5])
        raise MalformedNotification(f"payout notification has undocumented keys: {listed}")
    missing = [name for name in _REQUIRED if native.get(name) in (None, "")]
    if missing:
        raise MalformedNotification(f"payout notification lacks {', '.join(missing)}")
    verify_notification(signed, secret)
    try:
        return _structure_fields({**native, _RAW_KEY: MappingProxyType(native)}, PayoutNotification)
    except MalformedResponse as exc:
        raise MalformedNotification(f"payout notification: {exc}") from None
    except (TypeError, ValueError, KeyError) as exc:
        raise MalformedNotification(f"payout notification: {type(exc).__name__}") from None


def _keys(extra_keys: Collection[str]) -> frozenset[str]:
    if isinstance(extra_keys, str) or any(not isinstance(k, str) or not k for k in extra_keys):
        raise ConfigurationError("extra_keys must be a collection of non-empty key names")
    return PAYOUT_KEYS | frozenset(extra_keys)


def parse_payout_notification(
    body: bytes | str | Mapping[str, Any], secret: str, *, extra_keys: Collection[str] = ()
) -> PayoutNotification:
    """Decode, check the keys, verify and structure one payout notification.

    Raises ``MalformedNotification`` and ``SignatureError`` like ``parse_notification``.
    """
    _check_secret(secret)
    signed, native = _read_body(body)
    return _parse(signed, native, secret, _keys(extra_keys))


async def _owned(owns: OwnsTrade, trade_no: str) -> bool:
    return (await owns(trade_no)) is True


async def process_payout_notification(
    body: bytes | str | Mapping[str, Any],
    secret: str,
    on_payout: OnPayout,
    *,
    owns_payout: OwnsTrade,
    store: NotificationStore | None,
    expected_amount: ExpectedAmount | None = None,
    extra_keys: Collection[str] = (),
) -> NotificationResult:
    """One delivery at your payout endpoint, answered like ``process_notification``.

    Steps: the keys (``PAYOUT_KEYS`` and ``extra_keys``), the sign, the structure (400 on any
    failure); ``owns_payout(trade_no)`` must return ``True`` (else 400 and nothing runs: a
    payment's notification at the payout endpoint is refused); then the claim in ``store``,
    ``expected_amount`` for a paid-out result (``payout_amount_matches``), ``on_payout``,
    ``200 OK``. A refusal carries a ``WrongKind`` in ``result.error``.
    """
    _check_secret(secret)
    keys = _keys(extra_keys)
    trade_no: str | None = None
    try:
        signed, native = _read_body(body)
        trade_no = _trade_label(native.get("tradeNo"))
        notification = _parse(signed, native, secret, keys)
    except MalformedNotification as exc:
        return _finish(NotificationResult(Outcome.MALFORMED, trade_no, error=exc))
    except SignatureError as exc:
        return _finish(NotificationResult(Outcome.BAD_SIGNATURE, trade_no, error=exc))
    refusal = await _check_kind(owns_payout, notification.trade_no, "payout")
    if refusal is not None:
        return _finish(refusal)
    # ``_run_once`` reads ``status.state``, ``amount`` and ``idempotency_key``, which a
    # ``PayoutNotification`` has (a ``PayoutStatus`` is never "partially paid").
    result = await _run_once(
        notification,  # type: ignore[arg-type]
        on_payout,  # type: ignore[arg-type]
        store,
        expected_amount,
    )
    return _finish(result)


async def _check_kind(owns: OwnsTrade, trade_no: str, kind: str) -> NotificationResult | None:
    try:
        owned = await _owned(owns, trade_no)
    except Exception as exc:  # your lookup failed: 500, the gateway delivers again
        return NotificationResult(Outcome.FAILED, trade_no, error=exc)
    if owned:
        return None
    error = WrongKind(f"trade {trade_no[:64]!r} is not one of your {kind}s")
    return NotificationResult(Outcome.MALFORMED, trade_no, error=error)


async def process_payment_notification(
    body: bytes | str | Mapping[str, Any],
    secret: str,
    on_payment: OnPayment,
    *,
    owns_payment: OwnsTrade,
    store: NotificationStore | None,
    expected_amount: ExpectedAmount | None = None,
) -> NotificationResult:
    """``process_notification`` that also refuses a trade that is not one of your payments
    (a payout's result sent to the payment endpoint): 400, nothing runs."""
    _check_secret(secret)
    try:
        signed, native = _read_body(body)
    except MalformedNotification:
        signed = native = {}
    trade = native.get("tradeNo")
    # Only a genuine notification is looked up in your records (a forgery gets the usual
    # 400 below); the refusal comes before the store and the callback.
    if isinstance(trade, str) and trade and _genuine(signed, secret):
        refusal = await _check_kind(owns_payment, trade, "payment")
        if refusal is not None:
            return _finish(refusal)
    return await process_notification(
        body, secret, on_payment, store=store, expected_amount=expected_amount
    )


def _genuine(signed: Mapping[str, Any], secret: str) -> bool:
    try:
        verify_notification(signed, secret)
    except SignatureError:
        return False
    return True


def _handler(
    process: Callable[[bytes], Awaitable[NotificationResult]],
) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        result = await process(await request.read())
        return web.Response(status=result.http_status, text=result.body)

    return handle


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
    _check_secret(secret)
    keys = _keys(extra_keys)
    chosen: NotificationStore = store if store is not None else MemoryNotificationStore()

    async def process(body: bytes) -> NotificationResult:
        return await process_payout_notification(
            body, secret, on_payout, owns_payout=owns_payout, store=chosen,
            expected_amount=expected_amount, extra_keys=keys,
        )  # fmt: skip

    return _handler(process)


def payment_notification_handler(
    secret: str,
    on_payment: OnPayment,
    *,
    owns_payment: OwnsTrade,
    store: NotificationStore | None = None,
    expected_amount: ExpectedAmount | None = None,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """``notification_handler`` for the ``notifyUrl`` of your checkouts, refusing any trade
    that ``owns_payment`` does not confirm (a payout's result sent here)."""
    _check_secret(secret)
    chosen: NotificationStore = store if store is not None else MemoryNotificationStore()

    async def process(body: bytes) -> NotificationResult:
        return await process_payment_notification(
            body, secret, on_payment, owns_payment=owns_payment, store=chosen,
            expected_amount=expected_amount,
        )  # fmt: skip

    return _handler(process)


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
