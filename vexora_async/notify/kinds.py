"""Kinds of notification: which keys each may carry, its model, and its amount rule.

Payment and payout results reach ``notifyUrl`` in the same shape with nothing saying which
they are (SPEC §9), so each endpoint says which kind it serves and everything kind-specific
comes from that one declaration. Adding a kind is one ``declare_kind(NotificationKind(...))``
next to its model; ``process_notification(..., kind="payout")`` and the handler then work.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from decimal import Decimal
from typing import Any, Generic, TypeVar, overload

import attrs

from ..errors import ConfigurationError
from ..models import Money
from ..signing import SIGN_FIELD, check_key_names
from ..wire import notification_structurer, wire_name
from .model import Notification, PaymentNotification, amount_matches, moves_money

__all__ = [
    "PAYMENT",
    "PAYMENT_KEYS",
    "NotificationKind",
    "declare_kind",
    "notification_kind",
]

N = TypeVar("N", bound=Notification)

PAYMENT_KEYS: frozenset[str] = frozenset(
    {
        # SPEC §7, as documented
        "platFormTradeNo",
        "tradeNo",
        "amount",
        "status",
        "message",
        "successTime",
        "channelCode",
        "wayCode",
        "timestamp",
        "sign",
        # echoed from checkout, and seen on the query pages
        "remark",
        "payAmount",
        "orderAmount",
    }
)
"""Every key a payment notification may carry; anything else is refused (SPEC §7)."""


def _key_set(keys: Collection[str]) -> frozenset[str]:
    names = check_key_names(keys)
    if SIGN_FIELD not in names:
        raise ValueError(f"a notification kind's keys must include {SIGN_FIELD!r}")
    return names


def _required(kind: NotificationKind[Any]) -> tuple[str, ...]:
    # The model's fields without a default, by wire name, then the sign.
    mandatory = [a.name for a in attrs.fields(kind.model) if a.default is attrs.NOTHING]
    return (*(wire_name(name) for name in mandatory), SIGN_FIELD)


def _amount_keys(kind: NotificationKind[Any]) -> frozenset[str]:
    # The model's amount fields (``Decimal``), by wire name.
    fields = attrs.fields(attrs.resolve_types(kind.model))
    return frozenset(wire_name(a.name) for a in fields if a.type in (Decimal, Decimal | None))


def _structurer(
    kind: NotificationKind[N],
) -> Callable[[Mapping[str, Any], Mapping[str, Any]], N]:
    return notification_structurer(kind.model)


@attrs.frozen(slots=True)
class NotificationKind(Generic[N]):
    """One kind of notification, declared once.

    - ``name``: what ``kind=`` takes (``"payment"``).
    - ``keys``: every key it may carry, ``sign`` included; other keys are refused before any
      callback runs (users add theirs with ``extra_keys=``).
    - ``model``: the attrs class it becomes (built by ``wire.notification_structurer``); its
      fields without a default are the required keys. Its ``idempotency_key`` must name the
      kind, unless it is the payment model (see ``PaymentNotification.idempotency_key``).
    - ``amount_matches(notification, expected)`` and ``moves_money(notification)``: the
      ``expected_amount`` check, applied when ``moves_money`` says so.

    Derived from ``model``: ``required`` (its fields without a default, as wire names, and
    ``sign``), ``amount_keys`` (its ``Decimal`` fields: read as numbers; every other field
    is read from the text as signed, so a re-typed ``"1e5"`` stays ``1e5``) and
    ``structure(fields, raw)``.
    """

    name: str
    keys: frozenset[str] = attrs.field(converter=_key_set)
    model: type[N]
    amount_matches: Callable[[N, Money], bool] = attrs.field(repr=False)
    moves_money: Callable[[N], bool] = attrs.field(repr=False)
    required: tuple[str, ...] = attrs.field(
        init=False, default=attrs.Factory(_required, takes_self=True)
    )
    amount_keys: frozenset[str] = attrs.field(
        init=False, default=attrs.Factory(_amount_keys, takes_self=True)
    )
    structure: Callable[[Mapping[str, Any], Mapping[str, Any]], N] = attrs.field(
        init=False, repr=False, eq=False, default=attrs.Factory(_structurer, takes_self=True)
    )

    def allowed_keys(self, extra_keys: Collection[str] = ()) -> frozenset[str]:
        """``keys`` plus ``extra_keys``; ``ConfigurationError`` for a key that cannot be one."""
        if not extra_keys:
            return self.keys
        try:
            return self.keys | check_key_names(extra_keys)
        except ValueError as exc:
            raise ConfigurationError(f"extra_keys: {exc}") from None


_KINDS: dict[str, NotificationKind[Any]] = {}


def declare_kind(kind: NotificationKind[N]) -> NotificationKind[N]:
    """Make ``kind`` available by name (``kind="payout"``); returns it."""
    if kind.name in _KINDS:
        raise ConfigurationError(f"notification kind {kind.name!r} is already declared")
    _KINDS[kind.name] = kind
    return kind


@overload
def notification_kind(kind: NotificationKind[N]) -> NotificationKind[N]: ...
@overload
def notification_kind(kind: str) -> NotificationKind[Any]: ...
def notification_kind(kind: NotificationKind[Any] | str) -> NotificationKind[Any]:
    """The declared kind of that name (a kind object is returned as it is)."""
    if isinstance(kind, NotificationKind):
        return kind
    found = _KINDS.get(kind)
    if found is None:
        known = ", ".join(repr(name) for name in sorted(_KINDS))
        raise ConfigurationError(f"unknown notification kind {kind!r} (declared: {known})")
    return found


PAYMENT: NotificationKind[PaymentNotification] = declare_kind(
    NotificationKind(
        name="payment",
        keys=PAYMENT_KEYS,
        model=PaymentNotification,
        amount_matches=amount_matches,
        moves_money=moves_money,
    )
)
