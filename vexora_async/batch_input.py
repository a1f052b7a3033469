"""Reading requests (checkouts, payouts) from a CSV or JSON Lines file, one row at a time.

Columns (CSV header or JSON keys) may use the SDK's names (``trade_no``) or the gateway's
(``tradeNo``); any other column travels in the request's ``extra`` under its own name, for
custom profiles, and a profile that does not know it reports it. ``RowReader(model)`` reads
rows of any request model with ``trade_no``, ``amount`` and ``extra`` (``PayoutRequest``);
``read_rows`` and ``to_row`` read ``CheckoutRequest``.

Rows are named by the line a person sees in an editor or spreadsheet: in a CSV file the
header is line 1, so the first order is row 2; in a JSON Lines file each line is its own
number, blank lines counted.

Nothing in a file makes the reader raise, except a file that cannot be used at all
(``InputFileError``: missing, unreadable, no CSV header, a CSV header naming one field twice).
Every malformed row becomes an ``InputRow`` without a request, whose violations name the
field and the rule.

Ambiguity is refused, never resolved: a JSON Lines row with a key twice
(``duplicate_field``) or with two spellings of one field, ``tradeNo`` and ``trade_no``
(``ambiguous_field``), is an invalid row; a CSV header naming one field twice, in either
way, makes the whole file unusable (checked once, at the header).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Generic, Protocol, TextIO, TypeVar

import attrs
from attrs import AttrsInstance

from .errors import ValidationError, Violation
from .models import CheckoutRequest
from .wire import wire_name

__all__ = [
    "CHECKOUT_ROWS",
    "FORMATS",
    "MAX_AMOUNT_DIGITS",
    "MAX_LINE",
    "InputFileError",
    "InputRow",
    "Request",
    "RowReader",
    "detect_format",
    "read_records",
    "read_rows",
    "to_row",
]

FORMATS = ("csv", "jsonl")
MAX_LINE = 1 << 20  # a JSON Lines line longer than this is one bad row, not a memory spike
MAX_AMOUNT_DIGITS = 18  # below 2**63 (what JSON encoders take); far beyond any real amount
_SCALARS = (str, int, Decimal)

Record = dict[str, Any]


class Request(AttrsInstance, Protocol):
    """What a row becomes: an attrs request with a trade number (``CheckoutRequest``,
    ``PayoutRequest``)."""

    @property
    def trade_no(self) -> str: ...


R = TypeVar("R", bound=Request)


class InputFileError(ValueError):
    """The input file cannot be used at all (one line for the user, no traceback)."""


class InputRow(Generic[R]):
    """One input row: its request, or why none could be built. (A plain slotted carrier:
    one is made per row, twice per run.)"""

    __slots__ = ("request", "row", "trade_no", "violations")

    def __init__(
        self,
        row: int,
        request: R | None,
        violations: tuple[Violation, ...] = (),
        trade_no: str | None = None,  # as written, when it is usable text
    ) -> None:
        self.row = row
        self.request = request
        self.violations = violations
        self.trade_no = trade_no

    def __repr__(self) -> str:  # no field values: they may hold payer data
        return f"InputRow(row={self.row}, ok={self.request is not None})"


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise InputFileError(
        f"cannot tell the format of {path.name}: use .csv or .jsonl, or --format"
    )


def read_rows(path: Path, file_format: str | None = None) -> Iterator[InputRow[CheckoutRequest]]:
    """Every row of ``path`` as an ``InputRow`` of a ``CheckoutRequest``."""
    return CHECKOUT_ROWS.read(path, file_format)


def read_records(
    path: Path, file_format: str | None = None, names: Mapping[str, str] | None = None
) -> Iterator[tuple[int, Record | Violation]]:
    """Every row of ``path`` as (row number, its fields or why they could not be read).

    ``names`` maps each column name a model takes to its field (``tradeNo`` and
    ``trade_no`` to ``trade_no``): a CSV header with two columns for one field is refused
    (``InputFileError``). Without it only a name written twice is."""
    kind = file_format or detect_format(path)
    try:
        # surrogateescape: bytes that are not UTF-8 become lone surrogates, reported per
        # row (rule ``not_utf8``) instead of ending the whole run with a decode error.
        handle = path.open(newline="", encoding="utf-8-sig", errors="surrogateescape")
    except OSError as exc:
        raise InputFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    with handle:
        try:
            if kind == "csv":
                yield from csv_records(handle, names)
            else:
                yield from jsonl_records(handle, names)
        except OSError as exc:
            raise InputFileError(f"cannot read {path}: {exc.strerror or exc}") from None


def csv_records(
    handle: TextIO, names: Mapping[str, str] | None = None
) -> Iterator[tuple[int, Record | Violation]]:
    reader = csv.reader(handle)
    header: list[str] | None = None
    last_line = 0
    while True:
        first_line = last_line + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # e.g. a field over the 128 KiB limit: that row only
            last_line = reader.line_num
            if header is None:
                raise InputFileError(f"line {first_line}: unreadable CSV header ({exc})") from None
            yield first_line, Violation("row", "unreadable_csv", _hint(exc))
            continue
        last_line = reader.line_num
        if not cells:  # a blank line: counted, not a row
            continue
        if header is None:
            header = [name.strip() for name in cells]
            _check_header(header, names or {})
            continue
        if len(cells) > len(header):
            yield first_line, Violation("row", "too_many_cells", f"the header has {len(header)}")
            continue
        # An empty cell is an absent field; most rows have none (one C scan to tell).
        if "" in cells:
            yield first_line, {n: cell for n, cell in zip(header, cells, strict=False) if cell}
        else:
            yield first_line, dict(zip(header, cells, strict=False))
    if header is None:
        raise InputFileError("the CSV file has no header line (column names)")


def _check_header(header: list[str], names: Mapping[str, str]) -> None:
    """Refuse a header with two columns for one field (``amount`` twice, or ``tradeNo`` and
    ``trade_no``): which one a row means cannot be known. Once per file, not per row."""
    seen: dict[str, str] = {}
    for column in header:
        if not column:  # no name (a trailing comma): its cells are refused if not empty
            continue
        field = names.get(column, column)
        first = seen.get(field)
        if first is None:
            seen[field] = column
            continue
        which = field if _good_column(field) else "one column"
        how = "twice" if first == column else f"as {_shown(first)} and as {_shown(column)}"
        raise InputFileError(
            f"line 1: the CSV header names {which} {how}; which column is meant cannot be known"
        )


def _shown(column: str) -> str:
    return repr(column) if _good_column(column) else "another column"


class _Repeated(dict[str, Any]):
    """A JSON object with a key given twice (``repeated``: the first such key), kept apart
    so that no value is picked for it. As a value inside a row it is an object: refused."""

    repeated = ""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json``'s ``object_pairs_hook``: a dict, or a ``_Repeated`` for a key twice."""
    fields = dict(pairs)
    if len(fields) == len(pairs):
        return fields
    repeated = _Repeated(fields)
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            repeated.repeated = key
            break
        seen.add(key)
    return repeated


def jsonl_records(
    handle: TextIO, names: Mapping[str, str] | None = None
) -> Iterator[tuple[int, Record | Violation]]:
    line_no = 0
    while True:
        line = handle.readline(MAX_LINE + 1)
        if not line:
            break
        line_no += 1
        if len(line) > MAX_LINE and not line.endswith("\n"):
            while (rest := handle.readline(MAX_LINE)) and not rest.endswith("\n"):
                pass  # skip the rest of the over-long line
            yield line_no, Violation("row", "line_too_long", f"over {MAX_LINE} characters")
            continue
        if not line.strip():
            continue
        try:
            # Numbers stay exact, and a 5,000-digit one is not an error here (checked below).
            # A key twice comes back as a ``_Repeated`` (no cost for the common row).
            value = json.loads(
                line, parse_float=Decimal, parse_int=Decimal, object_pairs_hook=_pairs
            )
        except (ValueError, RecursionError):
            yield line_no, Violation("row", "unreadable_json", "not one JSON object per line")
            continue
        if type(value) is not dict:
            if isinstance(value, _Repeated):
                key = value.repeated
                field = (names or {}).get(key, key) if _good_column(key) else "row"
                yield line_no, Violation(field, "duplicate_field", "given twice in one row")
            else:
                yield line_no, Violation(
                    "row", "not_an_object", "each line must be a JSON object"
                )
            continue
        yield line_no, {key: item for key, item in value.items() if item is not None}


class RowReader(Generic[R]):
    """How the records of a file become requests of one model (``CheckoutRequest``,
    ``PayoutRequest``): an attrs class with ``trade_no``, ``amount`` and ``extra``."""

    __slots__ = ("_make", "_names", "model")

    def __init__(self, model: type[R]) -> None:
        self.model = model
        self._make: Callable[..., R] = model  # called with the fields a file gives
        fields = {a.name for a in attrs.fields(model) if a.name != "extra"}
        missing = {"trade_no", "amount"} - fields
        if missing:
            raise TypeError(f"{model.__name__} has no {', '.join(sorted(missing))}")
        self._names = {**{wire_name(name): name for name in fields}, **{n: n for n in fields}}

    def read(self, path: Path, file_format: str | None = None) -> Iterator[InputRow[R]]:
        """Every row of ``path`` as an ``InputRow``."""
        for row, record in self.records(path, file_format):
            yield self.to_row(row, record)

    def records(
        self, path: Path, file_format: str | None = None
    ) -> Iterator[tuple[int, Record | Violation]]:
        """``read_records`` with this model's names: a CSV header with two columns for one
        field (``tradeNo`` and ``trade_no``) is refused."""
        return read_records(path, file_format, self._names)

    def to_row(self, row: int, record: Record | Violation) -> InputRow[R]:
        """Build the request of one record; every problem is a violation, never an exception."""
        # The common row (a CSV line): known column names, ASCII text cells, trade number
        # and amount given, the amount plain digits. Nothing in it can be a file-level
        # problem, so the request is built at once; any other row takes the full path
        # (``_checked_row``), which gives the same result for these rows (tested).
        if type(record) is dict:
            try:
                known = {self._names[key]: value for key, value in record.items()}
                # TypeError: a value not text. Fewer fields than keys: two spellings of
                # one field (``tradeNo`` and ``trade_no``), refused by the full path.
                plain = len(known) == len(record) and "".join(record.values()).isascii()
            except (KeyError, TypeError):
                plain = False
            if plain:
                amount = known.get("amount")
                if (
                    amount is not None
                    and len(amount) <= MAX_AMOUNT_DIGITS
                    and amount.isdigit()
                    and "trade_no" in known
                ):
                    try:  # as ``_build`` does, inline: one frame less per row
                        return InputRow(row, self._make(**known, extra={}), (), known["trade_no"])
                    except Exception:  # refused by the model: the full path says how
                        pass
        return self._checked_row(row, record)

    def _checked_row(self, row: int, record: Record | Violation) -> InputRow[R]:
        """``to_row`` for any record: every value and column name checked."""
        if isinstance(record, Violation):
            return InputRow(row, None, (record,))
        names = self._names
        known: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        violations: list[Violation] = []
        spelled: dict[str, str] = {}  # field -> the key that gave it
        for key, value in record.items():
            name = names.get(key)
            if name is not None:
                first = spelled.setdefault(name, key)
                if first != key:  # ``tradeNo`` and ``trade_no``: neither value is taken
                    violations.append(
                        Violation(name, "ambiguous_field", f"given as {first} and as {key}")
                    )
                    known.pop(name, None)
                    continue
            if name is None and not _good_column(key):
                # Not a name that can be shown on one line: say which rule, not the name.
                violations.append(
                    Violation("row", "bad_column_name", "empty, too long or not text")
                )
                continue
            field = name or key
            if (
                type(value) is str
                and (value.isascii() or _usable_text(value))
                and field != "amount"
            ):
                problem = None  # the common case, a CSV cell: nothing more to check here
            else:
                problem = _check_value(field, value)
                value = _plain(field, value)
            if problem is not None:
                violations.append(problem)
            elif name is None:
                extra[key] = value
            else:
                known[name] = value
        trade_no = known.get("trade_no")
        shown = trade_no if isinstance(trade_no, str) else None
        if trade_no is None and not any(v.field == "trade_no" for v in violations):
            violations.append(Violation("trade_no", "required"))
        if "amount" not in known and not any(v.field == "amount" for v in violations):
            violations.append(Violation("amount", "required"))
        if violations:
            return InputRow(row, None, tuple(violations), shown)
        return self._build(row, known, extra, shown)

    def _build(
        self, row: int, known: dict[str, Any], extra: dict[str, Any], shown: str | None
    ) -> InputRow[R]:
        try:
            request = self._make(**known, extra=extra)
        except ValidationError as exc:
            return InputRow(row, None, exc.violations, shown)
        except Exception as exc:  # a model that refuses a value in its own way: still one row
            unusable = Violation("row", "unusable", type(exc).__name__)
            return InputRow(row, None, (unusable,), shown)
        return InputRow(row, request, (), shown)


CHECKOUT_ROWS = RowReader(CheckoutRequest)


def to_row(row: int, record: Record | Violation) -> InputRow[CheckoutRequest]:
    """The ``CheckoutRequest`` of one record (``RowReader.to_row``)."""
    return CHECKOUT_ROWS.to_row(row, record)


def _check_value(field: str, value: Any) -> Violation | None:
    """Types and sizes a file can get wrong; the profile checks the rest."""
    if not isinstance(value, _SCALARS) or isinstance(value, bool):
        return Violation(field, "wrong_type", f"expected text or a number, got {_kind(value)}")
    if isinstance(value, str):
        if not _usable_text(value):
            return Violation(field, "not_utf8", "holds bytes or characters that are not text")
        if field == "amount":
            if len(value) > 64:
                return Violation(field, "too_long", "at most 64 characters")
            try:
                value = Decimal(value.strip())
            except ArithmeticError:
                return None  # the model says not_a_number
    if isinstance(value, Decimal) and not value.is_finite():
        return Violation(field, "not_a_number", "expected digits like 10000")
    if isinstance(value, Decimal) and not _sized(value):
        return Violation(field, "out_of_range", f"at most {MAX_AMOUNT_DIGITS} digits")
    if isinstance(value, int) and value.bit_length() > 100:
        return Violation(field, "out_of_range", f"at most {MAX_AMOUNT_DIGITS} digits")
    return None


def _sized(value: Decimal) -> bool:
    """Finite, under 10**30 and with at most 20 decimals: safe to format and to compare."""
    exponent = value.as_tuple().exponent
    return (
        isinstance(exponent, int) and exponent >= -20 and value.adjusted() < MAX_AMOUNT_DIGITS
    )


def _plain(field: str, value: Any) -> Any:
    """JSON numbers are read as ``Decimal`` (exact); outside ``amount`` a whole one is an int,
    as ``json`` itself would give."""
    if (
        field != "amount"
        and isinstance(value, Decimal)
        and value.is_finite()  # Infinity and NaN stay Decimals: the field's rule refuses them
        and value.adjusted() < MAX_AMOUNT_DIGITS
        and value == value.to_integral_value()
    ):
        return int(value)
    return value


def _good_column(key: str) -> bool:
    return len(key) <= 64 and key.isprintable() and bool(key.strip()) and _usable_text(key)


def _usable_text(text: str) -> bool:
    """False for lone surrogates (undecodable bytes, or ``\\ud800`` escapes in JSON)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _kind(value: Any) -> str:
    return {
        list: "a list", dict: "an object", _Repeated: "an object", bool: "true/false",
        float: "a float",
    }.get(
        type(value), type(value).__name__
    )


def _hint(exc: BaseException) -> str:
    text = str(exc)
    return text[:80]
