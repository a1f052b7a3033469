"""Text hygiene, ASCII digits, exact and bounded money, ``extra`` that only adds, and a
region as one declaration (issues 11, 13, 15, 17). Every rule is broken on purpose and the
error must name the field and the rule, without repeating the value."""

from __future__ import annotations

from decimal import Decimal, Inexact, localcontext
from typing import Any

import attrs
import pytest

from vexora_async import CheckoutRequest, ValidationError
from vexora_async.regions import (
    BUILT_IN,
    CAMBODIA_KHR,
    PHP,
    VEXORA_IDR,
    FieldRule,
    RegionProfile,
    ResponseShape,
    get_profile,
    registry,
)
from vexora_async.sandbox import SandboxMerchant, run_sandbox

from . import seed_examples as seeds
from .helpers import request_from_wire

PROFILES = sorted(p.name for p in BUILT_IN)
CONTROLS = ["\x00", "\x1b", "\r", "\n", "\r\n", "\t", "\x7f", "\x85", "\u2028"]


def _text_fields(profile: RegionProfile) -> list[str]:
    """The profile's fields that are ``CheckoutRequest`` attributes (all of them text)."""
    names = {a.name for a in attrs.fields(CheckoutRequest)}
    return [rule.name for rule in profile.fields if rule.name in names]


def _sample(profile: RegionProfile) -> CheckoutRequest:
    assert profile.sample is not None
    return profile.sample


def _violations(profile: RegionProfile, request: CheckoutRequest) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        profile.prepare(request)
    return [(v.field, v.rule) for v in caught.value.violations]


CASES = [(p, f) for p in PROFILES for f in _text_fields(registry.get(p))]


@pytest.mark.parametrize(("region", "name"), CASES)
@pytest.mark.parametrize("bad", CONTROLS)
def test_control_characters_are_refused_in_every_text_field(
    region: str, name: str, bad: str
) -> None:
    profile = registry.get(region)
    value = getattr(_sample(profile), name) or "x"
    request = attrs.evolve(_sample(profile), **{name: value[:1] + bad + value[1:]})
    assert (name, "control_character") in _violations(profile, request)


@pytest.mark.parametrize(("region", "name"), CASES)
def test_lone_surrogates_are_refused_in_every_text_field(region: str, name: str) -> None:
    profile = registry.get(region)
    value = getattr(_sample(profile), name) or "x"
    for bad in ("\ud800", "\udfff", "\ud83d\ude00"):  # a pair in a str is still two halves
        request = attrs.evolve(_sample(profile), **{name: value + bad})
        with pytest.raises(ValidationError) as caught:
            profile.prepare(request)
        assert (name, "lone_surrogate") in [(v.field, v.rule) for v in caught.value.violations]
        str(caught.value).encode("utf-8")  # the message itself is printable text


def test_ordinary_unicode_text_is_fine() -> None:
    request = attrs.evolve(_sample(VEXORA_IDR), username="Zoë Ñúñez\u00a0李雷 👩\u200d💻")
    assert VEXORA_IDR.prepare(request)["username"] == request.username


_ARABIC = str.maketrans("0123456789", "".join(chr(0x0660 + i) for i in range(10)))
_FULLWIDTH = str.maketrans("0123456789", "".join(chr(0xFF10 + i) for i in range(10)))


def arabic(text: str) -> str:
    """``text`` with its ASCII digits written as Arabic-Indic digits (which ``\\d`` matches)."""
    return text.translate(_ARABIC)


@pytest.mark.parametrize(
    ("region", "changes", "field"),
    [
        ("IDR", {"mobile": "08" + arabic("1234567890")}, "mobile"),
        ("IDR", {"mobile": "081234567890".translate(_FULLWIDTH)}, "mobile"),
        ("PHP", {"mobile": "0" + arabic("912345678")}, "mobile"),
        ("KHR", {"mobile": arabic("12345678")}, "mobile"),
        ("KHR", {"mobile": "+855 " + arabic("12 345 678")}, "mobile"),
        ("PHP", {"bank_number": "808-" + arabic("0368988888888")}, "bank_number"),
        ("IDR", {"trade_no": "T" + arabic("01")}, "trade_no"),
        ("PHP", {"ip_address": arabic("192") + ".168.0.1"}, "ip_address"),
    ],
)
def test_digit_rules_take_ascii_digits_only(
    region: str, changes: dict[str, str], field: str
) -> None:
    profile = get_profile(region)
    request = _sample(profile)
    if region == "PHP":
        request = attrs.evolve(
            request, channel_code="NET_BANKING", way_code="BANK_TRANSFER",
            bank_number="808-0368988888888",
        )  # fmt: skip
    assert [f for f, _ in _violations(profile, attrs.evolve(request, **changes))] == [field]


@pytest.mark.parametrize("text", [arabic("10000"), "1_0000", "NaN", "Infinity", "10000 ", "1e5x"])
def test_amount_text_is_ascii_decimal(text: str) -> None:
    if text == "10000 ":  # surrounding spaces are fine
        assert CheckoutRequest(trade_no="T1", amount=text).amount == Decimal("10000")
        return
    with pytest.raises(ValidationError) as caught:
        CheckoutRequest(trade_no="T1", amount=text)
    assert caught.value.violations[0].rule == "not_a_number"


@pytest.mark.parametrize(
    ("region", "amount", "rule"),
    [
        ("IDR", 2**64, "too_large"),  # used to crash the JSON encoder
        ("IDR", 10**15, "too_large"),
        pytest.param("IDR", 10**5000, "too_large", id="5001-digit-int"),
        ("IDR", Decimal("1e999999999"), "too_large"),  # used to hang converting to int
        ("IDR", "1e999999999", "too_large"),
        pytest.param("KHR", Decimal("9" * 3000), "too_large", id="3000-digit-decimal"),
        ("KHR", "1" * 65, "too_long"),
        ("USD", Decimal("0.99999999999999999999999999999"), "too_many_decimals"),  # not "1"
        ("KHR", Decimal("0.99999999999999999999999999999"), "not_whole"),
        ("USD", Decimal("1e-999999999"), "below_minimum"),
        ("IDR", Decimal("-1e999999999"), "not_positive"),
        ("IDR", Decimal("sNaN"), "not_a_number"),
    ],
)
def test_amounts_are_never_rounded_and_never_too_large(region: str, amount: Any, rule: str) -> None:
    profile = get_profile(region)
    try:
        request = attrs.evolve(_sample(profile), amount=amount)
    except ValidationError as exc:  # refused while building the request: fine too
        assert [v.rule for v in exc.violations] == [rule]
        return
    assert ("amount", rule) in _violations(profile, request)


def test_the_largest_amounts_are_sent_exactly() -> None:
    idr = VEXORA_IDR.prepare(attrs.evolve(_sample(VEXORA_IDR), amount=10**15 - 1))
    assert idr["amount"] == 999_999_999_999_999
    usd = get_profile("USD")
    wire = usd.prepare(attrs.evolve(_sample(usd), amount=Decimal("999999999999999.99")))
    assert wire["amount"] == "999999999999999.99"
    # Trailing zeros beyond the currency's places are exact: kept, not refused.
    wire = usd.prepare(attrs.evolve(_sample(usd), amount=Decimal("12.5" + "0" * 40)))
    assert wire["amount"] == "12.50"


def test_the_callers_decimal_context_changes_nothing() -> None:
    usd = get_profile("USD")
    with localcontext() as ctx:
        ctx.prec = 3
        ctx.traps[Inexact] = True
        wire = usd.prepare(attrs.evolve(_sample(usd), amount=Decimal("123456.78")))
        assert wire["amount"] == "123456.78"
        with pytest.raises(ValidationError):
            usd.prepare(attrs.evolve(_sample(usd), amount=Decimal("123456.789")))


@pytest.mark.parametrize(
    "key", ["tradeNo", "amount", "sign", "timestamp", "notifyUrl", "remark", "mobile"]
)
def test_extra_cannot_override_a_rendered_field(key: str) -> None:
    request = attrs.evolve(_sample(VEXORA_IDR), extra={key: "OTHER-ORDER"})
    assert _violations(VEXORA_IDR, request) == [(f"extra.{key}", "extra_collision")]


def test_extra_collisions_are_reported_with_every_other_violation() -> None:
    request = attrs.evolve(_sample(VEXORA_IDR), email="nobody", extra={"tradeNo": "X"})
    assert set(_violations(VEXORA_IDR, request)) == {
        ("extra.tradeNo", "extra_collision"),
        ("email", "email_format"),
    }


def test_extra_must_be_a_mapping() -> None:
    with pytest.raises(ValidationError) as caught:
        CheckoutRequest(trade_no="T1", amount=1, extra=["payType"])  # type: ignore[arg-type]
    assert [(v.field, v.rule) for v in caught.value.violations] == [("extra", "not_a_mapping")]


def test_unknown_extra_keys_are_named_safely() -> None:
    request = attrs.evolve(_sample(VEXORA_IDR), extra={"weird\x00key": "1", "payType": "x"})
    pairs = _violations(VEXORA_IDR, request)
    assert set(pairs) == {("<unprintable key>", "not_allowed"), ("payType", "not_allowed")}


def test_a_profile_repr_shows_names_not_function_addresses() -> None:
    for profile in BUILT_IN:
        text = repr(profile)
        assert "0x" not in text and "function" not in text and "<lambda" not in text, text
        assert profile.name in text
    assert "mobile: matches(mobile_format)" in repr(VEXORA_IDR)
    assert "only_with(way_code, channel_code)" in repr(VEXORA_IDR)
    assert "required_when(bank_number, channel_code=NET_BANKING)" in repr(PHP)


def test_profiles_refuse_rules_that_would_collide() -> None:
    from vexora_async.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="twice"):
        VEXORA_IDR.with_changes(fields=(*VEXORA_IDR.fields, FieldRule("username")))
    with pytest.raises(ConfigurationError, match="amount"):
        VEXORA_IDR.with_changes(fields=(*VEXORA_IDR.fields, FieldRule("amount")))


def test_every_built_in_sample_is_valid() -> None:
    for profile in BUILT_IN:
        assert _sample(profile).trade_no and profile.prepare(_sample(profile))


def test_cambodia_seed_answer_shape_is_the_profiles() -> None:
    shape = CAMBODIA_KHR.response
    data = seeds.CAMBODIA_RESPONSE["data"]
    assert shape.payment_url[0] in data and shape.message[0] in data
    assert shape.qr_payload[0] in data
    assert request_from_wire(seeds.CAMBODIA_REQUEST).way_code in (shape.qr_ways or ())


async def test_a_new_region_is_one_declaration() -> None:
    # A made-up system whose answer uses keys no built-in profile uses: the sandbox answers
    # in its shape and the client reads it, from this one declaration.
    region = RegionProfile(
        name="NEWLAND",
        checkout_path="/v1/vexora/checkout",
        query_path="/v1/vexora/queryPayInResult",
        fields=(
            FieldRule("trade_no", check=VEXORA_IDR.fields[0].check),
            FieldRule("notify_url", check=VEXORA_IDR.fields[6].check),
        ),
        amount=get_profile("USD").amount,
        response=ResponseShape(
            payment_url=("cashierUrl",), message=("statusText",), qr_payload=("qr",)
        ),
        sample=CheckoutRequest(trade_no="NEW1", amount=Decimal("1.5"), notify_url="https://m.x/n"),
    )
    merchant = SandboxMerchant("0000000077", "NEW-SECRET", region)
    async with run_sandbox([merchant]) as sandbox, sandbox.client("NEWLAND") as client:
        link = await client.create_payment_link(_sample(region))
    assert link.raw["cashierUrl"] == link.payment_url
    assert link.message == "Paying" == link.raw["statusText"]
    assert link.qr_payload == link.raw["qr"]
    order = sandbox.ledger.order("NEW1")
    assert order is not None and str(order.amount) == "1.50"


def test_a_custom_condition_sees_every_given_field_by_name() -> None:
    seen: dict[str, Any] = {}

    def remember(fields: Any) -> tuple[()]:
        seen.update(fields)
        return ()

    profile = VEXORA_IDR.with_changes(name="REMEMBER", conditions=(remember,))
    with pytest.raises(ValidationError):
        profile.prepare(attrs.evolve(_sample(VEXORA_IDR), channel_code="QRIS", mobile="bad"))
    assert seen["channel_code"] == "QRIS" and seen["mobile"] == "bad"
    assert {"trade_no", "username", "email", "notify_url"} <= set(seen)


@pytest.mark.parametrize("region", ["IDR", "KHR"])
def test_a_remark_that_could_be_recut_into_a_notification_is_refused(region: str) -> None:
    profile = get_profile(region)
    sample = profile.sample
    assert sample is not None
    for bad in ("note status=0000", "x tradeNo=INV7", "wayCode=DANA"):
        with pytest.raises(ValidationError) as caught:
            profile.prepare(attrs.evolve(sample, remark=bad))
        assert [(v.field, v.rule) for v in caught.value.violations] == [
            ("remark", "ambiguous_in_notification")
        ]
        assert bad not in str(caught.value)
    fine = profile.prepare(attrs.evolve(sample, remark="size=L, colour=red"))
    assert fine["remark"] == "size=L, colour=red"
