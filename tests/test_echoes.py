"""``Echoes``: any value a request sent, quoted back in any usual spelling, is masked."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import quote, quote_plus

from hypothesis import assume, given, strategies as st

from vexora_async.call import Envelope
from vexora_async.echoes import MASK, MIN_LENGTH, SHOWN, Echoes, shown_code

SPELLINGS: list[Callable[[str], str]] = [
    lambda v: v,
    lambda v: quote(v, safe=""),
    lambda v: quote_plus(v, safe=""),
    lambda v: json.dumps(v)[1:-1],
    lambda v: json.dumps(v, ensure_ascii=False)[1:-1],
]
values = st.text(min_size=MIN_LENGTH, max_size=24).filter(lambda v: "*" not in v)
around = st.text(max_size=16)


@given(value=values, before=around, after=around, spelling=st.sampled_from(SPELLINGS))
def test_a_sent_value_is_masked_in_every_spelling(
    value: str, before: str, after: str, spelling: Callable[[str], str]
) -> None:
    echoed = spelling(value)
    assume(value.strip())
    masked = Echoes({"username": value}).text(before + echoed + after)
    assert echoed.casefold() not in masked.casefold() or echoed.casefold() in (
        (before + after).casefold()  # it was there without the echo
    )
    assert MASK in masked


@given(value=values.filter(str.isascii), before=around, after=around)
def test_a_value_echoed_in_another_case_is_masked(value: str, before: str, after: str) -> None:
    masked = Echoes({"email": value}).text(before + value.upper() + after)
    assert MASK in masked


@given(text=st.text(max_size=40), shown=st.sampled_from(sorted(SHOWN)))
def test_what_identifies_the_order_is_never_masked(text: str, shown: str) -> None:
    assert Echoes({shown: text or "T-1"}).text(f"order {text} refused") == f"order {text} refused"


def test_short_values_and_codes_are_left() -> None:
    echoes = Echoes({"lastname": "Li", "postcode": "1000"})
    assert echoes.text("Limit reached for Li") == "Limit reached for Li"
    assert shown_code("1000", {"postcode": "1000"}) == "1000"  # a code is the gateway's word
    assert shown_code("Zorblax", {"username": "Zorblax"}) == MASK


def test_an_envelope_without_echoes_is_the_same_object() -> None:
    envelope = Envelope("1000", "amount too low", None, 200, {}, {"code": "1000"})
    assert Echoes({"username": "Budi Santoso"}).envelope(envelope) is envelope


def test_an_envelope_keeps_its_data_as_answered() -> None:
    data = {"paymentUrl": "https://pay.example/?name=Budi%20Santoso"}
    raw = {"code": "1000", "msg": "bad name Budi Santoso", "data": data, "echo": "Budi Santoso"}
    masked = Echoes({"username": "Budi Santoso"}).envelope(
        Envelope("1000", "bad name Budi Santoso", data, 400, {}, raw)
    )
    assert (masked.code, masked.msg, masked.http_status) == ("1000", f"bad name {MASK}", 400)
    assert masked.data is data  # what a result is read from: untouched
    assert masked.raw["echo"] == MASK and masked.raw["data"]["paymentUrl"].endswith(MASK)
