"""Verifying a notification: its keys, its sign, then its structure (no I/O).

The keys come first. The sign concatenates ``key=value`` pairs with no separator (SPEC §3),
so it proves a canonical string, not a body: a genuine notification for ``INV7zz`` re-cut
as ``tradeNo=INV7`` + ``zzwayCode=...`` keeps its sign. A body is accepted only when every
key is of its kind's documented set (plus ``extra_keys``) and no value could be re-cut into
one of those keys; then no other acceptable body has the same sign (``signing.recut_key``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal, TypeVar, overload

from .. import signing
from ..errors import (
    AmbiguousNotification,
    ConfigurationError,
    MalformedNotification,
    MalformedResponse,
    SignatureError,
    UnknownNotificationKey,
)
from ..wire import JsonNumber
from .decode import Body, read_body
from .kinds import NotificationKind, notification_kind
from .model import Notification, PaymentNotification

__all__ = ["check_keys", "parse_notification", "verify_notification"]

N = TypeVar("N", bound=Notification)

# What a notification's field may hold (``bool`` is an ``int``, ``JsonNumber`` a ``str``).
_SCALARS = (str, int, float, Decimal)


def check_secret(secret: str) -> None:
    if not isinstance(secret, str) or not secret:
        # An empty secret would make every sign computable by anyone.
        raise ConfigurationError("the app secret must be a non-empty string")


def shown_keys(keys: Sequence[str]) -> str:
    # Keys are not secret, but they are unverified input: bounded and escaped.
    names = ", ".join(repr(key[:40]) for key in keys[:5])
    return names + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")


def check_keys(fields: Mapping[str, object], keys: Collection[str], what: str) -> None:
    """Refuse a body whose sign could also fit another body with keys from ``keys``.

    ``keys`` is every key this kind of notification may carry (``sign`` included), e.g.
    ``PAYMENT_KEYS | extra``. Raises ``UnknownNotificationKey`` naming every other key,
    ``MalformedNotification`` for a value that is not text, a number, a boolean or ``null``
    (an object or array: notification fields are flat), or ``AmbiguousNotification``
    naming the field whose value holds ``key=`` for a later key.
    ``what`` names the body in messages (``"payment notification"``).
    """
    unknown = signing.unknown_keys(fields, keys)
    if unknown:
        raise UnknownNotificationKey(
            f"{what} has unknown key(s) {shown_keys(unknown)}: refused, as its sign could belong "
            "to another body (allow keys you expect with extra_keys=)",
            keys=unknown,
        )
    for field, value in fields.items():
        if value is not None and not isinstance(value, _SCALARS) and field != signing.SIGN_FIELD:
            # SPEC §7: every field is text or a number (a sign that is not text is a bad
            # sign). Refused before anything turns a nested value (a ~1 KB body can nest 900
            # deep) into text, recursively.
            raise MalformedNotification(
                f"{what}: the value of {shown_keys([field])} is not text or a number"
            )
    recut = signing.recut_key(fields, keys)
    if recut is not None:
        field, key = recut
        raise AmbiguousNotification(
            f"{what}: the value of {field!r} holds {key + '='!r}, so its sign would also fit "
            f"a body with another {field!r}: refused",
            field=field,
            key=key,
        )


def _is_lowercase_hex_digest(value: str) -> bool:
    return len(value) == 32 and all(char in "0123456789abcdef" for char in value)


def _verify_sign(fields: Mapping[str, object], secret: str) -> None:
    given = fields.get(signing.SIGN_FIELD)
    if given is None or given == "":
        raise SignatureError("notification has no sign")
    if not isinstance(given, str):
        raise SignatureError("notification sign is not text")
    if not _is_lowercase_hex_digest(given):
        raise SignatureError("notification sign is not 32 lowercase hex digits")
    if not signing.verify(fields, secret):
        raise SignatureError("notification sign does not verify")


def verify_notification(
    fields: Mapping[str, object],
    secret: str,
    *,
    kind: NotificationKind[Any] | str = "payment",
    extra_keys: Collection[str] = (),
) -> None:
    """Check the keys (``check_keys``), then ``fields["sign"]`` over every other field.

    ``kind`` decides the keys allowed (``"payment"``: ``PAYMENT_KEYS``); ``extra_keys``
    allows more. Raises ``UnknownNotificationKey``/``AmbiguousNotification`` (both
    ``MalformedNotification``) for the keys, ``MalformedNotification`` for a value that is
    an object or an array, ``SignatureError`` when the sign is missing, not
    text, not 32 lowercase hex digits, or wrong; the comparison is constant-time. Messages
    never contain the secret, the sign or a value. Pass the fields as decoded from the body:
    a number must still be its text as sent, so prefer ``parse_notification(body_bytes, ...)``
    over decoding the JSON yourself.
    """
    check_secret(secret)
    chosen = notification_kind(kind)
    check_keys(fields, chosen.allowed_keys(extra_keys), f"{chosen.name} notification")
    _verify_sign(fields, secret)


def _require_fields(native: Mapping[str, Any], required: Collection[str]) -> None:
    missing = [name for name in required if native.get(name) in (None, "")]
    if missing:
        raise MalformedNotification(f"notification lacks {', '.join(missing)}")


def _as_signed(
    kind: NotificationKind[Any], signed: Mapping[str, Any], native: Mapping[str, Any]
) -> Mapping[str, Any]:
    """``native`` with each number outside the kind's amount fields as the text it was sent
    (and signed) as: a ``tradeNo`` signed as ``"20240101E001"`` and re-sent as the JSON
    number ``20240101E001`` still reads ``20240101E001``, not ``2.0240101E+8``."""
    texts = {
        key: str(value)
        for key, value in signed.items()
        if type(value) is JsonNumber and key not in kind.amount_keys
    }
    return {**native, **texts} if texts else native


def _structure(
    kind: NotificationKind[N], signed: Mapping[str, Any], native: Mapping[str, Any]
) -> N:
    try:
        return kind.structure(_as_signed(kind, signed, native), native)
    except MalformedResponse as exc:
        reason = str(exc)
    except (TypeError, ValueError, KeyError) as exc:  # cattrs without detailed validation
        reason = type(exc).__name__
    # Outside the handlers: the caught error may quote a value; it is not kept as context.
    raise MalformedNotification(f"notification: {reason}")


def parse_fields(
    signed: Mapping[str, Any],
    native: Mapping[str, Any],
    secret: str,
    kind: NotificationKind[N],
    keys: Collection[str],
) -> N:
    """Keys, required fields, sign, structure: the whole check of a decoded body."""
    check_keys(signed, keys, f"{kind.name} notification")
    _require_fields(native, kind.required)
    _verify_sign(signed, secret)
    return _structure(kind, signed, native)


@overload
def parse_notification(
    body: Body,
    secret: str,
    *,
    kind: Literal["payment"] = ...,
    extra_keys: Collection[str] = ...,
) -> PaymentNotification: ...
@overload
def parse_notification(
    body: Body, secret: str, *, kind: NotificationKind[N], extra_keys: Collection[str] = ...
) -> N: ...
@overload
def parse_notification(
    body: Body, secret: str, *, kind: str, extra_keys: Collection[str] = ...
) -> Any: ...
def parse_notification(
    body: Body,
    secret: str,
    *,
    kind: NotificationKind[Any] | str = "payment",
    extra_keys: Collection[str] = (),
) -> Any:
    """Decode, verify and structure one notification (a ``PaymentNotification`` by default).

    ``body`` is best the raw request body (``bytes`` or ``str``): JSON numbers are then
    verified as the exact text sent (``10000.50`` signs as ``10000.50``); an amount becomes
    a ``Decimal`` (``raw``: ``int`` or ``Decimal``), never a ``float``. A mapping someone
    else decoded is verified as it is; a ``float`` in it signs as its shortest ``repr``
    (``10000.5``), which may not be what the gateway signed. ``kind`` and ``extra_keys``
    as for ``verify_notification``.

    Raises ``MalformedNotification`` (not JSON, not an object, a key outside the allowed set
    or a value that could be re-cut into one, a value that is an object or an array,
    ``tradeNo``/``status``/``amount``/``sign`` missing, or a field of the wrong type) and
    ``SignatureError``. Text fields are read as the text signed, even when sent as a JSON
    number (``1e5`` stays ``"1e5"``, a different number would be a new trade).
    """
    check_secret(secret)
    chosen = notification_kind(kind)
    keys = chosen.allowed_keys(extra_keys)
    signed, native = read_body(body)
    return parse_fields(signed, native, secret, chosen, keys)
