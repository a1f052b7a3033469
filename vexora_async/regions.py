"""Region profiles: one per gateway system, and the registry that finds them by name.

A profile knows its endpoint paths, which fields it sends and requires, how each is checked
and normalised, how the amount and ``timestamp`` are typed on the wire, the shape of its
checkout answer and a sample request. ``prepare`` collects *every* violation into one
``ValidationError`` before anything is sent.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import attrs

from . import payout_rules, rules
from .codes import DEFAULT_CODES, GatewayCodes
from .errors import ConfigurationError, ValidationError, Violation
from .models import NO_EXTRA, CheckoutRequest, to_money
from .prepare_plan import FastPrepare, compile_prepare
from .wire import checkout_fields, wire_name

__all__ = [
    "BUILT_IN",
    "CAMBODIA_KHR",
    "CAMBODIA_USD",
    "PAYPRO_IDR",
    "PHP",
    "VEXORA_IDR",
    "FieldRule",
    "ProfileRegistry",
    "RegionProfile",
    "ResponseShape",
    "get_profile",
    "register_profile",
    "registry",
]


def _name_of(func: object) -> str:
    """A check's or condition's readable name (``rules`` names every one it makes)."""
    if func is None:
        return "None"
    return str(getattr(func, "__qualname__", None) or type(func).__name__)


@attrs.frozen
class FieldRule:
    """One wire field of a profile. ``name`` is what errors call it (the SDK attribute name,
    or the wire name for fields passed through ``CheckoutRequest.extra``)."""

    name: str
    required: bool = True
    check: rules.Check | None = attrs.field(default=None, repr=_name_of)
    wire: str = attrs.field()

    @wire.default
    def _wire_default(self) -> str:
        return wire_name(self.name)


def field(name: str, check: rules.Check | None = None, *, required: bool = True) -> FieldRule:
    """Shorthand for a ``FieldRule``."""
    return FieldRule(name, required, check)


_PAYMENT_URL, _MESSAGE, _QR_PAYLOAD = map(wire_name, ("payment_url", "message", "qr_payload"))


@attrs.frozen
class ResponseShape:
    """Where a checkout answer's ``data`` carries each fact (SPEC §5): the cashier URL, the
    status text and the QR payload. Each is a tuple of spellings: all are accepted when
    reading, the first is what this system writes (the sandbox answers with it).

    ``qr_ways``: the way codes a QR payload comes with (``None``: always; empty: never).
    ``status_text``: the text of a fresh order's status, as the gateway writes it.
    """

    payment_url: tuple[str, ...] = ("paymentUrl", "paymentLink")
    message: tuple[str, ...] = ("desc", "message", "msg")
    qr_payload: tuple[str, ...] = ("qrString", "payInfo")
    qr_ways: frozenset[str] | None = None
    status_text: str = "Paying"
    # Other spellings by ``PaymentLink``'s own wire name: what reading an answer needs.
    aliases: Mapping[str, tuple[str, ...]] = attrs.field(init=False, repr=False, eq=False)

    @aliases.default
    def _aliases(self) -> Mapping[str, tuple[str, ...]]:
        own = {_PAYMENT_URL: self.payment_url, _MESSAGE: self.message, _QR_PAYLOAD: self.qr_payload}
        return MappingProxyType(
            {name: tuple(k for k in keys if k != name) for name, keys in own.items()}
        )


def _gateway_codes(_: object, __: object, value: object) -> None:
    if not isinstance(value, GatewayCodes):
        raise ConfigurationError(
            "codes must be a vexora_async.GatewayCodes (e.g. GatewayCodes(not_found='9404'))"
        )


def _fields_repr(fields: tuple[FieldRule, ...]) -> str:
    parts = [f"{f.name}{'' if f.required else '?'}: {_name_of(f.check)}" for f in fields]
    return "(" + ", ".join(parts) + ")"


def _conditions_repr(conditions: tuple[rules.Condition, ...]) -> str:
    return "(" + ", ".join(_name_of(c) for c in conditions) + ")"


# Wire names ``extra`` may not use: what the SDK renders from ``CheckoutRequest`` and what
# signing adds (SPEC §3). Letting ``extra`` override them would send one order and
# reconcile another.
_RENDERED = frozenset(
    wire_name(a.name) for a in attrs.fields(CheckoutRequest) if a.name != "extra"
) | {"sign", "timestamp"}

# One planned step per field rule: (wire name, error name, required, check, scan the text,
# a condition reads it).
_Step = tuple[str, str, bool, "rules.Check | None", bool, bool]


@attrs.frozen
class RegionProfile:
    """Everything the SDK knows about one gateway system: a region is one declaration.

    ``fields``: what is sent, required or not, and how each is checked. ``amount``: how the
    amount is checked and written. ``conditions``: cross-field rules (by field name).
    ``response``: the checkout answer's shape. ``sample``: a valid example request (the
    ``vexora-async demo`` sends variations of it). ``codes``: how the client reads this
    gateway's request-level codes (``GatewayCodes``: its not-found, authentication and
    system-error codes; ``DEFAULT_CODES`` unless declared).
    """

    name: str
    checkout_path: str
    query_path: str
    fields: tuple[FieldRule, ...] = attrs.field(repr=_fields_repr)
    amount: rules.AmountRule
    timestamp_as_number: bool = False
    conditions: tuple[rules.Condition, ...] = attrs.field(default=(), repr=_conditions_repr)
    description: str = ""
    response: ResponseShape = ResponseShape()
    sample: CheckoutRequest | None = attrs.field(default=None, repr=False, eq=False)
    payout: payout_rules.PayoutProfile | None = None  # how it pays out (SPEC §9); None: it doesn't
    currency: str = ""  # ISO 4217 code of the account's money (shown by the sandbox's cashier)
    codes: GatewayCodes = attrs.field(default=DEFAULT_CODES, validator=_gateway_codes)

    # Computed once per profile (``with_changes`` computes them afresh).
    _plan: tuple[_Step, ...] = attrs.field(init=False, repr=False, eq=False)
    _consumed: frozenset[str] = attrs.field(init=False, repr=False, eq=False)
    _fast: FastPrepare = attrs.field(init=False, repr=False, eq=False)

    @_plan.default
    def _make_plan(self) -> tuple[_Step, ...]:
        wires = [rule.wire for rule in self.fields]
        repeated = sorted({w for w in wires if wires.count(w) > 1})
        if repeated:
            raise ConfigurationError(f"profile {self.name}: wire names used twice: {repeated}")
        reserved = sorted({"amount", "sign", "timestamp"}.intersection(wires))
        if reserved:
            raise ConfigurationError(
                f"profile {self.name}: {reserved} cannot be field rules (the amount rule and"
                " signing own them)"
            )
        read: set[str] = set()
        for condition in self.conditions:
            names = rules.reads_of(condition)
            if names is None:  # a condition that may read anything sees everything
                read.update(r.name for r in self.fields)
                break
            read.update(names)
        return tuple(
            (r.wire, r.name, r.required, r.check, not rules.is_clean(r.check), r.name in read)
            for r in self.fields
        )

    @_consumed.default
    def _make_consumed(self) -> frozenset[str]:
        return frozenset(rule.wire for rule in self.fields) | {"amount"}

    @_fast.default
    def _make_fast(self) -> FastPrepare:
        return compile_prepare(
            self.name, self._plan, self.amount, self.conditions, self._consumed
        )

    def prepare(self, request: CheckoutRequest) -> dict[str, Any]:
        """Validate ``request`` and return its wire fields (without ``timestamp``/``sign``).

        Raises ``ValidationError`` listing every broken rule; nothing is half-prepared.
        """
        if request.extra is not NO_EXTRA:  # identity: no extra is always this one object
            return self._prepare_with_extra(request)
        # The compiled fast path accepts a valid request in one pass; anything else (an
        # error to word, an unusual value) is the reference's: ``check_fields``.
        fields = self._fast(request)
        if fields is not None:
            return fields
        return self.check_fields(checkout_fields(request))

    def _prepare_with_extra(self, request: CheckoutRequest) -> dict[str, Any]:
        # ``extra`` only adds fields: one that the SDK renders itself is refused, not merged.
        collisions = [key for key in request.extra if key in _RENDERED]
        if not collisions:
            return self.check_fields(checkout_fields(request))
        found = [
            Violation(
                f"extra.{key}",
                "extra_collision",
                "the SDK renders this field itself; extra may only add fields",
            )
            for key in collisions
        ]
        rest = {k: v for k, v in request.extra.items() if k not in _RENDERED}
        rules.refuse_with_the_rest(
            found, lambda: self.check_fields(checkout_fields(attrs.evolve(request, extra=rest)))
        )

    def check_fields(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Validate wire-named business fields and return them as they are sent.

        The same rules as ``prepare``, for a field dict (what the sandbox receives). The
        amount may be given as int, Decimal or decimal text.

        One pass applies every rule; a violation is only built when one is found, so a
        valid request (the usual case) costs no more than a yes/no check would.
        """
        found: list[Violation] = []
        out: dict[str, Any] = {}
        amount = fields.get("amount")
        if type(amount) is not int and type(amount) is not Decimal and (
            amount is None or amount == ""
        ):
            found.append(Violation("amount", "required"))
            amount = None
        else:
            if type(amount) is not int and type(amount) is not Decimal:
                try:
                    amount = to_money(amount)
                except ValidationError as exc:
                    found.extend(exc.violations)
                    amount = None
            if amount is not None:
                broken = self.amount.violations(amount)
                if broken:
                    found.extend(broken)
                else:
                    out["amount"] = self.amount.render(amount)
        given = 1 if "amount" in fields else 0  # fields a rule consumed; others are refused
        seen: dict[str, Any] = {}  # fields given (valid or not) that the conditions read
        get = fields.get
        for wire, name, required, check, scan, read in self._plan:
            value = get(wire, _ABSENT)
            if value is _ABSENT:
                if required:
                    found.append(Violation(name, "required"))
                continue
            given += 1
            if value is None or value == "":
                if required:
                    found.append(Violation(name, "required"))
                continue
            if type(value) is not str:
                if not isinstance(value, str):
                    seen[name] = value
                    found.append(Violation(name, "not_text", "must be a string"))
                    continue
                value = str.__str__(value)  # a str subclass (an Enum...): its plain text
            # No field may hold control characters or surrogates. A clean check refuses them
            # itself; else scan here (isprintable: one C loop, regexes only when it fails).
            if scan and not value.isprintable():
                bad = rules.text_hygiene(value)
                if bad is not None:
                    seen[name] = value
                    found.append(Violation(name, bad.rule, bad.hint))
                    continue
            if check is not None:
                try:
                    value = check(value)
                except rules.Invalid as invalid:
                    # A clean check's failure may be a hygiene one: give it that name.
                    bad = None if scan else rules.text_hygiene(value)
                    rule, hint = (bad.rule, bad.hint) if bad else (invalid.rule, invalid.hint)
                    seen[name] = value
                    found.append(Violation(name, rule, hint))
                    continue
            out[wire] = value
            if read:
                seen[name] = value
        if given != len(fields):
            consumed = self._consumed
            for wire in fields:
                if wire not in consumed:
                    hint = f"not sent by the {self.name} profile"
                    found.append(Violation(_sdk_name(wire), "not_allowed", hint))
        for condition in self.conditions:
            found.extend(condition(seen))
        if found:
            raise ValidationError(found)
        return out

    def with_changes(self, **changes: Any) -> RegionProfile:
        """A copy with some attributes replaced (e.g. another ``name`` and ``fields``)."""
        return attrs.evolve(self, **changes)


_ABSENT: Any = object()

_SDK_NAMES = {wire_name(a.name): a.name for a in attrs.fields(CheckoutRequest)}


def _sdk_name(wire: object) -> str:
    """The name errors use for a field: the SDK's, else the wire name if it prints safely."""
    if not isinstance(wire, str):
        return f"<{type(wire).__name__} key>"
    known = _SDK_NAMES.get(wire)
    if known is not None:
        return known
    return wire if wire.isprintable() and len(wire) <= 64 else "<unprintable key>"


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


# Built-in profiles (SPEC §4, §5). A new built-in region is one ``_builtin(...)`` here. --------

registry = ProfileRegistry()


def _builtin(profile: RegionProfile) -> RegionProfile:
    return registry.register(profile)


_NOTIFY = "https://shop.example/vexora/notify"
_RETURN = "https://shop.example/done"

_COMMON_TAIL = (field("notify_url", rules.http_url),)

_IDR_FIELDS = (
    field("trade_no", rules.trade_no),
    field("username", rules.text(64)),
    field(
        "mobile",
        rules.matches(
            r"(08[0-9]{8,11}|628[0-9]{7,10})",
            "mobile_format",
            "08 or 628, 10 to 13 digits",
            clean=True,
        ),
    ),
    field("email", rules.email),
    field("channel_code", rules.one_of("QRIS", "EWALLET", "VA"), required=False),
    field("way_code", rules.text(32), required=False),
    *_COMMON_TAIL,
    field("return_url", rules.http_url, required=False),
    field("remark", rules.remark(255), required=False),
)

VEXORA_IDR = _builtin(
    RegionProfile(
        name="IDR",
        checkout_path="/v1/vexora/checkout",
        query_path="/v1/vexora/queryPayInResult",
        fields=_IDR_FIELDS,
        amount=rules.AmountRule(decimals=0, minimum=10000, as_number=True),
        conditions=(rules.only_with("way_code", "channel_code"),),
        description="Vexora Indonesia, IDR",
        currency="IDR",
        response=ResponseShape(payment_url=("paymentUrl", "paymentLink")),
        payout=payout_rules.indonesia(
            "IDR",
            "/v1/vexora/disbursements",
            "/v1/vexora/queryPayOutResult",
            "/v1/vexora/queryBalance",
        ),
        sample=CheckoutRequest(
            trade_no="SAMPLE0000000001",
            amount=10000,
            username="Demo Payer",
            mobile="081234567890",
            email="payer@example.com",
            notify_url=_NOTIFY,
        ),
    )
)

PAYPRO_IDR = _builtin(
    VEXORA_IDR.with_changes(
        name="PAYPRO_IDR",
        checkout_path="/v1/paypro/paymentLink",
        query_path="/v1/paypro/queryPayInResult",
        timestamp_as_number=True,
        description="Paypro Indonesia, IDR",
        payout=payout_rules.indonesia(
            "PAYPRO_IDR",
            "/v1/paypro/payOut",
            "/v1/paypro/queryPayOutResult",
            "/v1/paypro/queryBalance",
        ),
    )
)

PHP = _builtin(
    RegionProfile(
        name="PHP",
        checkout_path="/v1/vexora/checkout",
        query_path="/v1/vexora/queryPayInResult",
        fields=(
            field("trade_no", rules.trade_no),
            field(
                "mobile",
                rules.matches(
                    r"0[0-9]{9}", "mobile_format", "10 digits starting with 0", clean=True
                ),
            ),
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
            field("remark", rules.remark(255), required=False),
        ),
        amount=rules.AmountRule(decimals=0),
        conditions=(
            rules.required_when("postcode", "channel_code", "STORE"),
            rules.required_when("address", "channel_code", "STORE"),
            rules.required_when("bank_number", "channel_code", "NET_BANKING"),
        ),
        description="Vexora 'PHP' checkout (the seed page's channel/way codes)",
        currency="PHP",
        payout=payout_rules.philippines(),
        # The page's table says paymentLink (its own example sends paymentUrl); no QR.
        response=ResponseShape(payment_url=("paymentLink", "paymentUrl"), qr_ways=frozenset()),
        sample=CheckoutRequest(
            trade_no="SAMPLE0000000001",
            amount=300,
            firstname="Demo",
            lastname="Payer",
            mobile="0912345678",
            email="payer@example.com",
            channel_code="EWALLET",
            way_code="GCASH",
            ip_address="203.0.113.7",
            notify_url=_NOTIFY,
            return_url=_RETURN,
        ),
    )
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
    field("remark", rules.remark(255)),
)

CAMBODIA_KHR = _builtin(
    RegionProfile(
        name="KHR",
        checkout_path="/v1/vexora/checkout",
        query_path="/v1/vexora/queryPayInResult",
        fields=_CAMBODIA_FIELDS,
        amount=rules.AmountRule(decimals=0),
        description="Vexora Cambodia, KHR account",
        currency="KHR",
        payout=payout_rules.cambodia("KHR", decimals=0),
        # A raw KHQR string in payInfo, only for KHQR payments.
        response=ResponseShape(
            payment_url=("paymentLink", "paymentUrl"),
            message=("message", "desc", "msg"),
            qr_payload=("payInfo", "qrString"),
            qr_ways=frozenset({"KHQR"}),
            status_text="Processing",
        ),
        sample=CheckoutRequest(
            trade_no="SAMPLE0000000001",
            amount=4000,
            firstname="Demo",
            lastname="Payer",
            mobile="12345678",
            email="payer@example.com",
            channel_code="KHQR",
            way_code="KHQR",
            notify_url=_NOTIFY,
            return_url=_RETURN,
            remark="demo order",
        ),
    )
)

CAMBODIA_USD = _builtin(
    CAMBODIA_KHR.with_changes(
        name="USD",
        amount=rules.AmountRule(decimals=2, minimum=Decimal("0.01")),
        description="Vexora Cambodia, USD account",
        currency="USD",
        payout=payout_rules.cambodia("USD", decimals=2),
        sample=attrs.evolve(CAMBODIA_KHR.sample, amount=Decimal("5.00")),  # type: ignore[misc]
    )
)


# The built-in profiles, before any user registers one.
BUILT_IN: tuple[RegionProfile, ...] = tuple(registry)


def register_profile(profile: RegionProfile, *, replace: bool = False) -> RegionProfile:
    """Add ``profile`` to the default registry, so ``VexoraClient(region=profile.name)`` works."""
    return registry.register(profile, replace=replace)


def get_profile(name: str | RegionProfile) -> RegionProfile:
    """Look a profile up in the default registry (a profile object is returned as is)."""
    return registry.get(name)
