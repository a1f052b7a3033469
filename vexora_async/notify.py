"""Payment notifications, the gateway's callbacks to ``notifyUrl`` (SPEC §7).

Three layers, each usable on its own:

- ``verify_notification`` and ``parse_notification``: signature and structure, no I/O.
- ``process_notification``: one whole delivery for any web framework, body in, HTTP status
  and text out. Verifies, optionally checks the amount, runs your callback at most once at a
  time and never again after it succeeded (a ``NotificationStore`` remembers), and says
  ``OK`` only once the callback succeeded.
- ``notification_handler``: the same as an ``aiohttp.web`` handler.

What the gateway is answered (``NotificationResult.http_status`` and ``.body``):

=====================  ======  ==============================================================
outcome                status  when
=====================  ======  ==============================================================
``PROCESSED``          200 OK  the callback ran and returned
``DUPLICATE``          200 OK  processed before: the callback does not run again
``BUSY``               503     another delivery of it is being processed right now
``BAD_SIGNATURE``      400     sign missing, malformed or wrong: the callback never runs
``MALFORMED``          400     not JSON, not an object, or a required field missing/unusable
``AMOUNT_MISMATCH``    400     see ``amount_matches``: the callback never runs
``FAILED``             500     the callback, ``expected_amount`` or the store raised
=====================  ======  ==============================================================

Anything but ``OK`` makes the gateway deliver again later (2 s, 5 s, 10 s, 30 s, 1 h, 3 h,
3 h, 3 h, then never: use the query API). The timestamp is not checked for freshness (the
gateway documents no tolerance, SPEC §8); a replayed genuine notification is a duplicate.
"""

from __future__ import annotations

import decimal
import enum
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any, NoReturn

import attrs
from aiohttp import web
from cattrs.gen import make_dict_structure_fn, override

from . import signing
from .dedupe import Claim, ClaimState, MemoryNotificationStore, NotificationStore
from .errors import (
    ConfigurationError,
    MalformedNotification,
    MalformedResponse,
    SignatureError,
)
from .models import Money, TradeState, TradeStatus, to_money
from .wire import converter, wire_name

__all__ = [
    "REQUIRED_FIELDS",
    "ExpectedAmount",
    "MalformedNotification",
    "NotificationResult",
    "OnPayment",
    "Outcome",
    "PaymentNotification",
    "amount_matches",
    "notification_handler",
    "parse_notification",
    "process_notification",
    "verify_notification",
]

logger = logging.getLogger("vexora_async.notify")

REQUIRED_FIELDS = ("tradeNo", "status", "amount", "sign")


# -- the model ----------------------------------------------------------------------------


def _raw_repr(value: Mapping[str, Any]) -> str:
    return f"<{len(value)} raw field(s)>"


def _read_only(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return value if isinstance(value, MappingProxyType) else MappingProxyType(dict(value))


@attrs.frozen(slots=True)
class PaymentNotification:
    """A verified notification. ``amount`` is what was actually paid (exact ``Decimal``).

    ``raw`` is a read-only view of every received field (unknown ones included, numbers as
    ``int`` or ``Decimal``); it holds the sign and is kept out of ``repr``.
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
        again with a larger amount, and that is new information, not a duplicate.
        """
        # One text per value (10000, 10000.00 -> 1E+4), exact: precision is the digit count.
        exact = decimal.Context(prec=max(1, len(self.amount.as_tuple().digits)))
        amount = str(self.amount.normalize(exact))
        return json.dumps([self.trade_no, self.status.code, amount], ensure_ascii=False)


# -- decoding -----------------------------------------------------------------------------


class _JsonNumber(str):
    """A JSON number as the text it was sent as: the signature covers that text (SPEC §3),
    which no float and not every Decimal reproduces (``1.0E7``, ``-0``)."""

    __slots__ = ()


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    fields = dict(pairs)
    if len(fields) != len(pairs):
        # With a key twice it is unclear which value the gateway signed.
        raise ValueError("duplicate key")
    return fields


def _native(value: Any) -> Any:
    """Decoded JSON with numbers as ``int`` or ``Decimal``, for the caller and the model."""
    if isinstance(value, _JsonNumber):
        return int(value) if value.lstrip("-").isdigit() else Decimal(value)
    if isinstance(value, dict):
        return {key: _native(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_native(item) for item in value]
    return value


def _read_body(
    body: bytes | str | Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields as signed (top-level numbers as their text) and as native values."""
    if isinstance(body, Mapping):
        # Already decoded by a framework: numbers are whatever it made of them.
        fields = dict(body)
        return fields, fields
    try:
        text = body.decode("utf-8-sig") if isinstance(body, bytes) else body
        decoded = json.loads(
            text,
            parse_int=_JsonNumber,
            parse_float=_JsonNumber,
            parse_constant=_reject_constant,
            object_pairs_hook=_unique_keys,
        )
        if not isinstance(decoded, dict):
            raise MalformedNotification("notification body is not a JSON object")
        native: dict[str, Any] = _native(decoded)
    except (ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError, huge ints
        raise MalformedNotification("notification body is not JSON") from None
    signed = {
        key: value if isinstance(value, _JsonNumber) else native[key]
        for key, value in decoded.items()
    }
    return signed, native


# -- verifying ----------------------------------------------------------------------------


def _check_secret(secret: str) -> None:
    if not isinstance(secret, str) or not secret:
        # An empty secret would make every sign computable by anyone.
        raise ConfigurationError("the app secret must be a non-empty string")


def _is_lowercase_hex_digest(value: str) -> bool:
    return len(value) == 32 and all(char in "0123456789abcdef" for char in value)


def verify_notification(fields: Mapping[str, object], secret: str) -> None:
    """Check ``fields["sign"]`` against every other top-level field (SPEC §3).

    Fields the SDK does not know count too, as the gateway signs them. Raises
    ``SignatureError`` when the sign is missing, not text, not 32 lowercase hex digits, or
    wrong; the comparison is constant-time. Messages never contain the secret or the sign.
    Pass the fields as decoded from the body: a number must still be its text as sent, so
    prefer ``parse_notification(body_bytes, ...)`` over decoding the JSON yourself.
    """
    _check_secret(secret)
    given = fields.get(signing.SIGN_FIELD)
    if given is None or given == "":
        raise SignatureError("notification has no sign")
    if not isinstance(given, str):
        raise SignatureError("notification sign is not text")
    if not _is_lowercase_hex_digest(given):
        raise SignatureError("notification sign is not 32 lowercase hex digits")
    if not signing.verify(fields, secret):
        raise SignatureError("notification sign does not verify")


# -- parsing ------------------------------------------------------------------------------


def _structure_millis(value: object, _: object) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise MalformedResponse("timestamp is not epoch milliseconds")


_RAW_KEY = "\x00raw"  # cannot collide with a gateway field
_OVERRIDES: dict[str, Any] = {
    a.name: override(rename=wire_name(a.name)) for a in attrs.fields(PaymentNotification)
}
_OVERRIDES["raw"] = override(rename=_RAW_KEY, struct_hook=lambda value, _: value)
_OVERRIDES["timestamp"] = override(struct_hook=_structure_millis)
# The SDK's converter: its hooks read text, exact Decimal amounts and TradeStatus codes.
_structure_fields = make_dict_structure_fn(PaymentNotification, converter, **_OVERRIDES)


def _require_fields(native: Mapping[str, Any]) -> None:
    missing = [name for name in REQUIRED_FIELDS if native.get(name) in (None, "")]
    if missing:
        raise MalformedNotification(f"notification lacks {', '.join(missing)}")


def _structure(native: dict[str, Any]) -> PaymentNotification:
    try:
        return _structure_fields(
            {**native, _RAW_KEY: MappingProxyType(native)}, PaymentNotification
        )
    except MalformedResponse as exc:
        raise MalformedNotification(f"notification: {exc}") from None
    except (TypeError, ValueError, KeyError) as exc:  # cattrs without detailed validation
        raise MalformedNotification(f"notification: {type(exc).__name__}") from None


def _parse(signed: Mapping[str, Any], native: dict[str, Any], secret: str) -> PaymentNotification:
    _require_fields(native)
    verify_notification(signed, secret)
    return _structure(native)


def parse_notification(body: bytes | str | Mapping[str, Any], secret: str) -> PaymentNotification:
    """Decode, verify and structure one notification.

    ``body`` is best the raw request body (``bytes`` or ``str``): JSON numbers are then
    verified as the exact text sent (``10000.50`` signs as ``10000.50``) and become ``int``
    or ``Decimal``, never ``float``. A mapping someone else decoded is verified as it is; a
    ``float`` in it signs as its shortest ``repr`` (``10000.5``), which may not be what the
    gateway signed.

    Raises ``MalformedNotification`` (not JSON, not an object, ``tradeNo``/``status``/
    ``amount``/``sign`` missing, or a field of the wrong type) and ``SignatureError``.
    """
    signed, native = _read_body(body)
    return _parse(signed, native, secret)


# -- the amount rule ----------------------------------------------------------------------


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


def _moves_money(notification: PaymentNotification) -> bool:
    return notification.status.state in (TradeState.PAID, TradeState.PARTIALLY_PAID)


# -- processing ---------------------------------------------------------------------------

OnPayment = Callable[[PaymentNotification], Awaitable[object]]
"""Your callback: ``async def on_payment(notification) -> None``. Raise to refuse ``OK``."""

ExpectedAmount = Callable[[str], Awaitable[Money | None]]
"""``async def expected(trade_no) -> Decimal | int | None``: the order's amount, ``None`` if
the order is unknown to you."""


class Outcome(enum.Enum):
    """What became of one delivery; each maps to one HTTP answer (see the module doc)."""

    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    BUSY = "busy"
    BAD_SIGNATURE = "bad_signature"
    MALFORMED = "malformed"
    AMOUNT_MISMATCH = "amount_mismatch"
    FAILED = "failed"


_ANSWERS: dict[Outcome, tuple[int, str]] = {
    Outcome.PROCESSED: (200, "OK"),
    Outcome.DUPLICATE: (200, "OK"),
    Outcome.BUSY: (503, "busy, deliver again later"),
    Outcome.BAD_SIGNATURE: (400, "bad signature"),
    Outcome.MALFORMED: (400, "malformed notification"),
    Outcome.AMOUNT_MISMATCH: (400, "amount mismatch"),
    Outcome.FAILED: (500, "error"),
}

_LOG_LEVELS = {
    Outcome.PROCESSED: logging.INFO,
    Outcome.DUPLICATE: logging.INFO,
    Outcome.BUSY: logging.INFO,
    Outcome.BAD_SIGNATURE: logging.WARNING,
    Outcome.MALFORMED: logging.WARNING,
    Outcome.AMOUNT_MISMATCH: logging.ERROR,
    Outcome.FAILED: logging.ERROR,
}


@attrs.frozen(slots=True)
class NotificationResult:
    """The outcome of one delivery and what to answer the gateway with.

    ``trade_no`` is the notified trade number (unverified when the sign was bad);
    ``notification`` is set once the sign verified; ``expected`` holds the amount
    ``expected_amount`` gave on a mismatch; ``error`` the exception behind ``FAILED``.
    """

    outcome: Outcome
    trade_no: str | None = None
    notification: PaymentNotification | None = None
    expected: Money | None = None
    error: BaseException | None = attrs.field(
        default=None, repr=lambda e: "None" if e is None else type(e).__name__
    )

    @property
    def http_status(self) -> int:
        return _ANSWERS[self.outcome][0]

    @property
    def body(self) -> str:
        """Plain text for the response body: ``OK`` exactly when the gateway should stop."""
        return _ANSWERS[self.outcome][1]

    @property
    def ok(self) -> bool:
        return self.http_status == 200


def _trade_label(value: object) -> str | None:
    if value is None:
        return None
    return str(value)[:64]  # unverified input: bounded before it reaches a log line


def _finish(result: NotificationResult) -> NotificationResult:
    error = f" ({type(result.error).__name__})" if result.error is not None else ""
    # %r escapes control characters an unverified trade number might carry into the log.
    logger.log(
        _LOG_LEVELS[result.outcome],
        "notification trade=%r outcome=%s%s",
        result.trade_no,
        result.outcome.value,
        error,
    )
    return result


async def process_notification(
    body: bytes | str | Mapping[str, Any],
    secret: str,
    on_payment: OnPayment,
    *,
    store: NotificationStore | None,
    expected_amount: ExpectedAmount | None = None,
) -> NotificationResult:
    """Handle one delivery from any web framework; answer with the result's status and body.

    Steps: parse and verify (``400`` on failure, the callback never runs); claim the
    notification in ``store`` (``200 OK`` without running anything if it was processed
    before, ``503`` if another delivery holds it right now); when ``expected_amount`` is
    given and the status moves money (paid or partially paid), fetch the expected amount and
    apply ``amount_matches`` (``400`` on a mismatch or an unknown order, so the gateway keeps
    delivering and you can correct your side); await ``on_payment``; mark the notification
    done and answer ``200 OK``. If the callback raises, the claim is released and the answer
    is ``500``, so the gateway's retry runs it again.

    ``store=None`` turns deduplication off: every delivery runs the callback. Never raises
    for anything the gateway (or an attacker) sends; a bad ``secret`` raises
    ``ConfigurationError``.
    """
    _check_secret(secret)
    trade_no: str | None = None
    try:
        signed, native = _read_body(body)
        trade_no = _trade_label(native.get("tradeNo"))
        notification = _parse(signed, native, secret)
    except MalformedNotification:
        return _finish(NotificationResult(Outcome.MALFORMED, trade_no))
    except SignatureError:
        return _finish(NotificationResult(Outcome.BAD_SIGNATURE, trade_no))
    return _finish(await _run_once(notification, on_payment, store, expected_amount))


async def _run_once(
    notification: PaymentNotification,
    on_payment: OnPayment,
    store: NotificationStore | None,
    expected_amount: ExpectedAmount | None,
) -> NotificationResult:
    def result(outcome: Outcome, **extra: Any) -> NotificationResult:
        return NotificationResult(outcome, notification.trade_no, notification, **extra)

    key = notification.idempotency_key
    if store is None:
        claim = Claim(ClaimState.CLAIMED)
    else:
        try:
            claim = await store.claim(key)
        except Exception as exc:
            return result(Outcome.FAILED, error=exc)
        if claim.state is ClaimState.DONE:
            return result(Outcome.DUPLICATE)
        if claim.state is ClaimState.BUSY:
            return result(Outcome.BUSY)
    try:
        if expected_amount is not None and _moves_money(notification):
            found = await expected_amount(notification.trade_no)
            expected = None if found is None else to_money(found, "expected_amount")
            if expected is None or not amount_matches(notification, expected):
                await _release(store, key, claim)
                return result(Outcome.AMOUNT_MISMATCH, expected=expected)
        await on_payment(notification)
    except BaseException as exc:
        # Whatever stopped the callback (even cancellation), the next delivery must run it.
        await _release(store, key, claim)
        if not isinstance(exc, Exception):
            raise
        return result(Outcome.FAILED, error=exc)
    if store is not None:
        try:
            await store.complete(key, claim.token)
        except Exception as exc:
            # The payment is handled; answering 500 would only invite a second run.
            logger.error(
                "notification trade=%r could not be marked done (%s)",
                notification.trade_no,
                type(exc).__name__,
            )
    return result(Outcome.PROCESSED)


async def _release(store: NotificationStore | None, key: str, claim: Claim) -> None:
    if store is None:
        return
    try:
        await store.release(key, claim.token)
    except Exception as exc:
        # The lease will expire on its own; the answer to the gateway stays the same.
        logger.error("notification claim could not be released (%s)", type(exc).__name__)


# -- aiohttp ------------------------------------------------------------------------------


def notification_handler(
    secret: str,
    on_payment: OnPayment,
    *,
    store: NotificationStore | None = None,
    expected_amount: ExpectedAmount | None = None,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """An ``aiohttp.web`` handler for your ``notifyUrl``: ``app.router.add_post(path, h)``.

    Answers exactly as ``process_notification`` decides (``200 OK`` only once ``on_payment``
    succeeded or had succeeded before). ``store`` defaults to a new
    ``MemoryNotificationStore`` for this handler; pass an ``SQLiteNotificationStore`` (or your
    own) so that deduplication survives restarts and is shared by worker processes.
    """
    _check_secret(secret)
    chosen: NotificationStore = store if store is not None else MemoryNotificationStore()

    async def handle(request: web.Request) -> web.Response:
        result = await process_notification(
            await request.read(),
            secret,
            on_payment,
            store=chosen,
            expected_amount=expected_amount,
        )
        return web.Response(status=result.http_status, text=result.body)

    return handle
