"""Money in the gateway's answers stays exact with either JSON decoder.

orjson (the `orjson` extra) reads a number with a fraction as a float; ``wire.loads`` must
still give the exact ``Decimal`` the gateway wrote, as the standard library does.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, strategies as st

from vexora_async import wire
from vexora_async.models import PaymentState

AMOUNTS = st.decimals(allow_nan=False, allow_infinity=False, places=2,
                      min_value=Decimal("-1e25"), max_value=Decimal("1e25"))  # fmt: skip


def _exact(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str), parse_float=Decimal)


@given(amount=AMOUNTS, nested=st.booleans())
def test_fractions_come_back_exact(amount: Decimal, nested: bool) -> None:
    text = format(amount, "f")
    data = f'{{"amount":{text},"list":[1,{text}]}}' if nested else f'{{"amount":{text}}}'
    body = f'{{"code":"0000","msg":"ok","data":{data}}}'.encode()
    decoded = wire.loads(body)
    assert decoded == json.loads(body, parse_float=Decimal)
    found = decoded["data"]["amount"]
    assert type(found) in (Decimal, int) and Decimal(found) == amount
    assert "." not in text or str(found) == text  # the digits as written, 150000.00 included


def test_a_query_amount_written_with_cents_keeps_them() -> None:
    body = (b'{"code":"0000","msg":"ok","data":{"tradeNo":"T1","status":"0000",'
            b'"amount":150000.00,"payAmount":12345678901234567.89}}')  # fmt: skip
    data = wire.loads(body)["data"]
    state = wire.structure_response(data, PaymentState, "query response")
    assert str(state.amount) == "150000.00"
    assert state.pay_amount == Decimal("12345678901234567.89")


@pytest.mark.skipif(not wire.HAS_ORJSON, reason="orjson not installed: nothing to compare")
def test_answers_without_fractions_keep_the_fast_decoder() -> None:
    body = b'{"code":"0000","msg":"ok","data":{"tradeNo":"T1","amount":150000,"ok":true}}'
    assert wire.loads(body) == _exact({"code": "0000", "msg": "ok",
                                       "data": {"tradeNo": "T1", "amount": 150000, "ok": True}})
