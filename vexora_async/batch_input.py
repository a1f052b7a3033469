"""Reading checkout requests from a CSV or JSON Lines file, one row at a time.

Columns (CSV header or JSON keys) may use the SDK's names (``trade_no``) or the gateway's
(``tradeNo``); any other column travels in ``CheckoutRequest.extra`` under its own name, for
custom profiles, and a profile that does not know it reports it. Rows are numbered from 1,
not counting the CSV header.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs

from .errors import ValidationError, Violation
from .models import CheckoutRequest
from .wire import wire_name

__all__ = ["FORMATS", "InputRow", "detect_format", "read_rows"]

FORMATS = ("csv", "jsonl")
_FIELDS = {a.name for a in attrs.fields(CheckoutRequest) if a.name != "extra"}
_NAMES = {**{wire_name(name): name for name in _FIELDS}, **{name: name for name in _FIELDS}}


@attrs.frozen(slots=True)
class InputRow:
    """One input row: its request, or why none could be built."""

    row: int
    request: CheckoutRequest | None
    violations: tuple[Violation, ...] = ()


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise ValueError(f"cannot tell the format of {path.name}: use .csv or .jsonl, or --format")


def read_rows(path: Path, file_format: str | None = None) -> Iterator[InputRow]:
    """Every row of ``path`` as an ``InputRow``; a file that cannot be read raises OSError."""
    kind = file_format or detect_format(path)
    records = _csv_records(path) if kind == "csv" else _jsonl_records(path)
    for row, record in enumerate(records, start=1):
        yield _to_row(row, record)


def _csv_records(path: Path) -> Iterator[dict[str, Any] | None]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for record in csv.DictReader(handle):
            if None in record:  # more cells than the header has names
                yield None
                continue
            yield {key.strip(): (value if value != "" else None) for key, value in record.items()}


def _jsonl_records(path: Path) -> Iterator[dict[str, Any] | None]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                value = json.loads(line, parse_float=Decimal)  # amounts stay exact
            except ValueError:
                yield None
                continue
            yield value if isinstance(value, dict) else None


def _to_row(row: int, record: dict[str, Any] | None) -> InputRow:
    if record is None:
        return InputRow(row, None, (Violation("row", "unreadable", "not a record of fields"),))
    known: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in record.items():
        name = _NAMES.get(key)
        if name is None:
            if value is not None:
                extra[key] = value
        else:
            known[name] = value
    if known.get("trade_no") is None:
        return InputRow(row, None, (Violation("trade_no", "required"),))
    try:
        return InputRow(row, CheckoutRequest(**known, extra=extra))
    except ValidationError as exc:
        return InputRow(row, None, exc.violations)
    except TypeError:
        return InputRow(row, None, (Violation("amount", "required"),))
