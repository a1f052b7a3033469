"""``Echoes``: any value a request sent, quoted back in any usual spelling, is masked."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import assume, given, strategies as st

from vexora_async.call import Envelope
from vexora_async.codes import GatewayCodes
from vexora_async.echoes import MASK, MIN_LENGTH, SHOWN, Echoes, shown_code
from vexora_async.envelope import decode_envelope, refusal
from vexora_async.responses import ResponseInfo
from vexora_async.transports.base import HttpResponse

SPELLINGS: list[Callable[[str], str]] = [
    lambda v: v,
    lambda v: quote(v, safe=""),
    lambda v: quote_plus(v, safe=""),
    lambda v: json.dumps(v)[1:-1],
    lambda v: json.dumps(v, ensure_ascii=False)[1:-1],
]
values = st.text(min_size=MIN_LENGTH, max_size=24).filter(
    lambda v: "*" not in v and len(v.strip()) >= MIN_LENGTH
)
# Text around an echo, without the characters that start an escape (backslash, %, &, +):
# next to an escaped echo they can join it into another escape, which no reader could undo.
around = st.text(max_size=16).filter(lambda t: not set(t) & set("\\%&+"))


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


@given(
    value=st.text(alphabet="0123456789abcXYZ", min_size=MIN_LENGTH, max_size=6),
    code=st.text(alphabet="0123456789abcXYZ", min_size=1, max_size=10),
    kind=st.sampled_from(["not_found", "authentication", "other"]),
)
def test_masking_never_changes_what_an_answer_is_read_as(value: str, code: str, kind: str) -> None:
    # A postcode "100" and a not-found code "1000404": the error is worded "***0404" but
    # is still the not-found answer it was.
    codes = GatewayCodes(
        not_found=code if kind == "not_found" else "8000",
        authentication=code if kind == "authentication" else "1001",
    )
    answer = Envelope(code, f"no order {value}", None, 200, {}, {"code": code, "msg": value})
    shown = Echoes({"postcode": value}).envelope(answer)
    assert type(refusal(answer, codes, "T1", shown)) is type(refusal(answer, codes, "T1"))


def test_a_long_msg_is_masked_before_it_is_cut() -> None:
    text = "x" * 188 + " 081234567890"
    answer = decode_envelope(
        HttpResponse(200, {}, json.dumps({"code": "8000", "msg": text}).encode())
    )
    assert "0812345678" in answer.msg  # cut to 200 characters, most of the number in it
    masked = Echoes({"mobile": "081234567890"}).envelope(answer)
    assert "0812345678" not in masked.msg and masked.msg.endswith(MASK)


@pytest.mark.parametrize(
    ("sent", "echoed"),
    [
        ("Budi Straße", "BUDI STRASSE"),  # full case folding: ß is SS in upper case
        ("Jürgen Groß", "jürgen gross"),
        ("budi.o'brien@example.com", "budi.o&#39;brien@example.com"),  # HTML
        ("budi.o'brien@example.com", "budi.o&#x27;brien@example.com"),
        ("Siobhan O'Brien", "Siobhan%20O'Brien"),  # JavaScript's encodeURIComponent
        ("  Budi Santoso  ", "Budi Santoso"),  # sent with spaces, echoed trimmed
    ],
)
def test_the_usual_respellings_are_masked(sent: str, echoed: str) -> None:
    assert Echoes({"username": sent}).text(f"refused: {echoed}.") == f"refused: {MASK}."


def test_echoes_in_shown_headers_and_numbers_are_masked() -> None:
    sent = {"email": "budi@example.com", "bankAccountNo": "5464438554636"}
    number = 5464438554636  # the account number, echoed as a JSON number
    raw = {"code": "1000", "msg": "no", "timestamp": number, "data": {"amount": number}}
    answer = Envelope("1000", "no", raw["data"], 400, {"X-Request-Id": "budi@example.com"}, raw)
    masked = Echoes(sent).envelope(answer)
    info = ResponseInfo.of(masked)
    assert info.headers["x-request-id"] == MASK
    assert info.body is not None
    assert info.body["timestamp"] == MASK and info.body["data"]["amount"] == MASK
    assert masked.data is answer.data  # the answer itself, as it came
    direct = Echoes(sent).info(ResponseInfo(503, {"Server": "edge budi@example.com"}))
    assert direct is not None and direct.headers["server"] == f"edge {MASK}"
