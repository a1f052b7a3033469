"""What the gateway checks before it acts on a request, and the shape of its answer: shared
by the payment side (``gateway.py``) and the payout side (``payouts.py``)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import attrs

from ..errors import Violation
from ..wire import JsonNumber, wire_name

__all__ = [
    "Reply",
    "amount_type_violations",
    "invalid_message",
    "is_json_number",
    "timestamp_violations",
]


@attrs.frozen(slots=True)
class Reply:
    """What to answer: envelope ``code``/``msg``, ``data`` and the ledger's outcome word."""

    code: str
    msg: str
    data: dict[str, Any] | None
    outcome: str


def invalid_message(violations: Iterable[Violation]) -> str:
    """``invalid parameter: field (rule: hint); ...`` with wire names and no values."""
    parts = []
    for violation in violations:
        detail = f"{violation.rule}: {violation.hint}" if violation.hint else violation.rule
        parts.append(f"{wire_name(violation.field)} ({detail})")
    return "invalid parameter: " + "; ".join(parts)


def is_json_number(value: object) -> bool:
    """Whether a received value was a JSON number: the sandbox reads bodies with
    ``wire.signed_object``, which keeps numbers as the text sent (``JsonNumber``), so the
    signature is checked over exactly that text."""
    return isinstance(value, JsonNumber) or (
        isinstance(value, int | Decimal) and not isinstance(value, bool)
    )


def timestamp_violations(value: object, as_number: bool) -> list[Violation]:
    if value is None or value == "":
        return [Violation("timestamp", "required")]
    if as_number:
        if not is_json_number(value):
            return [Violation("timestamp", "not_number", "a JSON number for this profile")]
        text = str(value)
    else:
        if not isinstance(value, str) or isinstance(value, JsonNumber):
            return [Violation("timestamp", "not_text", "a JSON string for this profile")]
        text = value
    if len(text) != 13 or not (text.isascii() and text.isdigit()):
        return [Violation("timestamp", "timestamp_format", "13-digit epoch milliseconds")]
    return []


def amount_type_violations(value: object, as_number: bool) -> list[Violation]:
    if value is None:
        return []  # the profile reports it as required
    is_number = is_json_number(value)
    if as_number and not is_number:
        return [Violation("amount", "not_number", "a JSON number for this profile")]
    if not as_number and is_number:
        return [Violation("amount", "not_text", "a JSON string for this profile")]
    return []
