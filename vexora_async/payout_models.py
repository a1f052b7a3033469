"""Payouts and balance (SPEC §9): the request, its results and the merchant's balance.

Frozen, slotted attrs classes like ``models.py``; serialisation rules live in ``wire.py``
and ``payout_rules.py``. The recipient's name, phone, email and account numbers are masked
in ``repr``: a logged payout never shows whom it pays or where.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs

from .frozen_init import cheap_init
from .models import NO_EXTRA, Money, TradeState, TradeStatus, _freeze_mapping, _pii, to_money

__all__ = ["Balance", "Payout", "PayoutRequest", "PayoutState", "PayoutStatus"]


def _raw_repr(value: Mapping[str, Any]) -> str:
    return f"<{len(value)} raw field(s)>"


@cheap_init
@attrs.frozen(slots=True)
class PayoutRequest:
    """One payout to create. Which fields are required depends on the region profile
    (``RegionProfile.payout``): Indonesia pays a bank account (``customer_name``,
    ``bank_code``, ``bank_account_no``), PHP a bank or wallet (``account_name``,
    ``bank_name``, ``bank_number``), Cambodia a wallet or bank (``firstname``, ``lastname``,
    ``channel_code``, ``way_code``, ``bank_code``, ``bank_number``).

    ``extra`` carries wire fields a custom profile adds (wire names).
    """

    trade_no: str
    amount: Money = attrs.field(converter=to_money)
    notify_url: str | None = None
    customer_name: str | None = _pii()
    account_name: str | None = _pii()
    firstname: str | None = _pii()
    lastname: str | None = _pii()
    mobile: str | None = _pii()
    email: str | None = _pii()
    bank_code: str | None = None
    bank_name: str | None = None
    bank_account_no: str | None = _pii()
    bank_number: str | None = _pii()
    channel_code: str | None = None
    way_code: str | None = None
    remark: str | None = None
    # Compared, but not hashed (a mapping has no hash): equal requests still hash equal.
    extra: Mapping[str, Any] = attrs.field(
        default=NO_EXTRA,
        converter=_freeze_mapping,
        repr=lambda v: f"<{len(v)} extra field(s)>",
        hash=False,
    )


_PAYOUT_STATES = {
    "0000": TradeState.PAID,
    "0015": TradeState.PROCESSING,
}


@attrs.frozen(slots=True)
class PayoutStatus(TradeStatus):
    """A payout's status code (SPEC §9): ``0000`` paid out, ``0015`` processing, every other
    code (``00029``/``0029`` included) failed. There is no partial payout: ``0001`` on a
    payout is a failure, never "partly paid out". ``state`` reuses ``TradeState``
    (``PAID`` reads "paid out")."""

    @classmethod
    def of(cls, code: object) -> PayoutStatus:
        if code is None:
            return cls("")
        return _KNOWN.get(code) or cls(str(code))

    @property
    def state(self) -> TradeState:
        return _PAYOUT_STATES.get(self.code, TradeState.FAILED)

    @property
    def is_paid_out(self) -> bool:
        return self.state is TradeState.PAID

    def __str__(self) -> str:
        word = "paid out" if self.is_paid_out else self.state.value
        return f"{self.code} ({word})"


_KNOWN: dict[object, PayoutStatus] = {
    code: PayoutStatus(code) for code in ("0000", "0015", "00029", "0029")
}


@attrs.frozen(slots=True)
class Payout:
    """A created payout: the gateway accepted it (normally still ``0015`` processing)."""

    trade_no: str
    status: PayoutStatus
    platform_trade_no: str | None = None
    amount: Decimal | None = None
    message: str | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=_raw_repr, eq=False)


@attrs.frozen(slots=True)
class PayoutState:
    """What a payout query reports about one payout."""

    trade_no: str
    status: PayoutStatus
    platform_trade_no: str | None = None
    amount: Decimal | None = None
    pay_amount: Decimal | None = None
    message: str | None = None
    success_time: str | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=_raw_repr, eq=False)


@attrs.frozen(slots=True)
class Balance:
    """The merchant account's balance, exact: ``available`` can be paid out, ``frozen`` is
    held (payouts under way, disputes), ``unsettled`` was collected today and becomes
    available on T+1. The gateway's ``availableAmount`` (also spelt ``availablAmount``),
    ``freezeAmount`` and ``unsettledAmount``, numbers or strings."""

    available: Decimal
    frozen: Decimal
    unsettled: Decimal
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=_raw_repr, eq=False)
