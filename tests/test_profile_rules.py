"""Every rule of SPEC §4, broken one at a time: the error names the field and the rule."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from vexora_async import CheckoutRequest, ValidationError
from vexora_async.regions import get_profile

from . import seed_examples as seeds
from .helpers import request_from_wire

BASES = {
    "IDR": seeds.IDR_REQUEST,
    "PAYPRO_IDR": seeds.IDR_REQUEST,
    "PHP": seeds.PHP_NET_BANKING_REQUEST,
    "PHP_STORE": seeds.PHP_STORE_REQUEST,
    "KHR": seeds.CAMBODIA_REQUEST,
    "USD": seeds.CAMBODIA_REQUEST,
}

BROKEN: list[tuple[str, dict[str, Any], str, str]] = [
    # common rules
    ("IDR", {"trade_no": "x" * 33}, "trade_no", "trade_no_format"),
    ("IDR", {"trade_no": ""}, "trade_no", "required"),
    ("IDR", {"trade_no": "has space"}, "trade_no", "trade_no_format"),
    ("IDR", {"notify_url": None}, "notify_url", "required"),
    ("IDR", {"notify_url": "merchant.example/notify"}, "notify_url", "url_format"),
    ("IDR", {"notify_url": "ftp://merchant.example/notify"}, "notify_url", "url_format"),
    ("IDR", {"email": "not-an-email"}, "email", "email_format"),
    ("IDR", {"email": None}, "email", "required"),
    # Vexora IDR / Paypro IDR
    ("IDR", {"amount": 9999}, "amount", "below_minimum"),
    ("IDR", {"amount": Decimal("10000.5")}, "amount", "not_whole"),
    ("IDR", {"amount": 0}, "amount", "not_positive"),
    ("IDR", {"amount": -10000}, "amount", "not_positive"),
    ("PAYPRO_IDR", {"amount": 5000}, "amount", "below_minimum"),
    ("IDR", {"username": None}, "username", "required"),
    ("IDR", {"mobile": None}, "mobile", "required"),
    ("IDR", {"mobile": "0712345678"}, "mobile", "mobile_format"),
    ("IDR", {"mobile": "081234567"}, "mobile", "mobile_format"),  # 9 digits
    ("IDR", {"mobile": "08123456789012"}, "mobile", "mobile_format"),  # 14 digits
    ("IDR", {"mobile": "+6281245907765"}, "mobile", "mobile_format"),
    ("PAYPRO_IDR", {"mobile": "62812459077651"}, "mobile", "mobile_format"),
    ("IDR", {"channel_code": "CARD"}, "channel_code", "not_allowed_value"),
    ("IDR", {"channel_code": None}, "way_code", "requires_channel_code"),
    ("PAYPRO_IDR", {"channel_code": None}, "way_code", "requires_channel_code"),
    ("IDR", {"return_url": "abc.com/callback"}, "return_url", "url_format"),
    ("IDR", {"firstname": "Budi"}, "firstname", "not_allowed"),
    ("IDR", {"ip_address": "10.0.0.1"}, "ip_address", "not_allowed"),
    # PHP checkout
    ("PHP", {"amount": Decimal("300.50")}, "amount", "not_whole"),
    ("PHP", {"mobile": "912345678"}, "mobile", "mobile_format"),
    ("PHP", {"mobile": "+63912345678"}, "mobile", "mobile_format"),
    ("PHP", {"mobile": "09123456789"}, "mobile", "mobile_format"),
    ("PHP", {"firstname": None}, "firstname", "required"),
    ("PHP", {"lastname": "  "}, "lastname", "blank"),
    ("PHP", {"channel_code": None}, "channel_code", "required"),
    ("PHP", {"channel_code": "QRIS"}, "channel_code", "not_allowed_value"),
    ("PHP", {"way_code": None}, "way_code", "required"),
    ("PHP", {"ip_address": None}, "ip_address", "required"),
    ("PHP", {"ip_address": "300.1.1.1"}, "ip_address", "ip_format"),
    ("PHP", {"bank_number": None}, "bank_number", "required"),
    ("PHP", {"bank_number": "808/0368988888888"}, "bank_number", "bank_number_format"),
    (
        "PHP",
        {"bank_number": "808-0368988888888;013-045898888"},
        "bank_number",
        "bank_number_format",
    ),
    ("PHP", {"return_url": None}, "return_url", "required"),
    ("PHP", {"username": "abc"}, "username", "not_allowed"),
    ("PHP_STORE", {"postcode": None}, "postcode", "required"),
    ("PHP_STORE", {"address": None}, "address", "required"),
    # Cambodia KHR / USD
    ("KHR", {"amount": Decimal("300.5")}, "amount", "not_whole"),
    ("USD", {"amount": Decimal("10.123")}, "amount", "too_many_decimals"),
    ("USD", {"amount": Decimal("0")}, "amount", "not_positive"),
    ("KHR", {"mobile": "1234567"}, "mobile", "mobile_format"),
    ("KHR", {"mobile": "1234567890"}, "mobile", "mobile_format"),
    ("KHR", {"mobile": "09123456789"}, "mobile", "mobile_format"),
    ("USD", {"mobile": "+66812345678"}, "mobile", "mobile_format"),
    ("KHR", {"firstname": None}, "firstname", "required"),
    ("KHR", {"lastname": None}, "lastname", "required"),
    ("KHR", {"channel_code": None}, "channel_code", "required"),
    ("KHR", {"way_code": None}, "way_code", "required"),
    ("KHR", {"return_url": None}, "return_url", "required"),
    ("USD", {"remark": None}, "remark", "required"),
    ("KHR", {"remark": ""}, "remark", "required"),
    ("KHR", {"username": "Rizky"}, "username", "not_allowed"),
]


@pytest.mark.parametrize(("region", "changes", "field", "rule"), BROKEN)
def test_each_rule_names_its_field(
    region: str, changes: dict[str, Any], field: str, rule: str
) -> None:
    profile = get_profile(region.removesuffix("_STORE"))
    request = request_from_wire(BASES[region], **changes)
    with pytest.raises(ValidationError) as caught:
        profile.prepare(request)
    pairs = [(v.field, v.rule) for v in caught.value.violations]
    assert pairs == [(field, rule)]
    assert field in str(caught.value) and rule in str(caught.value)


def test_three_broken_rules_are_all_reported() -> None:
    request = request_from_wire(
        seeds.IDR_REQUEST, amount=500, mobile="12345", email="nobody", channel_code=None
    )
    with pytest.raises(ValidationError) as caught:
        get_profile("IDR").prepare(request)
    assert set(caught.value.fields) == {"amount", "mobile", "email", "way_code"}
    message = str(caught.value)
    assert message.startswith("4 invalid fields")
    # No value is repeated back: the fields may hold personal data.
    assert "12345" not in message and "nobody" not in message


@pytest.mark.parametrize("bad", [10000.0, 1.5, True, "ten", "NaN", None, [1]])
def test_amount_that_is_not_exact_money_is_refused(bad: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        CheckoutRequest(trade_no="T1", amount=bad, notify_url="https://m.example/n")
    assert caught.value.fields == ("amount",)


def test_amount_text_becomes_decimal() -> None:
    assert CheckoutRequest(trade_no="T1", amount=" 10000 ").amount == Decimal("10000")


@pytest.mark.parametrize(
    ("region", "amount", "sent"),
    [
        ("IDR", 10000, 10000),
        ("IDR", Decimal("25000.00"), 25000),
        ("PHP", 300, "300"),
        ("KHR", Decimal("4000"), "4000"),
        ("USD", Decimal("10.5"), "10.50"),  # SPEC §4: USD with exactly two decimals
        ("USD", Decimal("10.25"), "10.25"),
        ("USD", Decimal("12.00"), "12.00"),
        ("USD", Decimal("1E+1"), "10.00"),
        ("USD", 7, "7.00"),
    ],
)
def test_amount_is_written_exactly(region: str, amount: Any, sent: Any) -> None:
    base = {"IDR": seeds.IDR_REQUEST, "PHP": seeds.PHP_NET_BANKING_REQUEST}.get(
        region, seeds.CAMBODIA_REQUEST
    )
    wire = get_profile(region).prepare(request_from_wire(base, amount=amount))
    assert wire["amount"] == sent and type(wire["amount"]) is type(sent)


def test_values_of_the_wrong_type_are_violations_not_crashes() -> None:
    request = request_from_wire(seeds.IDR_REQUEST, mobile=81234567890, username=["x"])
    with pytest.raises(ValidationError) as caught:
        get_profile("IDR").prepare(request)
    assert {(v.field, v.rule) for v in caught.value.violations} == {
        ("mobile", "not_text"),
        ("username", "not_text"),
    }


def test_optional_fields_may_be_left_out() -> None:
    request = CheckoutRequest(
        trade_no="T20240101000001",
        amount=10000,
        username="Budi",
        mobile="081234567890",
        email="budi@gmail.com",
        notify_url="https://merchant.example/notify",
    )
    wire = get_profile("IDR").prepare(request)
    assert set(wire) == {"tradeNo", "amount", "username", "mobile", "email", "notifyUrl"}
