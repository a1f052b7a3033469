"""verify_notification and parse_notification: the sign over every field, exact amounts,
typed errors for malformed bodies, nothing secret in reprs or messages."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from vexora_async import ConfigurationError, SignatureError, TradeStatus, VexoraError
from vexora_async.notify import (
    MalformedNotification,
    PaymentNotification,
    amount_matches,
    parse_notification,
    verify_notification,
)
from vexora_async.signing import sign

from .test_notify_support import SECRET, body_of, genuine_body, notification_fields, signed


def test_genuine_notification_is_parsed() -> None:
    n = parse_notification(genuine_body("T1"), SECRET)
    assert n.trade_no == "T1"
    assert n.platform_trade_no == "PFT1"
    assert n.amount == Decimal("10000") and isinstance(n.amount, Decimal)
    assert n.status == TradeStatus("0000") and n.status.is_paid
    assert (n.message, n.success_time) == ("success", "2024-01-01 12:00:00")
    assert (n.channel_code, n.way_code) == ("EWALLET", "DANA")
    assert n.timestamp == 1715941383720


def test_str_bytes_and_mapping_bodies_give_the_same_notification() -> None:
    fields = signed(notification_fields())
    as_bytes = parse_notification(body_of(fields), SECRET)
    assert parse_notification(body_of(fields).decode(), SECRET) == as_bytes
    assert parse_notification(fields, SECRET) == as_bytes


@pytest.mark.parametrize("name", sorted(notification_fields()))
def test_any_single_changed_field_breaks_the_sign(name: str) -> None:
    fields = signed(notification_fields())
    fields[name] = "0001" if name == "status" else str(fields[name]) + "9"
    with pytest.raises(SignatureError, match="does not verify"):
        parse_notification(body_of(fields), SECRET)


OPTIONAL = sorted(set(notification_fields()) - {"tradeNo", "amount", "status"})


@pytest.mark.parametrize("name", OPTIONAL)
def test_an_optional_field_removed_breaks_the_sign(name: str) -> None:
    fields = signed(notification_fields())
    del fields[name]
    with pytest.raises(SignatureError):
        parse_notification(body_of(fields), SECRET)


def test_an_injected_field_breaks_the_sign() -> None:
    fields = {**signed(notification_fields()), "payAmount": "1"}
    with pytest.raises(SignatureError):
        parse_notification(body_of(fields), SECRET)


def test_allowed_extra_fields_count_and_are_kept_in_raw() -> None:
    fields = signed(notification_fields(payAmount="10000", bankCode=14))
    n = parse_notification(body_of(fields), SECRET, extra_keys=["bankCode"])
    assert n.raw["payAmount"] == "10000" and n.raw["bankCode"] == 14
    with pytest.raises(SignatureError):  # an allowed key still counts in the sign
        parse_notification(body_of({**fields, "bankCode": 15}), SECRET, extra_keys=["bankCode"])
    with pytest.raises(TypeError):
        n.raw["amount"] = "1"  # type: ignore[index]


def test_a_replay_signed_with_another_secret_is_refused() -> None:
    with pytest.raises(SignatureError):
        parse_notification(body_of(signed(notification_fields(), "OTHERSECRET")), SECRET)


def test_an_upper_cased_sign_is_refused() -> None:
    fields = signed(notification_fields())
    fields["sign"] = fields["sign"].upper()
    with pytest.raises(SignatureError, match="lowercase"):
        parse_notification(body_of(fields), SECRET)


@pytest.mark.parametrize("bad", [None, "", 123, ["x"], "abc", "é" * 32])
def test_verify_refuses_missing_or_odd_signs(bad: object) -> None:
    fields: dict[str, Any] = notification_fields()
    if bad is not None:
        fields["sign"] = bad
    with pytest.raises(SignatureError):
        verify_notification(fields, SECRET)


def test_verify_accepts_the_genuine_fields() -> None:
    verify_notification(signed(notification_fields()), SECRET)  # does not raise
    with pytest.raises(SignatureError):
        verify_notification(signed(notification_fields()), "OTHERSECRET")


def test_a_sign_is_not_computable_without_a_secret() -> None:
    with pytest.raises(ConfigurationError):
        verify_notification(signed(notification_fields(), ""), "")


def _raw_body(amount_text: str, secret: str = SECRET, signed_as: str | None = None) -> bytes:
    """A body whose amount is the JSON number ``amount_text`` exactly as written."""
    fields = notification_fields(amount=signed_as or amount_text)
    fields["sign"] = sign(fields, secret)
    text = json.dumps(fields).replace(json.dumps(signed_as or amount_text), amount_text, 1)
    assert f'"amount": {amount_text},' in text
    return text.encode()


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("10000.50", Decimal("10000.50")),
        ("10000", Decimal("10000")),
        ("1.0E7", Decimal("10000000")),
        ("0.1", Decimal("0.1")),
    ],
)
def test_a_number_amount_is_exact_and_signed_as_its_text(text: str, value: Decimal) -> None:
    n = parse_notification(_raw_body(text), SECRET)
    assert n.amount == value and isinstance(n.amount, Decimal)
    assert str(n.amount) == str(Decimal(text))  # the digits as sent, no float on the way


def test_a_number_signed_as_other_text_does_not_verify() -> None:
    # The gateway signs the text it sends: 10000.50 on the wire is not "10000.5".
    with pytest.raises(SignatureError):
        parse_notification(_raw_body("10000.50", signed_as="10000.5"), SECRET)


def test_a_string_amount_is_exact() -> None:
    n = parse_notification(genuine_body(amount="12.10"), SECRET)
    assert n.amount == Decimal("12.10") and str(n.amount) == "12.10"


def test_a_mapping_with_a_float_is_signed_as_its_shortest_text() -> None:
    fields: dict[str, Any] = notification_fields(amount="10000.5")
    fields["sign"] = sign(fields, SECRET)
    fields["amount"] = 10000.5  # what a framework's own JSON decoding hands over
    assert parse_notification(fields, SECRET).amount == Decimal("10000.5")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe{",
        b"[1, 2]",
        b'"OK"',
        b"null",
        b'{"tradeNo": "T1", "amount": NaN}',
        b'{"tradeNo": "T1", "tradeNo": "T2"}',
        b"[" * 100_000,
    ],
)
def test_malformed_bodies_raise_a_typed_error(body: bytes) -> None:
    with pytest.raises(MalformedNotification) as caught:
        parse_notification(body, SECRET)
    assert isinstance(caught.value, VexoraError)


@pytest.mark.parametrize("name", ["tradeNo", "status", "amount"])
def test_a_missing_required_field_is_malformed_even_when_signed(name: str) -> None:
    fields = notification_fields()
    del fields[name]
    with pytest.raises(MalformedNotification, match=name):
        parse_notification(body_of(signed(fields)), SECRET)


def test_a_missing_sign_is_malformed() -> None:
    with pytest.raises(MalformedNotification, match="sign"):
        parse_notification(body_of(notification_fields()), SECRET)


@pytest.mark.parametrize(
    "changes",
    [{"amount": "ten"}, {"amount": True}, {"status": {"code": "0000"}}, {"timestamp": "soon"}],
)
def test_unusable_signed_values_are_malformed(changes: dict[str, Any]) -> None:
    with pytest.raises(MalformedNotification):
        parse_notification(genuine_body(**changes), SECRET)


def test_numbers_for_text_fields_are_tolerated() -> None:
    n = parse_notification(genuine_body(tradeNo=12345, status=1), SECRET)
    assert n.trade_no == "12345" and n.status.code == "1" and n.status.is_failed


def test_no_secret_or_sign_in_reprs_and_messages() -> None:
    fields = signed(notification_fields(mobile="081234567890", email="budi@example.com"))
    with pytest.raises(MalformedNotification) as unknown:  # undocumented keys: refused
        parse_notification(body_of(fields), SECRET)
    assert "081234567890" not in str(unknown.value) and "'email', 'mobile'" in str(unknown.value)
    n = parse_notification(body_of(fields), SECRET, extra_keys=("mobile", "email"))
    text = repr(n) + str(n)
    for secret_value in (SECRET, fields["sign"], "081234567890", "budi@example.com"):
        assert secret_value not in text
    bad = {**fields, "amount": "1"}
    with pytest.raises(SignatureError) as caught:
        parse_notification(body_of(bad), SECRET, extra_keys=("mobile", "email"))
    assert SECRET not in str(caught.value) and fields["sign"] not in str(caught.value)


def _notification(status: str, amount: str) -> PaymentNotification:
    return PaymentNotification(trade_no="T1", status=TradeStatus.of(status), amount=Decimal(amount))


@pytest.mark.parametrize(
    ("status", "amount", "expected", "fits"),
    [
        ("0000", "10000", 10000, True),
        ("0000", "10000.00", Decimal("10000"), True),
        ("0000", "9999", 10000, False),
        ("0000", "10001", 10000, False),
        ("0001", "4000", 10000, True),
        ("0001", "10000", 10000, False),
        ("0001", "0", 10000, False),
        ("0015", "0", 10000, True),
        ("00029", "1", 10000, True),
    ],
)
def test_amount_rule(status: str, amount: str, expected: int | Decimal, fits: bool) -> None:
    assert amount_matches(_notification(status, amount), expected) is fits


def test_idempotency_key_is_trade_status_and_amount_value() -> None:
    key = _notification("0000", "10000").idempotency_key
    assert _notification("0000", "10000.00").idempotency_key == key
    assert _notification("0001", "10000").idempotency_key != key
    assert _notification("0000", "10000.01").idempotency_key != key
    partial = _notification("0001", "5000").idempotency_key
    assert _notification("0001", "6000").idempotency_key != partial


@pytest.mark.parametrize(
    "body",
    [
        b'{"tradeNo": "T1", "username": "PAYER-Budi", ',  # cut: not JSON
        genuine_body(amount="PAYER-Budi"),  # signed, but its amount is no amount
    ],
    ids=["not-json", "unreadable-amount"],
)
def test_a_malformed_notification_keeps_nothing_of_the_body(body: bytes) -> None:
    # Not even out of sight: a JSONDecodeError chained as context holds the whole body in
    # ``.doc``, and error trackers walk ``__context__``.
    with pytest.raises(MalformedNotification) as info:
        parse_notification(body, SECRET)
    error: BaseException | None = info.value
    while error is not None:
        assert "PAYER" not in repr(error) + repr(getattr(error, "doc", None))
        error = error.__context__ or error.__cause__
    assert info.value.__context__ is None
