"""The batch command's fast paths give exactly what the full paths give, on hostile input.

- ``RowReader.to_row`` builds the common row at once; ``_checked_row`` (every value and
  column name checked) is the reference: same request, violations and shown trade number.
- The journal writes a flat result line directly; ``json`` (ASCII, compact) is the reference.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, example, given, settings, strategies as st

from vexora_async.batch_input import CHECKOUT_ROWS, InputRow, RowReader
from vexora_async.journal import _dump
from vexora_async.payout_models import PayoutRequest

PAYOUT_ROWS = RowReader(PayoutRequest)

# Column names: every known one (SDK and wire spelling) and hostile ones.
_NAMES = st.sampled_from(
    ["trade_no", "tradeNo", "amount", "mobile", "email", "username", "notify_url",
     "notifyUrl", "remark", "extra", "payType", "", " ", "x" * 70, "\ud800", "a\nb",
     "bank_number", "bankNumber", "account_name"]
)  # fmt: skip
# Cell values: mostly what a CSV file gives (text), some of what JSON Lines gives.
_TEXT = st.one_of(
    st.sampled_from(["T1", "10000", "0", "000123", "1" * 18, "1" * 19, "12.50", " 100",
                     "1e3", "-5", "٣", "NaN", "", "budi@example.com", "\ud800", "é",
                     "http://127.0.0.1:9/n"]),
    st.text(max_size=25),
    st.text(alphabet="0123456789", min_size=1, max_size=22),
)  # fmt: skip
_VALUES = st.one_of(
    _TEXT,
    st.integers(),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
)
_RECORDS = st.dictionaries(_NAMES, _TEXT, max_size=8) | st.dictionaries(
    _NAMES, _VALUES, max_size=8
)


def _same(fast: InputRow[Any], full: InputRow[Any]) -> None:
    assert fast.row == full.row
    assert fast.request == full.request
    assert fast.violations == full.violations
    assert fast.trade_no == full.trade_no


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(record=_RECORDS)
@example(record={"trade_no": "T1", "amount": "10000"})
@example(record={"tradeNo": "T1", "trade_no": "T2", "amount": "1" * 18})
@example(record={"trade_no": "T1", "amount": "1" * 19})
@example(record={"trade_no": "T1", "amount": "٣"})
@example(record={"trade_no": "T1", "amount": "10000", "payType": "x"})
@example(record={"trade_no": "\ud800", "amount": "10000"})
@example(record={"trade_no": "T1", "amount": "10000", "mobile": "é"})
def test_to_row_is_the_full_check_for_checkouts(record: dict[str, Any]) -> None:
    _same(CHECKOUT_ROWS.to_row(7, record), CHECKOUT_ROWS._checked_row(7, record))


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(record=_RECORDS)
@example(record={"trade_no": "P1", "amount": "10000", "bank_number": "123"})
def test_to_row_is_the_full_check_for_payouts(record: dict[str, Any]) -> None:
    _same(PAYOUT_ROWS.to_row(3, record), PAYOUT_ROWS._checked_row(3, record))


def test_the_common_row_takes_the_fast_path() -> None:
    # Not a timing test: the fast path is the one that must match (above), so make sure
    # the rows the equivalence covers are the rows it is for.
    row = CHECKOUT_ROWS.to_row(2, {"trade_no": "T1", "amount": "10000", "mobile": "0812"})
    assert row.request is not None and row.request.amount == Decimal(10000)
    assert row.violations == () and row.trade_no == "T1"


_FLAT = st.one_of(
    st.text(max_size=30),
    st.sampled_from(['a"b', "a\\b", "\x7f", "\x00", "é", "\ud800", "created"]),
    st.integers(),
    st.booleans(),
    st.none(),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.lists(st.text(max_size=3), max_size=2),
)


@settings(max_examples=400)
@given(line=st.dictionaries(st.text(max_size=10) | st.sampled_from(['k"', "k\\"]), _FLAT,
                            max_size=7))  # fmt: skip
@example(line={"row": 2, "tradeNo": "T1", "outcome": "created", "paymentUrl": "http://x/c/1"})
@example(line={"row": 2, "tradeNo": 'T"1'})
@example(line={'"': '"'})
def test_result_lines_are_the_json_encoders(line: dict[str, Any]) -> None:
    expected = json.dumps(line, separators=(",", ":"), ensure_ascii=True)
    assert _dump(line) == expected
