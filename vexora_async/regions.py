"""Region profiles: one per gateway system, and the registry that finds them by name.

A profile knows its endpoint paths, which fields it sends and requires, how each is checked
and normalised, how the amount and ``timestamp`` are typed on the wire. ``prepare`` collects
*every* violation into one ``ValidationError`` before anything is sent.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

from . import payout_rules, rules
from .errors import ConfigurationError, ValidationError, Violation
from .models import CheckoutRequest, to_money
from .wire import checkout_fields, wire_name

__all__ = [
    "CAMBODIA_KHR",
    "CAMBODIA_USD",
    "PAYPRO_IDR",
    "PHP",
    "VEXORA_IDR",
    "FieldRule",
    "ProfileRegistry",
    "RegionProfile",
    "get_profile",
    "register_profile",
    "registry",
]


@attrs.frozen
class FieldRule:
    """One wire field of a profile. ``name`` is what errors call it (the SDK attribute name,
    or the wire name for fields passed through ``CheckoutRequest.extra``)."""

    name: str
    required: bool = True
    check: rules.Check | None = None
    wire: str = attrs.field()

    @wire.default
    def _wire_default(self) -> str:
        return wire_name(self.name)


def field(name: str, check: rules.Check | None = None, *, required: bool = True) -> FieldRule:
    """Shorthand for a ``FieldRule``."""
    return FieldRule(name, required, check)


@attrs.frozen
class RegionProfile:
    """Everything the SDK knows about one gateway system."""

    name: str
    checkout_path: str
    query_path: str
    fields: tuple[FieldRule, ...]
    amount: rules.AmountRule
    timestamp_as_number: bool = False
    conditions: tuple[rules.Condition, ...] = ()
    description: str = ""
    payout: payout_rules.PayoutProfile | None = None  # how it pays out (SPEC §9); None: it doesn't

    # Each field rule as (wire name, required, check), computed once per profile; None when
    # the rules are unusual enough (a repeated wire name, a rule named "amount") that only
    # the detailed path below handles them exactly.
    _plan: tuple[tuple[str, bool, rules.Check | None], ...] | None = attrs.field(
        init=False, repr=False, eq=False
    )

    @_plan.default
    def _make_plan(self) -> tuple[tuple[str, bool, rules.Check | None], ...] | None:
        wires = [rule.wire for rule in self.fields]
        if len(set(wires)) != len(wires) or "amount" in wires:
            return None
        return tuple((rule.wire, rule.required, rule.check) for rule in self.fields)

    def prepare(self, request: CheckoutRequest) -> dict[str, Any]:
        """Validate ``request`` and return its wire fields (without ``timestamp``/``sign``).

        Raises ``ValidationError`` listing every broken rule; nothing is half-prepared.
        """
        return self.check_fields(checkout_fields(request))

    def check_fields(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Validate wire-named business fields and return them as they are sent.

        The same rules as ``prepare``, for a field dict (what the sandbox receives). The
        amount may be given as int, Decimal or decimal text.
        """
        # Every rule runs on both paths. The quick one only answers "all valid" (and the
        # fields to send) or "something is wrong"; the detailed one then names every
        # violation. A valid request, the usual case, never pays for collecting them.
        out = self._check_quickly(fields)
        return out if out is not None else self._check_in_detail(fields)

    def _check_quickly(self, fields: Mapping[str, Any]) -> dict[str, Any] | None:
        """The wire fields when every rule holds, else None (then nothing is decided)."""
        plan = self._plan
        amount = fields.get("amount")
        if plan is None or amount is None:
            return None
        if type(amount) is not int and type(amount) is not Decimal:
            try:
                amount = to_money(amount)
            except ValidationError:
                return None
        if not self.amount.accepts(amount):
            return None
        consumed = 1  # "amount"; any field no rule consumes is not allowed
        seen: dict[str, Any] = {}
        get = fields.get
        for wire, required, check in plan:
            value = get(wire, _ABSENT)
            if value is _ABSENT:
                if required:
                    return None
                continue
            consumed += 1
            if value is None or value == "":
                if required:
                    return None
                continue
            if type(value) is not str:
                return None
            if check is not None:
                try:
                    value = check(value)
                except rules.Invalid:
                    return None
            seen[wire] = value
        if consumed != len(fields):
            return None
        for condition in self.conditions:
            for _ in condition(seen):
                return None
        out: dict[str, Any] = {"amount": self.amount.render(amount)}
        out.update(seen)
        return out

    def _check_in_detail(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Every rule, every violation collected: raises ``ValidationError`` naming them."""
        given = dict(fields)
        amount, violations = _amount_of(given.pop("amount", None))
        if not violations:
            violations = self.amount.violations(amount)
        out: dict[str, Any] = {}
        if not violations:
            out["amount"] = self.amount.render(amount)  # type: ignore[arg-type]
        seen: dict[str, Any] = {}  # every field given, valid or not, for cross-field rules
        for rule in self.fields:
            value = given.pop(rule.wire, None)
            if value is None or value == "":
                if rule.required:
                    violations.append(Violation(rule.name, "required"))
                continue
            seen[rule.wire] = value
            if not isinstance(value, str):
                violations.append(Violation(rule.name, "not_text", "must be a string"))
                continue
            if rule.check is not None:
                try:
                    value = rule.check(value)
                except rules.Invalid as invalid:
                    violations.append(Violation(rule.name, invalid.rule, invalid.hint))
                    continue
            out[rule.wire] = seen[rule.wire] = value
        for wire in given:
            violations.append(
                Violation(_sdk_name(wire), "not_allowed", f"not sent by the {self.name} profile")
            )
        for condition in self.conditions:
            violations.extend(condition(seen))
        if violations:
            raise ValidationError(violations)
        return out

    def with_changes(self, **changes: Any) -> RegionProfile:
        """A copy with some attributes replaced (e.g. another ``name`` and ``fields``)."""
        return attrs.evolve(self, **changes)


_ABSENT: Any = object()


def _amount_of(value: object) -> tuple[object, list[Violation]]:
    if value is None:
        return None, [Violation("amount", "required")]
    try:
        return to_money(value), []
    except ValidationError as exc:
        return None, list(exc.violations)


_SDK_NAMES = {wire_name(a.name): a.name for a in attrs.fields(CheckoutRequest)}


def _sdk_name(wire: str) -> str:
    return _SDK_NAMES.get(wire, wire)


class ProfileRegistry:
    """Profiles by name (case-insensitive). Register your own next to the built-in ones."""

    def __init__(self, profiles: Sequence[RegionProfile] = ()) -> None:
        self._profiles: dict[str, RegionProfile] = {}
        for profile in profiles:
            self.register(profile)

    def register(self, profile: RegionProfile, *, replace: bool = False) -> RegionProfile:
        key = profile.name.upper()
        if key in self._profiles and not replace:
            raise ConfigurationError(
                f"a profile named {profile.name!r} is already registered (pass replace=True)"
            )
        self._profiles[key] = profile
        return profile

    def get(self, name: str | RegionProfile) -> RegionProfile:
        if isinstance(name, RegionProfile):
            return name
        try:
            return self._profiles[name.upper()]
        except (KeyError, AttributeError):
            known = ", ".join(sorted(self._profiles))
            raise ConfigurationError(f"unknown region {name!r}; known: {known}") from None

    def names(self) -> list[str]:
        return sorted(self._profiles)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.upper() in self._profiles

    def __iter__(self) -> Iterator[RegionProfile]:
        return iter(list(self._profiles.values()))


# Built-in profiles (SPEC §4) ---------------------------------------------------------------

_COMMON_TAIL = (field("notify_url", rules.http_url),)

_IDR_FIELDS = (
    field("trade_no", rules.trade_no),
    field("username", rules.text(64)),
    field(
        "mobile",
        rules.matches(r"(08\d{8,11}|628\d{7,10})", "mobile_format", "08 or 628, 10 to 13 digits"),
    ),
    field("email", rules.email),
    field("channel_code", rules.one_of("QRIS", "EWALLET", "VA"), required=False),
    field("way_code", rules.text(32), required=False),
    *_COMMON_TAIL,
    field("return_url", rules.http_url, required=False),
    field("remark", rules.text(255), required=False),
)
_IDR_AMOUNT = rules.AmountRule(decimals=0, minimum=10000, as_number=True)
_IDR_CONDITIONS = (rules.only_with("way_code", "wayCode", "channel_code", "channelCode"),)

VEXORA_IDR = RegionProfile(
    name="IDR",
    checkout_path="/v1/vexora/checkout",
    query_path="/v1/vexora/queryPayInResult",
    fields=_IDR_FIELDS,
    amount=_IDR_AMOUNT,
    conditions=_IDR_CONDITIONS,
    description="Vexora Indonesia, IDR",
    payout=payout_rules.indonesia(
        "IDR", "/v1/vexora/disbursements", "/v1/vexora/queryPayOutResult", "/v1/vexora/queryBalance"
    ),
)

PAYPRO_IDR = VEXORA_IDR.with_changes(
    name="PAYPRO_IDR",
    checkout_path="/v1/paypro/paymentLink",
    query_path="/v1/paypro/queryPayInResult",
    timestamp_as_number=True,
    description="Paypro Indonesia, IDR",
    payout=payout_rules.indonesia(
        "PAYPRO_IDR", "/v1/paypro/payOut", "/v1/paypro/queryPayOutResult", "/v1/paypro/queryBalance"
    ),
)

PHP = RegionProfile(
    name="PHP",
    checkout_path="/v1/vexora/checkout",
    query_path="/v1/vexora/queryPayInResult",
    fields=(
        field("trade_no", rules.trade_no),
        field("mobile", rules.matches(r"0\d{9}", "mobile_format", "10 digits starting with 0")),
        field("firstname", rules.text(64)),
        field("lastname", rules.text(64)),
        field("email", rules.email),
        field("channel_code", rules.one_of("NET_BANKING", "STORE", "EWALLET")),
        field("way_code", rules.text(32)),
        field("ip_address", rules.ip_address),
        field("postcode", rules.text(16), required=False),
        field("address", rules.text(255), required=False),
        field("bank_number", rules.bank_numbers, required=False),
        *_COMMON_TAIL,
        field("return_url", rules.http_url),
        field("remark", rules.text(255), required=False),
    ),
    amount=rules.AmountRule(decimals=0),
    conditions=(
        rules.required_when("postcode", "postcode", "channelCode", "STORE"),
        rules.required_when("address", "address", "channelCode", "STORE"),
        rules.required_when("bank_number", "bankNumber", "channelCode", "NET_BANKING"),
    ),
    description="Vexora 'PHP' checkout (the seed page's channel/way codes)",
    payout=payout_rules.philippines(),
)

_CAMBODIA_FIELDS = (
    field("trade_no", rules.trade_no),
    field("firstname", rules.text(64)),
    field("lastname", rules.text(64)),
    field("mobile", rules.cambodia_mobile),
    field("email", rules.email),
    field("channel_code", rules.text(32)),
    field("way_code", rules.text(32)),
    *_COMMON_TAIL,
    field("return_url", rules.http_url),
    field("remark", rules.text(255)),
)

CAMBODIA_KHR = RegionProfile(
    name="KHR",
    checkout_path="/v1/vexora/checkout",
    query_path="/v1/vexora/queryPayInResult",
    fields=_CAMBODIA_FIELDS,
    amount=rules.AmountRule(decimals=0),
    description="Vexora Cambodia, KHR account",
    payout=payout_rules.cambodia("KHR", decimals=0),
)

CAMBODIA_USD = CAMBODIA_KHR.with_changes(
    name="USD",
    amount=rules.AmountRule(decimals=2, minimum=Decimal("0.01")),
    description="Vexora Cambodia, USD account",
    payout=payout_rules.cambodia("USD", decimals=2),
)

registry = ProfileRegistry([VEXORA_IDR, PAYPRO_IDR, PHP, CAMBODIA_KHR, CAMBODIA_USD])


def register_profile(profile: RegionProfile, *, replace: bool = False) -> RegionProfile:
    """Add ``profile`` to the default registry, so ``VexoraClient(region=profile.name)`` works."""
    return registry.register(profile, replace=replace)


def get_profile(name: str | RegionProfile) -> RegionProfile:
    """Look a profile up in the default registry (a profile object is returned as is)."""
    return registry.get(name)
