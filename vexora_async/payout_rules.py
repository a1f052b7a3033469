"""Payout rules per region profile (SPEC §9), declared on the profile as ``payout=``.

A ``PayoutProfile`` holds the three payout paths and the payout's own field and amount rules,
made of the same ``FieldRule``/``rules`` pieces as checkout; it validates with the same
engine (``RegionProfile.check_fields``), so every violation is reported at once.

The built-in declarations are functions (``indonesia``, ``philippines``, ``cambodia``)
because ``regions.py`` calls them while it defines its profiles: ``FieldRule`` is looked up
when they run, which keeps this module free of an import cycle with ``regions``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from . import rules
from .errors import ValidationError, Violation
from .payout_models import PayoutRequest
from .wire import wire_name

if TYPE_CHECKING:
    from .regions import FieldRule, RegionProfile

__all__ = ["PayoutProfile", "cambodia", "indonesia", "payout_fields", "philippines"]

_NAMES = tuple(a.name for a in attrs.fields(PayoutRequest) if a.name != "extra")
_WIRE = tuple((name, wire_name(name)) for name in _NAMES)
# What the SDK renders, and what signing adds: ``extra`` may not override them (the client
# would send one payout and reconcile another).
_RENDERED = frozenset(wire for _, wire in _WIRE) | {"sign", "timestamp"}


def payout_fields(request: PayoutRequest) -> dict[str, Any]:
    """Wire-named business fields of a payout request (unset ones omitted, ``extra`` merged).

    Raises ``ValidationError`` when ``extra`` names a field the SDK renders itself.
    """
    fields = {wire: value for name, wire in _WIRE if (value := getattr(request, name)) is not None}
    if request.extra:
        clashes = sorted(set(request.extra) & _RENDERED)
        if clashes:
            raise ValidationError(
                [Violation(f"extra.{k}", "reserved", "rendered by the SDK") for k in clashes]
            )
        fields.update(request.extra)
    return fields


def _checker(profile: PayoutProfile) -> RegionProfile:
    from .regions import RegionProfile  # regions imports this module

    return RegionProfile(
        name=f"{profile.name} payout",
        checkout_path=profile.create_path,
        query_path=profile.query_path,
        fields=profile.fields,
        amount=profile.amount,
        timestamp_as_number=profile.timestamp_as_number,
        conditions=profile.conditions,
    )


@attrs.frozen
class PayoutProfile:
    """How one gateway system pays out: its paths, fields and amount rule.

    ``timestamp_as_number``: the payout pages send ``timestamp`` as a JSON number (IDR, PHP)
    while Cambodia sends text, as its checkout does (SPEC §9).
    """

    name: str
    create_path: str
    query_path: str
    balance_path: str
    fields: tuple[FieldRule, ...]
    amount: rules.AmountRule
    timestamp_as_number: bool = False
    conditions: tuple[rules.Condition, ...] = ()
    description: str = ""
    # How its balance answer is spelt (SPEC §9: the pages differ): the key of the available
    # amount (some pages write ``availablAmount``) and whether amounts are JSON numbers. The
    # client reads every spelling; the sandbox answers as the profile declares.
    balance_available_key: str = "availableAmount"
    balance_as_number: bool = False
    _check: RegionProfile = attrs.field(
        init=False, repr=False, eq=False, default=attrs.Factory(_checker, takes_self=True)
    )

    def prepare(self, request: PayoutRequest) -> dict[str, Any]:
        """Validate ``request``; its wire fields (without ``timestamp``/``sign``).

        Raises ``ValidationError`` naming every broken rule before anything is sent: a
        reserved key in ``extra`` and every other field's violations together.
        """
        if request.extra and not _RENDERED.isdisjoint(request.extra):
            found = [
                Violation(f"extra.{k}", "reserved", "rendered by the SDK")
                for k in sorted(_RENDERED.intersection(request.extra))
            ]
            rest = {k: v for k, v in request.extra.items() if k not in _RENDERED}
            rules.refuse_with_the_rest(
                found, lambda: self.check_fields(payout_fields(attrs.evolve(request, extra=rest)))
            )
        return self.check_fields(payout_fields(request))

    def check_fields(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """The same rules for a wire-named field dict (what the sandbox receives)."""
        out = self._check.check_fields(fields)
        if self.amount.decimals and isinstance(out.get("amount"), str):
            # Exactly ``decimals`` places ("12.50", "12.00"), as merchants' integrations do.
            unit = Decimal(1).scaleb(-self.amount.decimals)
            out["amount"] = str(Decimal(out["amount"]).quantize(unit))
        return out

    def with_changes(self, **changes: Any) -> PayoutProfile:
        return attrs.evolve(self, **changes)


# Built-in declarations ---------------------------------------------------------------------

_DIGITS = rules.matches(r"[0-9]{4,34}", "account_format", "4 to 34 ASCII digits")
# The remark comes back in the payout notification: no ``status=`` in it (see rules.remark).
_REMARK = rules.remark(255, notification="payout")
_BANK_CODE = rules.matches(r"[0-9]{4}", "bank_code_format", "4 digits from the bank list")
_ID_MOBILE = rules.matches(
    r"(08[0-9]{8,11}|628[0-9]{7,10})", "mobile_format", "08 or 628, 10 to 13 digits"
)


def _field(name: str, check: rules.Check | None = None, *, required: bool = True) -> FieldRule:
    from .regions import FieldRule  # defined before regions declares its profiles

    return FieldRule(name, required, check)


def indonesia(name: str, create_path: str, query_path: str, balance_path: str) -> PayoutProfile:
    """Indonesia (Vexora IDR, Paypro IDR): a bank account; amount and timestamp as numbers."""
    return PayoutProfile(
        name=name,
        create_path=create_path,
        query_path=query_path,
        balance_path=balance_path,
        fields=(
            _field("trade_no", rules.trade_no),
            _field("customer_name", rules.text(64)),
            _field("mobile", _ID_MOBILE),
            _field("email", rules.email),
            _field("bank_account_no", _DIGITS),
            _field("bank_code", _BANK_CODE),
            _field("notify_url", rules.http_url),
            _field("remark", _REMARK, required=False),
        ),
        amount=rules.AmountRule(decimals=0, minimum=10000, as_number=True),
        timestamp_as_number=True,
        balance_as_number=True,
        description=f"{name} payout to a bank account",
    )


def philippines() -> PayoutProfile:
    """PHP: the gateway's Philippines payout page (bank or wallet by ``bank_name``)."""
    return PayoutProfile(
        name="PHP",
        create_path="/v1/vexora/disbursements",
        query_path="/v1/vexora/queryPayOutResult",
        balance_path="/v1/vexora/queryBalance",
        fields=(
            _field("trade_no", rules.trade_no),
            _field("account_name", rules.text(64)),
            _field("bank_name", rules.text(32)),
            _field(
                "bank_number",
                rules.matches(
                    r"[0-9]{4,34}", "account_format", "an account number or wallet phone, digits"
                ),
            ),
            _field("notify_url", rules.http_url),
            _field("remark", _REMARK, required=False),
        ),
        amount=rules.AmountRule(decimals=0, as_number=True),
        timestamp_as_number=True,
        balance_available_key="availablAmount",  # as the PHP pages spell it
        description="PHP payout to a bank or wallet",
    )


def cambodia(name: str, decimals: int) -> PayoutProfile:
    """Cambodia (KHR, USD): wallet or bank; amount and timestamp as text like checkout."""
    minimum = Decimal(1).scaleb(-decimals) if decimals else None
    return PayoutProfile(
        name=name,
        create_path="/v1/vexora/disbursements",
        query_path="/v1/vexora/queryPayOutResult",
        balance_path="/v1/vexora/queryBalance",
        fields=(
            _field("trade_no", rules.trade_no),
            _field("firstname", rules.text(64)),
            _field("lastname", rules.text(64)),
            _field("mobile", rules.cambodia_mobile),
            _field("email", rules.email),
            _field("channel_code", rules.text(32)),
            _field("way_code", rules.text(32)),
            _field("bank_code", _BANK_CODE),
            _field("bank_number", _DIGITS),
            _field("notify_url", rules.http_url),
            _field("remark", _REMARK),
        ),
        amount=rules.AmountRule(decimals=decimals, minimum=minimum),
        description=f"Cambodia {name} payout",
    )
