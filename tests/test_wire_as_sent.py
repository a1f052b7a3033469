"""One JSON decoder keeps numbers as sent, for everything that signs or verifies (issue 17).

``vexora-async sign``, ``verify-notify`` and the notification parser all read a body through
``wire.signed_object``: a number is signed as the exact text on the wire.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from vexora_async import signing
from vexora_async.cli import main
from vexora_async.notify import parse_notification
from vexora_async.wire import JsonNumber, loads_as_sent, native, signed_object

from .test_notify_support import SECRET, notification_fields

AS_SENT = [
    "1.0E7",
    "1e7",
    "1E+7",
    "10000000.00",
    "-0",
    "-0.0",
    "0.10",
    "1E-7",
    "123456789012345678901234567890",
    "9" * 5000,  # past int()'s default conversion limit
]


def body_with_amount(text: str, sign_over: str | None = None) -> str:
    """A notification body whose ``amount`` is the JSON number ``text`` as written, signed
    over ``sign_over`` (default: ``text``, as the gateway signs what it sends)."""
    fields = notification_fields(amount=sign_over or text)
    fields["sign"] = signing.sign(fields, SECRET)
    encoded = json.dumps(fields).replace(json.dumps(sign_over or text), text, 1)
    assert f'"amount": {text},' in encoded
    return encoded


@pytest.mark.parametrize("text", AS_SENT)
def test_a_number_is_kept_and_signed_as_its_text(text: str) -> None:
    signed, values = signed_object(f'{{"amount": {text}, "tradeNo": "T"}}')
    assert signed["amount"] == text and isinstance(signed["amount"], JsonNumber)
    assert signing.canonical_string(signed) == f"amount={text}tradeNo=T"
    assert values["amount"] == Decimal(text)
    assert not isinstance(values["amount"], float)


@pytest.mark.parametrize("text", AS_SENT)
def test_sign_command_and_notification_parser_agree(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = body_with_amount(text)
    path = tmp_path / "body.json"
    path.write_text(body)
    assert main(["sign", str(path), "--secret", SECRET]) == 0  # "the file's sign matches"
    assert f"amount={text}" in capsys.readouterr().out
    assert parse_notification(body, SECRET).amount == Decimal(text)


def test_a_number_signed_as_another_text_matches_nowhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = body_with_amount("1.0E7", sign_over="10000000")  # what the old sign command did
    path = tmp_path / "body.json"
    path.write_text(body)
    assert main(["sign", str(path), "--secret", SECRET]) == 1
    assert "amount=1.0E7" in capsys.readouterr().out
    assert main(["verify-notify", str(path), "--secret", SECRET]) == 1


@pytest.mark.parametrize(
    "text", ['{"a": 1, "a": 2}', '{"a": NaN}', '{"a": Infinity}', "[1]", "", "\ufeff{"]
)
def test_bodies_without_a_single_reading_are_refused(text: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        signed_object(text)
    path = tmp_path / "body.json"
    path.write_text(text, encoding="utf-8")
    assert main(["sign", str(path), "--secret", SECRET]) == 4


def test_a_byte_order_mark_is_skipped() -> None:
    assert loads_as_sent(b'\xef\xbb\xbf{"a": 1.50}') == {"a": "1.50"}
    assert loads_as_sent('\ufeff{"a": 1.50}') == {"a": "1.50"}


def test_nested_numbers_become_values() -> None:
    assert native(loads_as_sent('{"a": [1, {"b": 2.50}], "c": -0}')) == {
        "a": [1, {"b": Decimal("2.50")}],
        "c": 0,
    }
    signed, _ = signed_object('{"a": {"b": 2.50}}')
    assert signed["a"] == {"b": Decimal("2.50")}


JSON_NUMBER = r"-?(0|[1-9][0-9]{0,40})(\.[0-9]{1,20})?([eE][+-]?[0-9]{1,3})?"


@settings(max_examples=300, deadline=None)
@given(st.from_regex(JSON_NUMBER, fullmatch=True))
def test_any_json_number_round_trips_as_sent(text: str) -> None:
    signed, values = signed_object(f'{{"amount": {text}}}')
    assert signing.canonical_string(signed) == f"amount={text}"
    assert values["amount"] == Decimal(text)
    assert isinstance(values["amount"], int) == text.lstrip("-").isdigit()
