"""Payout models, per-profile payout rules, balance reading and payout notifications
(no network)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from vexora_async import ConfigurationError, MalformedResponse, ValidationError, VexoraClient
from vexora_async.dedupe import MemoryNotificationStore
from vexora_async.errors import MalformedNotification, SignatureError
from vexora_async.notify import NotificationOutcome as Outcome, PaymentNotification
from vexora_async.payout_models import Balance, PayoutRequest, PayoutState, PayoutStatus
from vexora_async.payout_notify import (
    PAYOUT_KEYS,
    PayoutNotification,
    TradePrefix,
    parse_payout_notification,
    process_payment_notification,
    process_payout_notification,
)
from vexora_async.regions import get_profile, registry
from vexora_async.signing import sign
from vexora_async.wire import structure_response

from .payout_support import payout_request

SECRET = "TESTSECRET"
PII_FIELDS = (
    "customer_name", "account_name", "firstname", "lastname", "mobile", "email",
    "bank_account_no", "bank_number",
)  # fmt: skip


# -- the request and its rules ------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.text(), st.sampled_from(PII_FIELDS), st.sampled_from(registry.names()))
def test_recipient_data_never_in_repr_and_rules_only_raise_validation(
    text: str, field: str, profile: str
) -> None:
    value = "Zq7" + text  # a marker no other part of the request contains
    request = payout_request(profile, "PO-H-1", "https://m.example/po", **{field: value})
    assert "Zq7" not in repr(request)
    payout = get_profile(profile).payout
    assert payout is not None
    try:
        payout.prepare(request)  # any other exception fails the test
    except ValidationError as exc:
        assert "Zq7" not in str(exc) and "Zq7" not in repr(exc.violations)


def test_every_violation_is_reported_at_once() -> None:
    payout = get_profile("IDR").payout
    assert payout is not None
    with pytest.raises(ValidationError) as caught:
        payout.prepare(PayoutRequest("bad trade no", "9999.5", bank_code="12"))
    found = {(v.field, v.rule) for v in caught.value.violations}
    assert found == {
        ("amount", "below_minimum"),
        ("amount", "not_whole"),
        ("trade_no", "trade_no_format"),
        ("customer_name", "required"),
        ("mobile", "required"),
        ("email", "required"),
        ("bank_account_no", "required"),
        ("bank_code", "bank_code_format"),
        ("notify_url", "required"),
    }


@pytest.mark.parametrize(
    ("profile", "amount", "sent"),
    [
        ("IDR", 100000, 100000),
        ("PAYPRO_IDR", Decimal("100000.00"), 100000),
        ("PHP", "200", 200),
        ("KHR", 10000, "10000"),
        ("USD", Decimal("12.5"), "12.50"),
        ("USD", 12, "12.00"),
        ("USD", "0.01", "0.01"),
    ],
)
def test_amounts_are_typed_per_profile(profile: str, amount: Any, sent: Any) -> None:
    payout = get_profile(profile).payout
    assert payout is not None
    fields = payout.prepare(payout_request(profile, "PO-A-1", "https://m.example/p", amount=amount))
    assert fields["amount"] == sent and type(fields["amount"]) is type(sent)
    assert payout.timestamp_as_number is (profile in ("IDR", "PAYPRO_IDR", "PHP"))


def test_usd_refuses_a_third_decimal_and_floats() -> None:
    payout = get_profile("USD").payout
    assert payout is not None
    with pytest.raises(ValidationError, match="too_many_decimals"):
        payout.prepare(payout_request("USD", "PO-A-2", "https://m.example/p", amount="1.005"))
    with pytest.raises(ValidationError, match="float_not_allowed"):
        PayoutRequest("PO-A-3", 1.5)  # type: ignore[arg-type]


def test_extra_may_not_override_rendered_fields() -> None:
    payout = get_profile("IDR").payout
    assert payout is not None
    request = payout_request(
        "IDR", "PO-X-1", "https://m.example/p", extra={"tradeNo": "OTHER", "sign": "x"}
    )
    with pytest.raises(ValidationError) as caught:
        payout.prepare(request)
    assert {v.field for v in caught.value.violations} == {"extra.tradeNo", "extra.sign"}


@pytest.mark.parametrize("profile", ["IDR", "PHP", "KHR"])
def test_a_reserved_extra_key_does_not_hide_the_other_violations(profile: str) -> None:
    # As checkout does: the reserved key and every other field's violation, at once.
    payout = get_profile(profile).payout
    assert payout is not None
    request = payout_request(
        profile, "PO-X-2", "ftp://not-http", amount="-5", extra={"tradeNo": "OTHER"}
    )
    with pytest.raises(ValidationError) as caught:
        payout.prepare(request)
    found = {(v.field, v.rule) for v in caught.value.violations}
    assert ("extra.tradeNo", "reserved") in found
    assert {"amount", "notify_url"} <= {field for field, _ in found}
    # Without the reserved key, the same other violations.
    clean = payout_request(profile, "PO-X-2", "ftp://not-http", amount="-5")
    with pytest.raises(ValidationError) as plain:
        payout.prepare(clean)
    assert found - {("extra.tradeNo", "reserved")} == {
        (v.field, v.rule) for v in plain.value.violations
    }


@pytest.mark.parametrize("profile", registry.names())
def test_a_remark_its_payout_notification_would_refuse_is_refused_up_front(
    profile: str,
) -> None:
    payout = get_profile(profile).payout
    assert payout is not None
    for bad in ("June salary, status=approved", "x tradeNo=PO7", "successTime=now"):
        request = payout_request(profile, "PO-R-1", "https://m.example/p", remark=bad)
        with pytest.raises(ValidationError) as caught:
            payout.prepare(request)
        assert [(v.field, v.rule) for v in caught.value.violations] == [
            ("remark", "ambiguous_in_notification")
        ]
        with pytest.raises(MalformedNotification):  # why: its notification is refused
            parse_payout_notification(_body(remark=bad), SECRET)
    fine = payout_request(profile, "PO-R-1", "https://m.example/p", remark="size=L, amount=5")
    assert payout.prepare(fine)["remark"] == "size=L, amount=5"


@settings(max_examples=300, deadline=None)
@given(
    remark=st.text(st.sampled_from("= abmorstuwdeNTSiy"), min_size=1, max_size=30)
    | st.builds("{}{}={}".format, st.text(max_size=5), st.sampled_from(sorted(PAYOUT_KEYS)),
                st.text(max_size=5)),
)  # fmt: skip
def test_a_payout_remark_that_is_accepted_comes_back_in_a_notification_that_parses(
    remark: str,
) -> None:
    payout = get_profile("IDR").payout
    assert payout is not None
    request = payout_request("IDR", "PO-R-2", "https://m.example/p", remark=remark)
    try:
        payout.prepare(request)
    except ValidationError:
        return
    notification = parse_payout_notification(_body(remark=remark), SECRET)
    assert notification.remark == remark


def test_a_profile_without_payouts_is_a_configuration_error() -> None:
    custom = get_profile("IDR").with_changes(name="NOPAYOUT", payout=None)
    client = VexoraClient(
        merchant_no="1", secret="s", base_url="http://127.0.0.1:9", region=custom
    )
    with pytest.raises(ConfigurationError, match="declares no payouts"):
        from vexora_async.payouts import payout_profile

        payout_profile(client.profile)


# -- statuses and balance -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "paid_out", "processing", "failed"),
    [
        ("0000", True, False, False),
        ("0015", False, True, False),
        ("00029", False, False, True),
        ("0029", False, False, True),
        ("0001", False, False, True),  # no partial payout: anything else failed
        ("9999", False, False, True),
    ],
)
def test_payout_status(code: str, paid_out: bool, processing: bool, failed: bool) -> None:
    status = PayoutStatus.of(code)
    assert (status.is_paid_out, status.is_processing, status.is_failed) == (
        paid_out,
        processing,
        failed,
    )
    assert not status.is_partially_paid


@pytest.mark.parametrize(
    "data",
    [
        {"availableAmount": 150000, "freezeAmount": "0", "unsettledAmount": 12.5},
        {"availablAmount": "150000", "freezeAmount": 0, "unsettledAmount": "12.5"},
    ],
)
def test_balance_reads_both_spellings_numbers_and_text(data: dict[str, Any]) -> None:
    balance = structure_response(data, Balance, "balance")
    assert balance == Balance(Decimal(150000), Decimal(0), Decimal("12.5"))
    assert all(isinstance(v, Decimal) for v in (balance.available, balance.unsettled))


def test_balance_without_an_amount_is_malformed() -> None:
    with pytest.raises(MalformedResponse, match="freezeAmount"):
        structure_response({"availableAmount": 1, "unsettledAmount": 0}, Balance, "balance")


def test_payout_state_reads_order_amount() -> None:
    state = structure_response(
        {"tradeNo": "PO-1", "status": "0000", "orderAmount": "100000", "payAmount": 100000},
        PayoutState,
        "payout query",
    )
    assert state.amount == Decimal(100000) and state.status.is_paid_out


# -- notifications ------------------------------------------------------------------------


def _body(**changes: Any) -> bytes:
    fields: dict[str, Any] = {
        "platFormTradeNo": "po0001",
        "tradeNo": "PO-N-1",
        "amount": "100000",
        "status": "0000",
        "message": "Paid out",
        "timestamp": 1715941383720,
        **changes,
    }
    fields = {k: v for k, v in fields.items() if v is not None}
    fields["sign"] = sign(fields, SECRET)
    return json.dumps(fields).encode()


def test_parse_a_payout_notification() -> None:
    notification = parse_payout_notification(_body(), SECRET)
    assert notification.status.is_paid_out and notification.amount == Decimal(100000)
    assert "sign" not in repr(notification)
    assert notification.idempotency_key.startswith('["payout"')


def test_undocumented_keys_and_bad_signs_are_refused() -> None:
    with pytest.raises(MalformedNotification, match="unknown key"):
        parse_payout_notification(_body(bonus="1"), SECRET)
    assert parse_payout_notification(_body(bonus="1"), SECRET, extra_keys=["bonus"])
    with pytest.raises(SignatureError):
        parse_payout_notification(_body(), "OTHER")
    assert {"tradeNo", "sign", "amount", "status"} <= PAYOUT_KEYS


async def test_payout_endpoint_refuses_a_payment_and_dedupes() -> None:
    seen: list[PayoutNotification] = []

    async def on_payout(notification: PayoutNotification) -> None:
        seen.append(notification)

    store = MemoryNotificationStore()
    kinds = TradePrefix("PO-")
    refused = await process_payout_notification(
        _body(tradeNo="ORDER-1"), SECRET, on_payout, owns_payout=kinds.owns_payout, store=store
    )
    assert (refused.outcome, refused.http_status) == (Outcome.WRONG_KIND, 400)
    first = await process_payout_notification(
        _body(), SECRET, on_payout, owns_payout=kinds.owns_payout, store=store
    )
    again = await process_payout_notification(
        _body(), SECRET, on_payout, owns_payout=kinds.owns_payout, store=store
    )
    assert (first.outcome, again.outcome) == (Outcome.PROCESSED, Outcome.DUPLICATE)
    assert len(seen) == 1


async def test_payout_amount_check() -> None:
    async def on_payout(notification: PayoutNotification) -> None:
        raise AssertionError("must not run")

    async def expected(trade_no: str) -> Decimal:
        return Decimal(90000)

    result = await process_payout_notification(
        _body(), SECRET, on_payout, owns_payout=TradePrefix("PO-").owns_payout, store=None,
        expected_amount=expected,
    )  # fmt: skip
    assert result.outcome is Outcome.AMOUNT_MISMATCH


async def test_payment_endpoint_refuses_a_payout_but_not_a_forgery_check() -> None:
    seen: list[PaymentNotification] = []

    async def on_payment(notification: PaymentNotification) -> None:
        seen.append(notification)

    kinds = TradePrefix("PO-")
    refused = await process_payment_notification(
        _body(), SECRET, on_payment, owns_payment=kinds.owns_payment, store=None
    )
    assert (refused.outcome, refused.http_status) == (Outcome.WRONG_KIND, 400)
    # An unsigned body is a bad signature first, whatever its trade number.
    forged = await process_payment_notification(
        _body(), "OTHER", on_payment, owns_payment=kinds.owns_payment, store=None
    )
    assert forged.outcome is Outcome.BAD_SIGNATURE
    ok = await process_payment_notification(
        _body(tradeNo="ORDER-1"), SECRET, on_payment, owns_payment=kinds.owns_payment, store=None
    )
    assert ok.outcome is Outcome.PROCESSED and [n.trade_no for n in seen] == ["ORDER-1"]


def test_payment_and_payout_keys_differ_for_one_trade() -> None:
    payout = parse_payout_notification(_body(), SECRET)
    from vexora_async.notify import parse_notification

    payment = parse_notification(_body(), SECRET)
    assert payout.idempotency_key != payment.idempotency_key


def test_only_a_paid_out_result_moves_money() -> None:
    from vexora_async.payout_notify import payout_moves_money

    assert payout_moves_money(parse_payout_notification(_body(), SECRET))
    assert not payout_moves_money(parse_payout_notification(_body(status="0001"), SECRET))
    assert not payout_moves_money(parse_payout_notification(_body(status="0015"), SECRET))
