"""The compiled ``prepare`` (issue 14) against the reference, by hypothesis.

``RegionProfile.prepare`` runs a function compiled per profile that accepts a valid request
in one pass and hands anything else to the reference. The claim: for any request, of any
profile, built-in or assembled at random, the result is exactly the reference's: the same
wire fields in the same key order, or the same ``ValidationError`` with the same violations
in the same order. The reference is the pre-compilation ``prepare``, written out here:
``check_fields(checkout_fields(request))`` with ``extra`` collisions refused first.

The checks made cheaper for it (``trade_no``, ``ip_address``, ``cambodia_mobile``,
``remark``) are compared with their former implementations, also written out here.

CI runs 500 examples per property (CI=true); a local run 150.
"""

from __future__ import annotations

import enum
import functools
import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from vexora_async import CheckoutRequest, ValidationError, rules
from vexora_async.errors import Violation
from vexora_async.models import NO_EXTRA
from vexora_async.regions import BUILT_IN, FieldRule, RegionProfile
from vexora_async.wire import checkout_fields, wire_name

EXAMPLES = 500 if os.environ.get("CI") else 150
PROPERTY = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

_RENDERED = {
    wire_name(a.name) for a in attrs.fields(CheckoutRequest) if a.name != "extra"
} | {"sign", "timestamp"}


def reference_prepare(profile: RegionProfile, request: CheckoutRequest) -> dict[str, Any]:
    """``prepare`` as it was before the compiled fast path (the straightforward reading)."""
    collisions = [key for key in request.extra if key in _RENDERED]
    if not collisions:
        return profile.check_fields(checkout_fields(request))
    found = [
        Violation(
            f"extra.{key}",
            "extra_collision",
            "the SDK renders this field itself; extra may only add fields",
        )
        for key in collisions
    ]
    rest = {k: v for k, v in request.extra.items() if k not in _RENDERED}
    try:
        profile.check_fields(checkout_fields(attrs.evolve(request, extra=rest)))
    except ValidationError as exc:
        found.extend(exc.violations)
    raise ValidationError(found)


def outcome(run: Callable[[], dict[str, Any]]) -> tuple[Any, ...]:
    """What a call gives, comparable: the fields with their order and types, or the error."""
    try:
        fields = run()
    except ValidationError as exc:
        return ("invalid", exc.violations, str(exc))
    except Exception as exc:  # anything else must be the same exception too
        return ("raised", type(exc), str(exc))
    return ("ok", [(key, type(value), value) for key, value in fields.items()])


def assert_same(profile: RegionProfile, request: CheckoutRequest) -> tuple[Any, ...]:
    fast = outcome(lambda: profile.prepare(request))
    assert fast == outcome(lambda: reference_prepare(profile, request))
    return fast


# -- Values ------------------------------------------------------------------------------


class Text(str):
    """A str subclass: sent as plain text by the reference."""


class Whole(int):
    """An int subclass: a valid amount type that is not exactly ``int``."""


class Kind(enum.IntEnum):
    TEN_THOUSAND = 10000


# Every valid value the built-in samples hold, by attribute: so that most generated requests
# are valid or nearly so, and the fast path's acceptance is what gets tested.
_SAMPLES = [p.sample for p in BUILT_IN if p.sample is not None]
_GOOD: dict[str, list[Any]] = {
    a.name: sorted({getattr(s, a.name) for s in _SAMPLES} - {None}, key=repr)
    for a in attrs.fields(CheckoutRequest)
    if a.name not in ("amount", "extra")
}
_GOOD["channel_code"] += ["QRIS", "VA", "NET_BANKING", "STORE"]
_GOOD["postcode"] = ["1000", "BGC 1634"]
_GOOD["address"] = ["1 Ayala Ave, Makati"]
_GOOD["bank_number"] = ["808-0368988888888", "808-0368988888888 , 123-4567"]
_GOOD["username"] += ["Budi Santoso"]
_GOOD["mobile"] += ["6281234567", "0812345678901", "+855 12-345-678", "855123456789", "012345678"]
_GOOD["ip_address"] += ["0.0.0.0", "255.255.255.255", "::1", "2001:DB8::1", " 10.0.0.1 "]
_GOOD["remark"] += ["a=b", "x" * 255]
_GOOD["return_url"] += ["http://127.0.0.1:9/x"]

# Values each rule refuses or treats specially (hygiene, normalisation, types).
_ODD: list[Any] = [
    "",
    " ",
    "\t",
    "x" * 256,
    "a\x00b",
    "a\ud800",
    "a\u2028b",
    "a\u00a0b",  # not printable, but no hygiene problem: the fast path must not refuse it
    "a\xadb",
    "status=1",
    "tradeNo=x",
    "01.2.3.4",
    "256.1.1.1",
    "1.2.3",
    "٠٨١٢٣٤٥٦٧٨٩٠",  # Arabic-Indic digits
    "08123456789012",
    "payer@@example.com",
    "payer@example..com",
    "ftp://x",
    "has space",
    Text("Demo"),
    Text("081234567890"),
    7,
    Decimal("1"),
    b"bytes",
    ["list"],
]


def field_values(name: str) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.sampled_from(_GOOD[name]) if _GOOD[name] else st.none(),
        st.sampled_from(_GOOD[name]) if _GOOD[name] else st.none(),
        st.sampled_from(_ODD),
        st.text(st.characters(blacklist_categories=()), max_size=20),
    )


# Each bound of every amount rule here, and a step either side of it.
_EDGES = [
    edge + step
    for edge in (0, 1, 300, 10_000, 1000, 10**15)
    for step in (-1, 0, 1)
]
amounts = st.one_of(
    st.integers(-2, 20_000),
    st.sampled_from(_EDGES),
    st.sampled_from(_EDGES),
    st.integers(),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.decimals(min_value=0, max_value=100_000, places=3),
    st.sampled_from(
        [Decimal("5.00"), Decimal("5"), Decimal("5.001"), Decimal("1E+3"), Decimal("-0"),
         Decimal("0.01"), Decimal("0.009"), Decimal("100.5"), Decimal("100.49"), Decimal("999.99")]
    ),
    st.sampled_from(["12.50", " 10000 ", "1e4", "abc", Whole(12345), Kind.TEN_THOUSAND]),
)

extra_keys = st.one_of(
    st.sampled_from(sorted(_RENDERED)),
    st.sampled_from(["payType", "extraField", "phone"]),
    st.text(max_size=4),
    st.integers(0, 3),
)
extras = st.one_of(
    st.none(),
    st.none(),
    st.dictionaries(extra_keys, st.one_of(st.none(), st.sampled_from(_ODD), st.text()), max_size=4),
)

_TEXT_ATTRS = [a.name for a in attrs.fields(CheckoutRequest) if a.name not in ("amount", "extra")]


@st.composite
def requests(draw: st.DrawFn, base: CheckoutRequest | None = None) -> CheckoutRequest:
    """A request: a sample with some fields replaced, or every field drawn."""
    if base is None:
        base = draw(st.sampled_from(_SAMPLES))
    changes: dict[str, Any] = {}
    names = draw(st.lists(st.sampled_from(_TEXT_ATTRS), unique=True, max_size=len(_TEXT_ATTRS)))
    for name in names:
        changes[name] = draw(field_values(name))
    if draw(st.booleans()):
        changes["amount"] = draw(amounts)
    changes["extra"] = draw(extras)
    try:
        return attrs.evolve(base, **changes)
    except ValidationError:  # an amount the constructor refuses: no request to prepare
        assume(False)
        raise


@PROPERTY
@given(st.sampled_from(BUILT_IN), requests())
def test_a_built_in_profile_prepares_as_the_reference(
    profile: RegionProfile, request: CheckoutRequest
) -> None:
    assert_same(profile, request)


@PROPERTY
@given(st.sampled_from(BUILT_IN), st.sampled_from(_TEXT_ATTRS), st.data())
def test_one_field_changed_in_a_valid_sample_prepares_as_the_reference(
    profile: RegionProfile, name: str, data: st.DataObject
) -> None:
    # One field at a time: the fast path is the one answering for most of these.
    assert profile.sample is not None
    request = attrs.evolve(profile.sample, **{name: data.draw(field_values(name))})
    assert_same(profile, request)


@PROPERTY
@given(st.sampled_from(BUILT_IN), amounts)
def test_any_amount_in_a_valid_sample_prepares_as_the_reference(
    profile: RegionProfile, amount: Any
) -> None:
    assert profile.sample is not None
    try:
        request = attrs.evolve(profile.sample, amount=amount)
    except ValidationError:
        assume(False)
        raise
    assert_same(profile, request)


# -- Profiles assembled at random ----------------------------------------------------------

# Every field rule of the built-in profiles (one per wire name), plus fields only ``extra``
# can carry and a rule whose wire name is not its attribute's.
_RULES: dict[str, FieldRule] = {}
for _profile in BUILT_IN:
    for _rule in _profile.fields:
        _RULES.setdefault(_rule.wire, _rule)
_RULES["payType"] = FieldRule("payType", True, rules.text(8))
_RULES["phone"] = FieldRule("mobile", True, rules.text(16), wire="phone")
_RULES["note"] = FieldRule("note", False, None)


def _anything(fields: Mapping[str, Any]) -> list[Violation]:
    # A condition that declares no reads: it sees every field.
    if fields.get("remark") == "demo order" and "email" in fields:
        return [Violation("remark", "not_demo", "no demo orders here")]
    return []


def _gen_anything(fields: Mapping[str, Any]) -> Any:
    # A generator condition: it must not be consumed on the way to the reference.
    if fields.get("way_code") == "KHQR":
        yield Violation("way_code", "no_khqr")


_CONDITIONS: list[rules.Condition] = [
    c for p in BUILT_IN for c in p.conditions
] + [
    rules.only_with("remark", "return_url"),
    rules.required_when("return_url", "channel_code", "EWALLET"),
    _anything,
    _gen_anything,
]

_AMOUNT_RULES = st.builds(
    rules.AmountRule,
    decimals=st.sampled_from([0, 2, 3]),
    minimum=st.sampled_from([None, 1, 300, 10000, Decimal("0.01"), Decimal("100.5"), 0, -5]),
    as_number=st.booleans(),
    max_digits=st.sampled_from([3, 15]),
)


@st.composite
def profiles(draw: st.DrawFn) -> RegionProfile:
    wires = draw(st.lists(st.sampled_from(sorted(_RULES)), unique=True, min_size=0))
    fields = tuple(
        attrs.evolve(_RULES[w], required=draw(st.booleans())) for w in wires
    )
    return RegionProfile(
        name="GEN",
        checkout_path="/x",
        query_path="/y",
        fields=fields,
        amount=draw(_AMOUNT_RULES),
        conditions=tuple(draw(st.lists(st.sampled_from(_CONDITIONS), max_size=3))),
    )


@PROPERTY
@given(profiles(), requests())
def test_a_random_profile_prepares_as_the_reference(
    profile: RegionProfile, request: CheckoutRequest
) -> None:
    assert_same(profile, request)


@PROPERTY
@given(profiles(), st.data())
def test_a_random_profile_with_a_valid_request_prepares_as_the_reference(
    profile: RegionProfile, data: st.DataObject
) -> None:
    # Fill exactly the profile's own attributes with good values: mostly accepted requests.
    values: dict[str, Any] = {"trade_no": "T1", "amount": data.draw(amounts)}
    for rule in profile.fields:
        name = rule.name if rule.wire == wire_name(rule.name) else None
        if _GOOD.get(name):
            values[name] = data.draw(st.sampled_from(_GOOD[name]))
    try:
        request = CheckoutRequest(**values)
    except ValidationError:
        assume(False)
        raise
    assert_same(profile, request)


# -- The fast path is the one taken --------------------------------------------------------


@pytest.mark.parametrize("profile", BUILT_IN, ids=lambda p: p.name)
def test_every_built_in_sample_takes_the_fast_path(profile: RegionProfile) -> None:
    # Not a timing: the compiled function accepts the sample itself (None would mean every
    # request of this profile went through the slower reference).
    assert profile.sample is not None
    fast = profile._fast(profile.sample)
    assert fast is not None
    assert list(fast.items()) == list(reference_prepare(profile, profile.sample).items())


def test_a_fast_result_is_a_fresh_dict_each_time() -> None:
    profile = BUILT_IN[0]
    assert profile.sample is not None
    first = profile.prepare(profile.sample)
    first["timestamp"] = "1"  # signing adds to it
    assert "timestamp" not in profile.prepare(profile.sample)


def test_no_extra_is_the_shared_empty_mapping() -> None:
    # ``prepare`` picks the fast path by identity with NO_EXTRA.
    request = CheckoutRequest(trade_no="T", amount=1, extra={})
    assert request.extra is NO_EXTRA


# -- The checks made cheaper, against what they were ----------------------------------------

_OLD_TRADE_NO = re.compile(r"[A-Za-z0-9_.\-]{1,32}", re.ASCII)
_OLD_KH = re.compile(r"[1-9][0-9]{7,8}")


def _old_ip(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise rules.Invalid("ip_format", "an IPv4 or IPv6 address") from None


def _old_cambodia_mobile(value: str) -> str:
    digits = value.replace(" ", "").replace("-", "")
    if digits.startswith("+855"):
        digits = digits[4:]
    elif digits.startswith("855") and len(digits) - 3 >= 8:
        digits = digits[3:]
    if digits.startswith("0"):
        digits = digits[1:]
    if _OLD_KH.fullmatch(digits) is None:
        raise rules.Invalid("mobile_format", "8 or 9 digits without the country code")
    return digits


def _old_trade_no(value: str) -> str:
    if _OLD_TRADE_NO.fullmatch(value) is None:
        raise rules.Invalid("trade_no_format", "1 to 32 letters, digits, '_', '-' or '.'")
    return value


def _old_remark(max_length: int) -> Callable[[str], str]:
    plain = rules.text(max_length)

    def check(value: str) -> str:
        plain(value)
        if "=" in value and rules._recuttable_remark(value):
            raise rules.Invalid("ambiguous_in_notification", "no 'key=' text such as 'status='")
        return value

    return check


def _old_payout_remark(max_length: int) -> Callable[[str], str]:
    from vexora_async.payout_notify import PAYOUT_KEYS
    from vexora_async.signing import recut_key

    plain = rules.text(max_length)

    def check(value: str) -> str:
        plain(value)
        if "=" in value and recut_key({"remark": value}, PAYOUT_KEYS) is not None:
            raise rules.Invalid("ambiguous_in_notification", "no 'key=' text such as 'status='")
        return value

    return check


def _result(check: Callable[[str], str], value: str) -> tuple[Any, ...]:
    try:
        return ("ok", check(value))
    except rules.Invalid as invalid:
        return ("invalid", invalid.rule, invalid.hint)


# ASCII digits and what looks like them: Arabic-Indic zero and Devanagari five.
_DIGITISH = st.text(st.sampled_from("0123456789+- .\u0660\u096bx:abcdefABCDEF"), max_size=20)
_ANY = st.text(st.characters(blacklist_categories=()), max_size=40)
_IPISH = st.one_of(
    st.ip_addresses().map(str),
    st.builds(
        lambda parts, sep: sep.join(parts),
        st.lists(st.sampled_from(["0", "00", "01", "1", "9", "10", "99", "100", "199", "249",
                                  "250", "255", "256", "300", "1000", "", "٣"]),
                 min_size=1, max_size=5),
        st.sampled_from([".", ":", ". "]),
    ),
    _DIGITISH,
)

_NEW_AND_OLD = [
    (rules.trade_no, _old_trade_no, st.one_of(_ANY, _DIGITISH, st.text("aZ09_.-é ", max_size=34))),
    (rules.ip_address, _old_ip, st.one_of(_IPISH, _ANY)),
    (rules.cambodia_mobile, _old_cambodia_mobile, st.one_of(_DIGITISH, _ANY)),
    (rules.remark(255), _old_remark(255), st.one_of(_ANY, st.text("a= st", max_size=300))),
    (rules.remark(8), _old_remark(8), st.one_of(_ANY, st.text(" a=", max_size=12))),
    (rules.remark(255, notification="payout"), _old_payout_remark(255),
     st.one_of(_ANY, st.text("a= st", max_size=300),
               st.sampled_from(["status=1", "x tradeNo=2", "successTime=", "amount=5"]))),
]


@PROPERTY
@given(st.data())
def test_each_cheaper_check_answers_as_before(data: st.DataObject) -> None:
    new, old, values = data.draw(st.sampled_from(_NEW_AND_OLD))
    value = data.draw(values)
    assert _result(new, value) == _result(old, value)


def test_the_cheaper_checks_keep_their_names() -> None:
    # A profile's repr names its checks.
    assert rules.trade_no.__qualname__ == "trade_no"
    assert rules.is_clean(rules.trade_no)
    assert rules.remark(255).__qualname__ == "remark(255)"


# -- Checks and conditions inlined as expressions --------------------------------------------

_INLINED_CHECKS = sorted(
    {
        rule.check
        for profile in BUILT_IN
        for rule in (*profile.fields, *(profile.payout.fields if profile.payout else ()))
        if rules.refuses_of(rule.check) is not None
    },
    key=repr,
)
_INLINED_CONDITIONS = [c for c in _CONDITIONS if rules.refuses_of(c) is not None]


def test_the_usual_checks_and_conditions_are_inlined() -> None:
    # Otherwise the compiled prepare silently calls them again (correct, but slower).
    names = {c.__qualname__ for c in _INLINED_CHECKS}
    assert {"trade_no", "email", "http_url", "matches(mobile_format)", "text(64)"} <= names
    assert len(_INLINED_CONDITIONS) >= 4


def test_a_wrapped_check_is_called_not_inlined() -> None:
    # functools.wraps copies the wrapped check's attributes: its expression must not follow.
    @functools.wraps(rules.email)
    def stricter(value: str) -> str:
        if not value.endswith(".id"):
            raise rules.Invalid("email_domain", "an .id address")
        return rules.email(value)

    assert rules.refuses_of(stricter) is None
    profile = BUILT_IN[0].with_changes(
        fields=tuple(
            attrs.evolve(r, check=stricter) if r.name == "email" else r
            for r in BUILT_IN[0].fields
        )
    )
    assert profile.sample is not None
    outcome_ = assert_same(profile, profile.sample)
    assert outcome_[0] == "invalid"


def _refused(func: object, **names: Any) -> bool:
    found = rules.refuses_of(func)
    assert found is not None
    test, arg = found
    return bool(eval(test.replace("ARG", "arg"), {"arg": arg}, names))


@PROPERTY
@given(
    st.sampled_from(_INLINED_CHECKS),
    st.one_of(
        _ANY,
        _DIGITISH,
        st.sampled_from([v for values in _GOOD.values() for v in values if isinstance(v, str)]),
        st.sampled_from([v for v in _ODD if type(v) is str]),
        # Each length limit and one past it.
        st.builds(
            lambda n, c: c * n,
            st.sampled_from([1, 8, 9, 16, 17, 32, 33, 64, 65, 254, 255, 256]),
            st.sampled_from(["x", " ", "a=", "\u00a0"]),
        ),
    ),
)
def test_an_inlined_check_refuses_exactly_what_it_raises_for(check: Any, value: str) -> None:
    assume(value)  # the compiled prepare tests non-empty text only
    try:
        kept = check(value)
    except rules.Invalid:
        assert _refused(check, value=value)
    else:
        assert not _refused(check, value=value)
        assert kept is value


_SEEN_NAMES = ["way_code", "channel_code", "postcode", "address", "bank_number", "remark",
               "return_url"]


@PROPERTY
@given(
    st.sampled_from(_INLINED_CONDITIONS),
    st.dictionaries(
        st.sampled_from(_SEEN_NAMES),
        st.sampled_from(["STORE", "NET_BANKING", "EWALLET", "x", "", None]),
    ),
)
def test_an_inlined_condition_refuses_exactly_what_it_yields_for(
    condition: Any, seen: dict[str, Any]
) -> None:
    assert _refused(condition, seen=seen) == bool(list(condition(seen)))
