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
from vexora_async.errors import MalformedNotification, MalformedResponse, ValidationError
from vexora_async.models import PaymentState, to_money
from vexora_async.notify import parse_notification
from vexora_async.payout_models import Balance, PayoutState
from vexora_async.payout_notify import parse_payout_notification
from vexora_async.signing import sign

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


# -- The standard-library codecs (no orjson): the same as json.dumps / json.loads ---------

_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text()
    | st.floats(allow_nan=True, allow_infinity=True),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def _outcome(read: Any, body: Any) -> Any:
    try:
        return ("value", read(body))
    except Exception as exc:  # the same error, type and words, as json.loads gives
        return ("error", type(exc), str(exc))


@given(value=_JSON_VALUES)
def test_std_dumps_writes_what_json_dumps_writes(value: Any) -> None:
    expected = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert wire._std_dumps(value) == expected


@given(
    body=st.one_of(
        _JSON_VALUES.map(lambda v: json.dumps(v, ensure_ascii=False)),
        st.text(), st.binary(),
        _JSON_VALUES.map(lambda v: json.dumps(v).encode("utf-8")),
        st.tuples(
            _JSON_VALUES,
            st.sampled_from(["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32"]),
        ).map(lambda vc: json.dumps(vc[0], ensure_ascii=False).encode(vc[1])),
        _JSON_VALUES.map(lambda v: "\ufeff" + json.dumps(v)),
    )
)
def test_std_loads_reads_what_json_loads_reads(body: Any) -> None:
    expected = _outcome(lambda b: json.loads(b, parse_float=Decimal), body)
    found = _outcome(wire._std_loads, body)
    if expected[0] == "value" and found[0] == "value":
        # NaN != NaN: compare the values through their exact JSON text
        assert repr(found[1]) == repr(expected[1])
    else:
        assert found == expected


@pytest.mark.parametrize("body", [None, 12, memoryview(b"{}")])
def test_std_loads_refuses_what_json_loads_refuses(body: Any) -> None:
    assert _outcome(wire._std_loads, body) == _outcome(
        lambda b: json.loads(b, parse_float=Decimal), body
    )


@pytest.mark.skipif(not wire.HAS_ORJSON, reason="orjson not installed: nothing to compare")
def test_a_number_orjson_cannot_hold_is_read_as_the_standard_library_reads_it() -> None:
    body = b'{"code":"0000","msg":"ok","data":{"amount":1E+400,"payAmount":-1e-400}}'
    assert wire.loads(body) == wire._std_loads(body)
    assert wire.loads(body)["data"]["amount"] == Decimal("1E+400")
    for refused in (b'{"amount":NaN}', b'{"amount":Infinity}', b'{"code":"0000",'):
        with pytest.raises(ValueError):
            wire.loads(refused)  # still not JSON to the SDK


# -- Amount text: the request side's rule --------------------------------------------------

_LAX = ["1_000", "\u0661\u0662\u0663\u0664\u0665", "\uff11\uff15\uff10\uff10\uff10\uff10",
        "\u00a0150000", "150000\u2003", "NaN", "Infinity", "-inf", "0x10", "1,000", "",
        "1" * 65]  # fmt: skip


@pytest.mark.parametrize("text", _LAX)
@pytest.mark.parametrize(
    ("cls", "fields"),
    [
        (PaymentState, {"tradeNo": "T1", "status": "0000"}),
        (PayoutState, {"tradeNo": "T1", "status": "0000"}),
        (Balance, {"freezeAmount": 0, "unsettledAmount": "0"}),
    ],
)
def test_an_amount_the_request_side_refuses_is_a_malformed_answer(
    text: str, cls: type[Any], fields: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError):
        to_money(text)
    key = "availableAmount" if cls is Balance else "amount"
    with pytest.raises(MalformedResponse, match="expected an amount"):
        wire.structure_response({**fields, key: text}, cls, "answer")


@pytest.mark.parametrize("text", ["1_000", "\u0661\u0662\u0663", "\uff11\uff15\uff10"])
def test_a_notification_with_such_an_amount_is_malformed(text: str) -> None:
    fields = {"platFormTradeNo": "P1", "tradeNo": "T1", "amount": text, "status": "0000",
              "timestamp": "1763700300000"}  # fmt: skip
    payment = json.dumps({**fields, "sign": sign(fields, "SECRET")})
    with pytest.raises(MalformedNotification):
        parse_notification(payment, "SECRET")
    with pytest.raises(MalformedNotification):
        parse_payout_notification(payment, "SECRET")


@given(
    text=st.one_of(
        st.text(max_size=12),
        st.text(st.sampled_from("0123456789.eE+-_ \t\n\u00a0\u0660\uff10"), max_size=12),
        st.decimals(allow_nan=True, allow_infinity=True).map(str),
    )
)
def test_answer_amount_text_reads_exactly_what_to_money_takes(text: str) -> None:
    try:
        expected: Any = to_money(text)
    except ValidationError:
        expected = None
    try:
        answer = {"tradeNo": "T1", "status": "0000", "amount": text}
        found: Any = wire.structure_response(answer, PaymentState, "answer").amount
    except MalformedResponse:
        found = None
    assert type(found) is type(expected) and str(found) == str(expected)
