"""Request and response objects: frozen, slotted attrs classes with snake_case names.

Serialisation rules live in ``wire.py``, not here. Fields holding personal data are masked in
``repr`` so a logged request never shows a payer's phone, email, name, address or account.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

import attrs

from .errors import ValidationError, Violation
from .frozen_init import cheap_init

__all__ = [
    "CheckoutRequest",
    "Money",
    "PaymentLink",
    "PaymentState",
    "TradeState",
    "TradeStatus",
    "to_money",
]

Money = int | Decimal

# ``CheckoutRequest.extra`` when there is none: always this object (checked by identity).
NO_EXTRA: Mapping[str, Any] = MappingProxyType({})


# Decimal text as a person writes it, ASCII digits only: Decimal() itself would also take
# "١٢٣", "1_000", "NaN" and "Infinity".
_MONEY_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,9})?", re.ASCII)
_MONEY_TEXT_MAX = 64
_MONEY_SPACE = " \t\r\n"


def to_money(value: object, field: str = "amount") -> Money:
    """Accept ``int``, ``Decimal`` or a decimal string; refuse ``float`` and everything else.

    Only the type is decided here; the profile's ``AmountRule`` checks size and places.
    """
    kind = type(value)
    if kind is int or kind is Decimal:  # the common case first: one type check, no isinstance
        return value  # type: ignore[return-value]
    if isinstance(value, bool):
        raise ValidationError([Violation(field, "not_a_number", "a bool is not money")])
    if isinstance(value, int):  # a subclass (an IntEnum...): its plain value
        return int.__index__(value)
    if isinstance(value, Decimal):
        return Decimal(value)
    if isinstance(value, float):
        raise ValidationError(
            [Violation(field, "float_not_allowed", "floats are inexact; use int or Decimal")]
        )
    if isinstance(value, str):
        if len(value.strip(_MONEY_SPACE)) > _MONEY_TEXT_MAX:
            raise ValidationError(
                [Violation(field, "too_long", f"at most {_MONEY_TEXT_MAX} characters")]
            )
        money = money_text(value)
        if money is not None:
            return money
        raise ValidationError([Violation(field, "not_a_number", "digits like 10000 or 12.50")])
    raise ValidationError([Violation(field, "not_a_number", f"got {type(value).__name__}")])


def money_text(value: str) -> Decimal | None:
    """``value`` as an amount under ``to_money``'s rule for text, or None: ASCII decimal
    text (``"10000"``, ``"12.50"``, ``"1e3"``) of at most 64 characters, ASCII spaces around
    it allowed. ``Decimal()`` alone would also take ``"1_000"`` and other scripts' digits.
    The same rule reads amounts in the gateway's answers and notifications."""
    text = value.strip(_MONEY_SPACE)
    if len(text) <= _MONEY_TEXT_MAX and _MONEY_TEXT.fullmatch(text) is not None:
        try:
            return Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
            pass
    return None


def _masked(value: object) -> str:
    return "None" if value is None else "'***'"


def _pii() -> Any:
    """An optional text field whose value never appears in ``repr``."""
    return attrs.field(default=None, repr=_masked)


def _freeze_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if value is NO_EXTRA or value is None:  # the usual case: no isinstance on an ABC
        return NO_EXTRA
    if type(value) is not dict and not isinstance(value, Mapping):
        raise ValidationError(
            [Violation("extra", "not_a_mapping", "wire names to values, like a dict")]
        )
    return MappingProxyType(dict(value)) if value else NO_EXTRA


@cheap_init
@attrs.frozen(slots=True)
class CheckoutRequest:
    """One payment link to create. Which fields are required depends on the region profile.

    ``extra`` carries wire fields a custom profile adds (wire names, e.g. ``{"payType": "GCash"}``).
    """

    trade_no: str
    amount: Money = attrs.field(converter=to_money)
    notify_url: str | None = None
    return_url: str | None = None
    mobile: str | None = _pii()
    email: str | None = _pii()
    username: str | None = _pii()
    firstname: str | None = _pii()
    lastname: str | None = _pii()
    channel_code: str | None = None
    way_code: str | None = None
    ip_address: str | None = _pii()
    postcode: str | None = _pii()
    address: str | None = _pii()
    bank_number: str | None = _pii()
    remark: str | None = None
    # Compared, but not hashed (a mapping has no hash): equal requests still hash equal.
    extra: Mapping[str, Any] = attrs.field(
        default=NO_EXTRA,
        converter=_freeze_mapping,
        repr=lambda v: f"<{len(v)} extra field(s)>",
        hash=False,
    )


class TradeState(enum.Enum):
    """What happened to a transaction, from its ``status`` code (SPEC §2)."""

    PAID = "paid"
    PARTIALLY_PAID = "partially_paid"
    PROCESSING = "processing"
    FAILED = "failed"


_STATES = {
    "0000": TradeState.PAID,
    "0001": TradeState.PARTIALLY_PAID,
    "0015": TradeState.PROCESSING,
    "00029": TradeState.FAILED,
    "0029": TradeState.FAILED,
}


@attrs.frozen(slots=True)
class TradeStatus:
    """A transaction status code and its meaning. Unknown codes mean failure and are kept."""

    code: str

    @classmethod
    def of(cls, code: object) -> TradeStatus:
        if code is None:
            return cls("")
        return _KNOWN_STATUSES.get(code) or cls(str(code))

    @property
    def state(self) -> TradeState:
        return _STATES.get(self.code, TradeState.FAILED)

    @property
    def is_paid(self) -> bool:
        return self.state is TradeState.PAID

    @property
    def is_partially_paid(self) -> bool:
        return self.state is TradeState.PARTIALLY_PAID

    @property
    def is_processing(self) -> bool:
        return self.state is TradeState.PROCESSING

    @property
    def is_failed(self) -> bool:
        return self.state is TradeState.FAILED

    @property
    def is_final(self) -> bool:
        """Paid or failed: nothing more will happen (partial payments may still grow)."""
        return self.state in (TradeState.PAID, TradeState.FAILED)

    def __str__(self) -> str:
        return f"{self.code} ({self.state.value})"


_KNOWN_STATUSES: dict[object, TradeStatus] = {code: TradeStatus(code) for code in _STATES}


def _raw_repr(value: Mapping[str, Any]) -> str:
    return f"<{len(value)} raw field(s)>"


@attrs.frozen(slots=True)
class PaymentLink:
    """A created payment link: where to send the payer, and the gateway's own trade number."""

    trade_no: str
    platform_trade_no: str
    status: TradeStatus
    payment_url: str
    message: str | None = None
    remark: str | None = None
    qr_payload: str | None = attrs.field(default=None, repr=False)
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=_raw_repr, eq=False)


@attrs.frozen(slots=True)
class PaymentState:
    """What a payment query reports about one order."""

    trade_no: str
    status: TradeStatus
    platform_trade_no: str | None = None
    amount: Decimal | None = None
    pay_amount: Decimal | None = None
    message: str | None = None
    success_time: str | None = None
    channel_code: str | None = None
    way_code: str | None = None
    remark: str | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=_raw_repr, eq=False)
