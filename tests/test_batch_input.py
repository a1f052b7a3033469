"""The input reader against arbitrary files and rows: only row-level invalids, or one
``InputFileError`` for a file that cannot be used, never anything else."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings, strategies as st

from vexora_async.batch_input import InputFileError, InputRow, read_rows, to_row
from vexora_async.errors import ValidationError
from vexora_async.regions import registry
from vexora_async.signing import sign
from vexora_async.wire import dumps

_SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_FIELDS = ["trade_no", "tradeNo", "amount", "username", "mobile", "email", "notifyUrl",
           "notify_url", "remark", "channel_code", "payType"]  # fmt: skip
_TEXT = st.text(st.characters(codec="utf-8"), max_size=30) | st.text(max_size=8)  # surrogates too
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TEXT
    | st.decimals(allow_nan=False, allow_infinity=False).map(str),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=6,
)  # fmt: skip
_GOOD = {
    "trade_no": "HYP000001", "amount": "10000", "username": "Budi", "mobile": "081234567890",
    "email": "budi@example.com", "notify_url": "https://shop.example/notify",
}  # fmt: skip


def _every_row(path: Path, file_format: str) -> list[InputRow]:
    try:
        return list(read_rows(path, file_format))
    except InputFileError as exc:
        assert str(exc) and "\n" not in str(exc)  # one line for the user
        return []


def _sendable(item: InputRow) -> None:
    """A row the reader accepted is validated by the profile without any other exception,
    and what validation lets through can be signed and encoded (no crash while sending)."""
    if item.request is None:
        assert item.violations and all(v.field and v.rule for v in item.violations)
        return
    try:
        fields = registry.get("IDR").prepare(item.request)
    except ValidationError:
        return
    sign(fields, "SECRET")
    dumps(fields)


@_SETTINGS
@given(data=st.binary(max_size=2000), file_format=st.sampled_from(["csv", "jsonl"]))
def test_arbitrary_bytes_never_raise(tmp_path: Path, data: bytes, file_format: str) -> None:
    path = tmp_path / f"input.{file_format}"
    path.write_bytes(data)
    for item in _every_row(path, file_format):
        assert item.row >= 1
        _sendable(item)


@_SETTINGS
@given(records=st.lists(st.dictionaries(st.sampled_from(_FIELDS) | _TEXT, _JSON_VALUES,
                                        max_size=8), max_size=5))  # fmt: skip
def test_arbitrary_json_rows_are_each_one_row(
    tmp_path: Path, records: list[dict[str, Any]]
) -> None:
    path = tmp_path / "input.jsonl"
    lines = [json.dumps(record) for record in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    rows = _every_row(path, "jsonl")
    assert [item.row for item in rows] == list(range(1, len(records) + 1))
    for item in rows:
        _sendable(item)


@_SETTINGS
@given(cells=st.lists(st.lists(_TEXT, min_size=1, max_size=7), max_size=5))
def test_arbitrary_csv_rows_are_each_one_row(tmp_path: Path, cells: list[list[str]]) -> None:
    header = ["trade_no", "amount", "username", "mobile", "email", "notify_url"]
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(cells)
    path = tmp_path / "input.csv"
    path.write_text(text.getvalue(), encoding="utf-8", errors="surrogateescape")
    for item in _every_row(path, "csv"):
        assert item.row >= 2  # the header is line 1
        _sendable(item)


@_SETTINGS
@given(field=st.sampled_from(sorted(_GOOD)), value=_JSON_VALUES)
@example(field="email", value=float("inf"))  # once crashed: Infinity as a whole number
@example(field="mobile", value=float("nan"))
def test_any_value_in_any_field_is_a_row_level_answer(field: str, value: Any) -> None:
    record = {**_GOOD, field: value}
    record = {k: (Decimal(str(v)) if isinstance(v, float) else v) for k, v in record.items()}
    item = to_row(7, {k: v for k, v in record.items() if v is not None})
    assert item.row == 7
    _sendable(item)


def test_a_good_row_is_read() -> None:
    item = to_row(2, dict(_GOOD))
    assert item.request is not None and item.request.amount == Decimal("10000")
    _sendable(item)
