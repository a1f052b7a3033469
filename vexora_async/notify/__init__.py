"""Notifications, the gateway's callbacks to ``notifyUrl`` (SPEC §7, payouts §9).

Three layers, each usable on its own:

- ``verify_notification`` and ``parse_notification``: keys, signature and structure, no I/O.
- ``process_notification``: one whole delivery for any web framework, body in, HTTP status
  and text out. Verifies, optionally checks the amount, runs your callback at most once at
  a time and never again after it succeeded (a ``NotificationStore`` remembers), and says
  ``OK`` only once the callback succeeded.
- ``notification_handler``: the same as an ``aiohttp.web`` handler.

The package by job: ``model`` (``PaymentNotification``, the amount rule), ``kinds`` (which
keys, model and amount rule each kind has), ``decode`` (the body as signed), ``verify``,
``process`` and ``aiohttp``. Serialisation hooks live in ``vexora_async.wire``. The errors
``parse_notification`` raises (``SignatureError``, ``MalformedNotification`` and its
``UnknownNotificationKey``/``AmbiguousNotification``) can be imported from here too.

What the gateway is answered (``NotificationResult.http_status`` and ``.body``):

=====================  ======  ==============================================================
outcome                status  when
=====================  ======  ==============================================================
``PROCESSED``          200 OK  the callback ran and returned
``DUPLICATE``          200 OK  processed before: the callback does not run again
``BUSY``               503     another delivery of it is being processed right now
``BAD_SIGNATURE``      400     sign missing, malformed or wrong: the callback never runs
``MALFORMED``          400     not JSON, not an object, a value that is an object or an
                               array, a key outside the kind's set (or a value that could
                               be re-cut into one), a required field missing/unusable
``WRONG_KIND``         400     ``owns_trade`` said the trade is not this endpoint's kind
``AMOUNT_MISMATCH``    400     see ``amount_matches``: the callback never runs
``FAILED``             500     the callback, ``owns_trade``, ``expected_amount`` or the store
                               raised
=====================  ======  ==============================================================

Anything but ``OK`` makes the gateway deliver again later (2 s, 5 s, 10 s, 30 s, 1 h, 3 h,
3 h, 3 h, then never: use the query API). The timestamp is not checked for freshness (the
gateway documents no tolerance, SPEC §8); a replayed genuine notification is a duplicate.
"""

from __future__ import annotations

from ..errors import (
    AmbiguousNotification,
    MalformedNotification,
    SignatureError,
    UnknownNotificationKey,
)
from .aiohttp import notification_handler
from .kinds import PAYMENT, PAYMENT_KEYS, NotificationKind, declare_kind, notification_kind
from .model import Notification, PaymentNotification, amount_matches
from .process import (
    DEFAULT_STORE,
    ExpectedAmount,
    NotificationOutcome,
    NotificationResult,
    OnPayment,
    OwnsTrade,
    process_notification,
)
from .verify import check_keys, parse_notification, verify_notification

__all__ = [
    "DEFAULT_STORE",
    "PAYMENT",
    "PAYMENT_KEYS",
    "REQUIRED_FIELDS",
    "AmbiguousNotification",
    "ExpectedAmount",
    "MalformedNotification",
    "Notification",
    "NotificationKind",
    "NotificationOutcome",
    "NotificationResult",
    "OnPayment",
    "OwnsTrade",
    "PaymentNotification",
    "SignatureError",
    "UnknownNotificationKey",
    "amount_matches",
    "check_keys",
    "declare_kind",
    "notification_handler",
    "notification_kind",
    "parse_notification",
    "process_notification",
    "verify_notification",
]

REQUIRED_FIELDS = PAYMENT.required
"""The keys a payment notification must carry: ``tradeNo``, ``status``, ``amount``, ``sign``."""
