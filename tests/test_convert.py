"""``to_dict`` / ``to_json``: snake_case keys, exact amounts as text, personal data masked by
default whatever it is (hypothesis), ``raw`` only on request."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from vexora_async import (
    CheckoutRequest,
    ConfigurationError,
    PaymentState,
    TradeStatus,
    to_dict,
    to_json,
)
from vexora_async.convert import MASK
from vexora_async.notify import PaymentNotification

PERSONAL = (
    "mobile", "email", "username", "firstname", "lastname", "ip_address", "postcode",
    "address", "bank_number",
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    values=st.fixed_dictionaries(
        # Letters that appear in no key, no amount and no mask: any sighting is a leak.
        {name: st.text(alphabet="QWXZ@+é", min_size=3, max_size=20) for name in PERSONAL}
    ),
    amount=st.decimals(min_value=1, max_value=10**9, places=2, allow_nan=False),
    extra=st.text(alphabet="QWXZ@+é", min_size=3, max_size=10),
)
def test_personal_fields_and_extra_never_leave_masked_output(
    values: dict[str, str], amount: Decimal, extra: str
) -> None:
    request = CheckoutRequest(trade_no="T-1", amount=amount, extra={"payType": extra}, **values)
    plain = to_dict(request)
    assert {plain[name] for name in PERSONAL} == {MASK}
    assert plain["extra"] == {"payType": MASK}
    assert plain["trade_no"] == "T-1" and Decimal(plain["amount"]) == amount
    text = to_json(request, indent=2)
    assert json.loads(text) == plain
    for value in (*values.values(), extra):
        assert value not in text
    revealed = to_dict(request, reveal_personal=True)
    assert {name: revealed[name] for name in PERSONAL} == values
    assert revealed["extra"] == {"payType": extra}


def test_responses_become_json_with_exact_amounts_and_no_raw_by_default() -> None:
    state = PaymentState(
        trade_no="T-2", status=TradeStatus.of("0001"), amount=Decimal("12.50"),
        pay_amount=Decimal("0.10"), raw={"mobile": "0812", "amount": Decimal("12.50")},
    )  # fmt: skip
    plain: dict[str, Any] = json.loads(to_json(state))
    assert plain["amount"] == "12.50" and plain["pay_amount"] == "0.10"
    assert plain["status"] == {"code": "0001", "state": "partially_paid"}
    assert "raw" not in plain and "0812" not in to_json(state)
    assert to_dict(state, include_raw=True)["raw"] == {"mobile": "0812", "amount": "12.50"}
    assert list(plain)[:2] == ["trade_no", "status"]  # field order, snake_case


def test_unset_personal_fields_stay_none() -> None:
    plain = to_dict(CheckoutRequest(trade_no="T-3", amount=10000))
    assert plain["mobile"] is None and plain["extra"] == {} and plain["amount"] == 10000


def test_notifications_convert_and_other_objects_are_refused() -> None:
    note = PaymentNotification(
        trade_no="T-4", status=TradeStatus.of("0000"), amount=Decimal("150000.00"),
        raw={"sign": "abc"},
    )  # fmt: skip
    plain = to_dict(note)
    assert plain["amount"] == "150000.00" and "raw" not in plain
    for bad in ({"a": 1}, "text", Decimal(1)):
        with pytest.raises(ConfigurationError, match="SDK model"):
            to_dict(bad)
