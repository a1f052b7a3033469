"""Hostile notification bodies: deep nesting, and text fields re-typed as JSON numbers.

A ~1 KB body of nested brackets once made reading a notification raise ``RecursionError``
(500 and a 1,000-line traceback per request); now it is ``MALFORMED`` (400), quietly. A
genuine notification whose text field was replayed as a JSON number (same sign: the sign
covers the text) once read as another trade number (``20240101E001`` -> ``2.0240101E+8``),
a new idempotency key, so the callback ran twice; now text fields read as the text signed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from vexora_async.cli import main
from vexora_async.dedupe import MemoryNotificationStore
from vexora_async.notify import (
    MalformedNotification,
    NotificationOutcome,
    notification_handler,
    parse_notification,
    process_notification,
    verify_notification,
)
from vexora_async.payout_notify import PAYOUT, parse_payout_notification

from .test_notify_support import (
    SECRET,
    Callback,
    body_of,
    notification_fields,
    post,
    serve_handler,
    signed,
)

# Around the interpreter's recursion limit: below ~495 nothing failed, above ~980 the JSON
# decoder itself refused; in between, converting the numbers (recursively) blew the stack.
DEPTHS = [495, 500, 600, 700, 800, 900, 980, 985, 1200, 5000]


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def nested_body(depth: int, key: str = "remark") -> bytes:
    return f'{{"{key}": {nested(depth)}}}'.encode()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


# -- deep nesting -----------------------------------------------------------------------


async def test_deeply_nested_bodies_get_400_over_http_quietly(
    session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    callback = Callback()
    caplog.set_level(logging.DEBUG)
    genuine = body_of(signed(notification_fields()))[:-1]
    malformed = [nested_body(depth) for depth in DEPTHS] + [nested_body(600, "tradeNo")]
    # A genuine notification with a nested value added under an allowed key.
    malformed.append(genuine + b', "remark": ' + nested(600).encode() + b"}")
    cases = [(body, (400, "malformed notification")) for body in malformed]
    # Its sign replaced by a nested array: no sign at all (too deep to read: malformed).
    unsigned = genuine.rsplit(b', "sign"', 1)[0]
    for depth, answer in [(300, "bad signature"), (700, "malformed notification")]:
        cases.append((unsigned + b', "sign": ' + nested(depth).encode() + b"}", (400, answer)))
    async with serve_handler(notification_handler(SECRET, callback)) as url:
        answers = [await post(session, url, body) for body, _ in cases]
    assert answers == [answer for _, answer in cases]
    assert callback.calls == []
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize("depth", DEPTHS)
async def test_process_and_parse_refuse_deep_nesting(depth: int) -> None:
    callback = Callback()
    for body in (nested_body(depth), nested_body(depth).decode()):
        result = await process_notification(body, SECRET, callback, store=None)
        assert result.outcome is NotificationOutcome.MALFORMED
        assert (result.http_status, result.body) == (400, "malformed notification")
        with pytest.raises(MalformedNotification):
            parse_notification(body, SECRET)
        with pytest.raises(MalformedNotification):
            parse_payout_notification(body, SECRET)
    assert callback.calls == []


@pytest.mark.parametrize("depth", [600, 800, 900])
async def test_a_framework_decoded_deep_mapping_is_refused_too(depth: int) -> None:
    # What ``await request.json()`` would give (the standard decoder goes ~900 deep).
    for key in ("remark", "tradeNo"):
        fields: dict[str, Any] = json.loads(nested_body(depth, key))
        with pytest.raises(MalformedNotification):
            parse_notification(fields, SECRET)
        with pytest.raises(MalformedNotification):
            verify_notification(fields, SECRET)
        result = await process_notification(fields, SECRET, Callback(), store=None)
        assert result.outcome is NotificationOutcome.MALFORMED


@pytest.mark.parametrize("value", [[], {}, ["10000"], {"a": "b"}])
def test_an_object_or_array_value_is_malformed_even_when_allowed_and_signed(
    value: object,
) -> None:
    fields = signed({**notification_fields(), "bankCode": value})
    with pytest.raises(MalformedNotification, match="'bankCode' is not text or a number"):
        parse_notification(body_of(fields), SECRET, extra_keys={"bankCode"})


def test_verify_notify_says_malformed_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "nested.json"
    path.write_bytes(nested_body(600))
    assert main(["verify-notify", str(path), "--secret", SECRET]) == 1
    err = capsys.readouterr().err
    assert "not a valid notification" in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


# -- text fields re-typed as JSON numbers ----------------------------------------------

JSON_NUMBER = st.from_regex(
    r"-?(0|[1-9][0-9]{0,20})(\.[0-9]{1,20})?([eE][+-]?[0-9]{1,4})?", fullmatch=True
)
TEXT_FIELDS = {
    "tradeNo": "trade_no",
    "platFormTradeNo": "platform_trade_no",
    "message": "message",
    "successTime": "success_time",
    "channelCode": "channel_code",
    "wayCode": "way_code",
    "remark": "remark",
}


def retyped(fields: dict[str, Any], key: str) -> bytes:
    """``fields`` as JSON with ``key``'s text written as a bare JSON number (same sign)."""
    body = body_of(fields)
    quoted = json.dumps({key: fields[key]})[1:-1].encode()  # '"key": "text"'
    assert body.count(quoted) == 1
    return body.replace(quoted, f'"{key}": {fields[key]}'.encode())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=JSON_NUMBER, other=st.sampled_from(sorted(TEXT_FIELDS)))
@example(text="20240101E001", other="tradeNo")
@example(text="1e5", other="tradeNo")
@example(text="-0", other="remark")
@example(text="1.50", other="message")
async def test_a_retyped_text_field_reads_as_signed_and_is_a_duplicate(
    text: str, other: str
) -> None:
    fields = signed(notification_fields(text, **{other: text}))
    callback = Callback()
    store = MemoryNotificationStore()
    answers = []
    for key in dict.fromkeys(["tradeNo", other]):
        for body in (body_of(fields), retyped(fields, key)):
            result = await process_notification(body, SECRET, callback, store=store)
            answers.append(result.outcome)
            assert result.trade_no == text
    assert answers[0] is NotificationOutcome.PROCESSED
    assert set(answers[1:]) == {NotificationOutcome.DUPLICATE}
    assert len(callback.calls) == 1
    for body in (retyped(fields, "tradeNo"), retyped(fields, other)):
        for notification in (
            parse_notification(body, SECRET),
            parse_payout_notification(body, SECRET),
        ):
            assert notification.trade_no == text and type(notification.trade_no) is str
            assert getattr(notification, TEXT_FIELDS[other]) == text


@pytest.mark.parametrize("text", ["1e2", "1", "-0", "4.0"])
def test_a_retyped_status_reads_as_signed(text: str) -> None:
    fields = signed(notification_fields(status=text))
    notification = parse_notification(retyped(fields, "status"), SECRET)
    assert notification.status.code == text


def test_amounts_still_read_as_numbers_and_raw_keeps_values() -> None:
    fields = signed(notification_fields("1e5", amount="10000.50"))
    body = retyped(fields, "tradeNo").replace(b'"amount": "10000.50"', b'"amount": 10000.50')
    notification = parse_notification(body, SECRET)
    assert notification.trade_no == "1e5"
    assert str(notification.amount) == "10000.50"
    # ``raw`` is every field as decoded: numbers as values, as documented.
    assert notification.raw["amount"] == notification.amount
    assert notification.raw["tradeNo"] == Decimal("1e5")
    payout = parse_notification(body, SECRET, kind=PAYOUT)
    assert (payout.trade_no, str(payout.amount)) == ("1e5", "10000.50")


# -- size --------------------------------------------------------------------------------


async def test_a_body_over_1_mib_gets_413_as_the_readme_says(
    session: aiohttp.ClientSession,
) -> None:
    callback = Callback()
    body = body_of(signed(notification_fields(remark="x" * (1 << 20))))
    async with serve_handler(notification_handler(SECRET, callback)) as url:
        status, _ = await post(session, url, body)
    assert status == 413
    assert callback.calls == []
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert "| body over 1 MiB (`notification_handler`: aiohttp's `client_max_size`) | `413`" in (
        readme
    )
