"""SPEC §3: the canonical string and the MD5 signature, with the SPEC's test vectors."""

from __future__ import annotations

from decimal import Decimal

import pytest

from vexora_async.signing import canonical_string, masked_canonical_string, sign, verify

VECTOR_1 = {"timestamp": "1728613488294", "tradeNo": "test_00000008"}
VECTOR_2 = {
    "tradeNo": "T20240101000001",
    "timestamp": "1715941383720",
    "amount": "10000",
    "username": "Budi",
    "mobile": "081234567890",
    "email": "budi@gmail.com",
    "channelCode": "EWALLET",
    "wayCode": "DANA",
    "notifyUrl": "https://merchant.example/notify",
    "remark": "",
}


def test_vector_1() -> None:
    assert canonical_string(VECTOR_1) == "timestamp=1728613488294tradeNo=test_00000008"
    assert sign(VECTOR_1, "TESTSECRET") == "3c6f09275273e5d61b959d6f47845ae9"


def test_vector_2() -> None:
    assert canonical_string(VECTOR_2) == (
        "amount=10000channelCode=EWALLETemail=budi@gmail.commobile=081234567890"
        "notifyUrl=https://merchant.example/notifytimestamp=1715941383720"
        "tradeNo=T20240101000001username=BudiwayCode=DANA"
    )
    assert sign(VECTOR_2, "TESTSECRET") == "0ca7405572a7829a8268f4c59c2dbfae"


def test_sign_field_and_nulls_are_left_out() -> None:
    fields = {**VECTOR_1, "sign": "whatever", "remark": None, "extra": ""}
    assert sign(fields, "TESTSECRET") == "3c6f09275273e5d61b959d6f47845ae9"


def test_numbers_sign_as_their_wire_text() -> None:
    as_text = {"amount": "1000000", "timestamp": "1732988442913"}
    as_numbers = {"amount": 1000000, "timestamp": 1732988442913}
    assert sign(as_text, "S") == sign(as_numbers, "S")
    assert canonical_string({"amount": Decimal("10.50")}) == "amount=10.50"
    assert canonical_string({"ok": True}) == "ok=true"


def test_keys_sort_by_code_point_case_sensitive() -> None:
    assert canonical_string({"b": "1", "B": "2", "a": "3"}) == "B=2a=3b=1"


def test_verify_accepts_only_the_exact_lowercase_sign() -> None:
    signed = {**VECTOR_2, "sign": sign(VECTOR_2, "TESTSECRET")}
    assert verify(signed, "TESTSECRET")
    assert not verify(signed, "OTHERSECRET")
    assert not verify({**signed, "sign": signed["sign"].upper()}, "TESTSECRET")
    assert not verify({**signed, "amount": "10001"}, "TESTSECRET")
    assert not verify({**signed, "injected": "1"}, "TESTSECRET")
    assert not verify(VECTOR_2, "TESTSECRET")


@pytest.mark.parametrize("bad", [None, 123, "", "é" * 32])
def test_verify_rejects_odd_signs_without_raising(bad: object) -> None:
    assert not verify({**VECTOR_1, "sign": bad}, "TESTSECRET")


def test_masked_canonical_string_hides_the_secret() -> None:
    assert masked_canonical_string(VECTOR_1).endswith("tradeNo=test_00000008<secret>")
