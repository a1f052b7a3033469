"""One whole delivery, for any web framework: body in, HTTP status and text out.

Verifies (keys, sign, structure), optionally checks that the trade is this endpoint's kind
and that the amount fits, runs your callback at most once at a time and never again after
it succeeded (a ``NotificationStore`` remembers), and says ``OK`` only once it succeeded.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable, Collection
from decimal import Decimal
from typing import Any, TypeVar

import attrs

from ..dedupe import Claim, ClaimState, MemoryNotificationStore, NotificationStore
from ..errors import (
    AmbiguousNotification,
    MalformedNotification,
    SignatureError,
    UnknownNotificationKey,
)
from ..models import Money, to_money
from .decode import Body, read_body
from .kinds import NotificationKind, notification_kind
from .model import Notification, PaymentNotification
from .verify import check_secret, parse_fields, shown_keys

__all__ = [
    "DEFAULT_STORE",
    "ExpectedAmount",
    "NotificationOutcome",
    "NotificationResult",
    "OnPayment",
    "OwnsTrade",
    "process_notification",
]

logger = logging.getLogger("vexora_async.notify")

N = TypeVar("N", bound=Notification)

OnPayment = Callable[[PaymentNotification], Awaitable[object]]
"""Your callback: ``async def on_payment(notification) -> None``. Raise to refuse ``OK``."""

ExpectedAmount = Callable[[str], Awaitable[Money | None]]
"""``async def expected(trade_no) -> Decimal | int | None``: the order's amount, ``None`` if
the order is unknown to you."""

OwnsTrade = Callable[[str], Awaitable[bool]]
"""``async def owns_trade(trade_no) -> bool``: ``True`` when the trade number is one of
yours of the endpoint's kind (a payment order at the payment endpoint, a payout at the
payout one). Anything but ``True`` refuses the notification (``WRONG_KIND``)."""

DEFAULT_STORE: NotificationStore = MemoryNotificationStore()
"""``process_notification``'s store when none is given: one per process, in memory."""


class NotificationOutcome(enum.Enum):
    """What became of one delivery; each maps to one HTTP answer (see ``vexora_async.notify``)."""

    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    BUSY = "busy"
    BAD_SIGNATURE = "bad_signature"
    MALFORMED = "malformed"
    WRONG_KIND = "wrong_kind"
    AMOUNT_MISMATCH = "amount_mismatch"
    FAILED = "failed"


_ANSWERS: dict[NotificationOutcome, tuple[int, str]] = {
    NotificationOutcome.PROCESSED: (200, "OK"),
    NotificationOutcome.DUPLICATE: (200, "OK"),
    NotificationOutcome.BUSY: (503, "busy, deliver again later"),
    NotificationOutcome.BAD_SIGNATURE: (400, "bad signature"),
    NotificationOutcome.MALFORMED: (400, "malformed notification"),
    NotificationOutcome.WRONG_KIND: (400, "not a notification for this endpoint"),
    NotificationOutcome.AMOUNT_MISMATCH: (400, "amount mismatch"),
    NotificationOutcome.FAILED: (500, "error"),
}

_LOG_LEVELS = {
    NotificationOutcome.PROCESSED: logging.INFO,
    NotificationOutcome.DUPLICATE: logging.INFO,
    NotificationOutcome.BUSY: logging.INFO,
    NotificationOutcome.BAD_SIGNATURE: logging.WARNING,
    NotificationOutcome.MALFORMED: logging.WARNING,
    NotificationOutcome.WRONG_KIND: logging.ERROR,
    NotificationOutcome.AMOUNT_MISMATCH: logging.ERROR,
    NotificationOutcome.FAILED: logging.ERROR,
}


@attrs.frozen(slots=True)
class NotificationResult:
    """The outcome of one delivery and what to answer the gateway with.

    ``trade_no`` is the notified trade number (unverified when the sign was bad);
    ``notification`` is set once the sign verified (a ``PaymentNotification`` for payments);
    ``expected`` holds the amount ``expected_amount`` gave on a mismatch; ``error`` the
    exception behind ``FAILED``, ``MALFORMED`` or ``BAD_SIGNATURE`` (its repr shows the type
    only).
    """

    outcome: NotificationOutcome
    trade_no: str | None = None
    notification: Notification | None = None
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
    if not isinstance(value, str | int | float | Decimal):
        return None  # nothing, or not a trade number: an array's text could be ~1,000 deep
    return str(value)[:64]  # unverified input: bounded before it reaches a log line


def _finish(result: NotificationResult) -> NotificationResult:
    error = "" if result.error is None else f" ({type(result.error).__name__})"
    if isinstance(result.error, UnknownNotificationKey):
        # Key names (never values): what a merchant needs to decide on ``extra_keys``.
        error = f" (UnknownNotificationKey: {shown_keys(result.error.keys)})"
    elif isinstance(result.error, AmbiguousNotification):
        error = f" (AmbiguousNotification: {result.error.field!r} holds {result.error.key!r}=)"
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
    body: Body,
    secret: str,
    on_payment: Callable[[N], Awaitable[object]],
    *,
    store: NotificationStore | None = DEFAULT_STORE,
    expected_amount: ExpectedAmount | None = None,
    kind: NotificationKind[N] | str = "payment",
    extra_keys: Collection[str] = (),
    owns_trade: OwnsTrade | None = None,
) -> NotificationResult:
    """Handle one delivery from any web framework; answer with the result's status and body.

    Steps: check the keys (only the kind's documented ones and ``extra_keys``), parse and
    verify (``400`` on failure, the callback never runs); when ``owns_trade`` is given and
    does not return ``True``, refuse (``400 WRONG_KIND``: e.g. a payout's notification at
    the payment endpoint); claim the notification in ``store`` (``200 OK`` without running
    anything if it was processed before, ``503`` if another delivery holds it right now);
    when ``expected_amount`` is given and the status moves money (paid or partially paid),
    fetch the expected amount and apply ``amount_matches`` (``400`` on a mismatch or an
    unknown order, so the gateway keeps delivering and you can correct your side); await
    ``on_payment``; mark the notification done and answer ``200 OK``. If the callback raises,
    the claim is released and the answer is ``500``, so the gateway's retry runs it again.

    ``store`` defaults to ``DEFAULT_STORE``, one ``MemoryNotificationStore`` for the process;
    pass an ``SQLiteNotificationStore`` (or your own) to survive restarts, or ``None`` to
    turn deduplication off (every delivery runs the callback). ``kind`` picks the key set,
    model and amount rule (``"payment"``). Never raises for anything the gateway (or an
    attacker) sends; a bad ``secret``, ``kind`` or ``extra_keys`` raises
    ``ConfigurationError``.
    """
    check_secret(secret)
    chosen = notification_kind(kind)
    keys = chosen.allowed_keys(extra_keys)
    return await _process(
        body, secret, on_payment, store, expected_amount, chosen, keys, owns_trade
    )


async def _process(
    body: Body,
    secret: str,
    on_payment: Callable[[N], Awaitable[object]],
    store: NotificationStore | None,
    expected_amount: ExpectedAmount | None,
    kind: NotificationKind[N],
    keys: Collection[str],
    owns_trade: OwnsTrade | None,
) -> NotificationResult:
    """``process_notification`` with its settings already checked (the handler's path)."""
    trade_no: str | None = None
    try:
        signed, native = read_body(body)
        trade_no = _trade_label(signed.get("tradeNo"))  # as sent, a number's text too
        notification = parse_fields(signed, native, secret, kind, keys)
    except MalformedNotification as exc:
        return _finish(NotificationResult(NotificationOutcome.MALFORMED, trade_no, error=exc))
    except SignatureError as exc:
        return _finish(NotificationResult(NotificationOutcome.BAD_SIGNATURE, trade_no, error=exc))
    return _finish(
        await _run_once(notification, on_payment, store, expected_amount, kind, owns_trade)
    )


async def _run_once(
    notification: N,
    on_payment: Callable[[N], Awaitable[object]],
    store: NotificationStore | None,
    expected_amount: ExpectedAmount | None,
    kind: NotificationKind[N],
    owns_trade: OwnsTrade | None,
) -> NotificationResult:
    def result(outcome: NotificationOutcome, **extra: Any) -> NotificationResult:
        return NotificationResult(outcome, notification.trade_no, notification, **extra)

    if owns_trade is not None:
        # Before the claim: a misrouted notification leaves no trace in the store.
        try:
            owned = await owns_trade(notification.trade_no)
        except Exception as exc:
            return result(NotificationOutcome.FAILED, error=exc)
        if owned is not True:
            return result(NotificationOutcome.WRONG_KIND)
    key = notification.idempotency_key
    if store is None:
        claim = Claim(ClaimState.CLAIMED)
    else:
        try:
            claim = await store.claim(key)
        except Exception as exc:
            return result(NotificationOutcome.FAILED, error=exc)
        if claim.state is ClaimState.DONE:
            return result(NotificationOutcome.DUPLICATE)
        if claim.state is ClaimState.BUSY:
            return result(NotificationOutcome.BUSY)
    try:
        if expected_amount is not None and kind.moves_money(notification):
            found = await expected_amount(notification.trade_no)
            expected = None if found is None else to_money(found, "expected_amount")
            if expected is None or not kind.amount_matches(notification, expected):
                await _release(store, key, claim)
                return result(NotificationOutcome.AMOUNT_MISMATCH, expected=expected)
        await on_payment(notification)
    except BaseException as exc:
        # Whatever stopped the callback (even cancellation), the next delivery must run it.
        await _release(store, key, claim)
        if not isinstance(exc, Exception):
            raise
        return result(NotificationOutcome.FAILED, error=exc)
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
    return result(NotificationOutcome.PROCESSED)


async def _release(store: NotificationStore | None, key: str, claim: Claim) -> None:
    if store is None:
        return
    try:
        await store.release(key, claim.token)
    except Exception as exc:
        # The lease will expire on its own; the answer to the gateway stays the same.
        logger.error("notification claim could not be released (%s)", type(exc).__name__)
