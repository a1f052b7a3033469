"""Field checks the region profiles are built from.

A check takes the value as given and returns it as it should be sent (possibly normalised),
or raises ``Invalid`` with a rule name and a hint. Hints never repeat the value: it may be
personal data.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import attrs

from .errors import Violation

__all__ = [
    "AmountRule",
    "Check",
    "Condition",
    "Invalid",
    "bank_numbers",
    "cambodia_mobile",
    "email",
    "http_url",
    "ip_address",
    "matches",
    "one_of",
    "only_with",
    "required_when",
    "text",
    "trade_no",
]


class Invalid(Exception):
    """Raised by a check: ``rule`` names what was broken, ``hint`` says what is expected."""

    def __init__(self, rule: str, hint: str = "") -> None:
        super().__init__(rule)
        self.rule = rule
        self.hint = hint


Check = Callable[[str], str]
# A cross-field rule: gets the rendered wire fields, yields what it finds wrong.
Condition = Callable[[Mapping[str, Any]], Iterable[Violation]]


def matches(pattern: str, rule: str, hint: str) -> Check:
    """A check that the whole value matches ``pattern``."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if compiled.fullmatch(value) is None:
            raise Invalid(rule, hint)
        return value

    return check


def one_of(*choices: str) -> Check:
    """A check that the value is one of ``choices`` (exact, case-sensitive like the gateway)."""
    allowed = frozenset(choices)
    hint = "one of " + ", ".join(choices)

    def check(value: str) -> str:
        if value not in allowed:
            raise Invalid("not_allowed_value", hint)
        return value

    return check


def text(max_length: int = 255) -> Check:
    """Any non-blank text up to ``max_length`` characters."""

    def check(value: str) -> str:
        if not value.strip():
            raise Invalid("blank", "must not be only spaces")
        if len(value) > max_length:
            raise Invalid("too_long", f"at most {max_length} characters")
        return value

    return check


trade_no = matches(
    r"[A-Za-z0-9_.\-]{1,32}", "trade_no_format", "1 to 32 letters, digits, '_', '-' or '.'"
)

_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


def email(value: str) -> str:
    if len(value) > 254 or _EMAIL.fullmatch(value) is None:
        raise Invalid("email_format", "a valid address like name@example.com")
    return value


def http_url(value: str) -> str:
    """An absolute ``http``/``https`` URL with a host (a callback target or redirect)."""
    if not _is_http_url(value):
        raise Invalid("url_format", "an absolute http(s) URL")
    return value


# Most orders of a merchant share one notify URL: parse each distinct URL once.
@functools.lru_cache(maxsize=512)
def _is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(host) and " " not in value


def ip_address(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise Invalid("ip_format", "an IPv4 or IPv6 address") from None


_BANK_PAIR = re.compile(r"\d{2,4}-\d{4,24}")


def bank_numbers(value: str) -> str:
    """``bankcode-account`` pairs separated by commas; spaces around commas are dropped."""
    pairs = [pair.strip() for pair in value.split(",")]
    if not pairs or any(_BANK_PAIR.fullmatch(pair) is None for pair in pairs):
        raise Invalid("bank_number_format", "bankcode-account pairs like 808-0368988888888")
    return ",".join(pairs)


_KH_NATIONAL = re.compile(r"[1-9]\d{7,8}")


def cambodia_mobile(value: str) -> str:
    """8-9 national digits; a leading ``0`` or a ``+855``/``855`` prefix is removed (SPEC §4)."""
    digits = value.strip().replace(" ", "").replace("-", "")
    if digits.startswith("+855"):
        digits = digits[4:]
    elif digits.startswith("855") and len(digits) - 3 >= 8:
        digits = digits[3:]
    if digits.startswith("0"):
        digits = digits[1:]
    if _KH_NATIONAL.fullmatch(digits) is None:
        raise Invalid("mobile_format", "8 or 9 digits without the country code")
    return digits


def only_with(field: str, wire: str, other_field: str, other_wire: str) -> Condition:
    """``wire`` may only be sent together with ``other_wire``."""

    def condition(fields: Mapping[str, Any]) -> Iterable[Violation]:
        if wire in fields and other_wire not in fields:
            return [Violation(field, f"requires_{other_field}", f"only valid with {other_field}")]
        return ()

    return condition


def required_when(field: str, wire: str, when_wire: str, when_value: str) -> Condition:
    """``wire`` must be present when ``when_wire`` equals ``when_value``."""

    def condition(fields: Mapping[str, Any]) -> Iterable[Violation]:
        if fields.get(when_wire) == when_value and wire not in fields:
            return [Violation(field, "required", f"required when {when_wire} is {when_value}")]
        return ()

    return condition


@attrs.frozen
class AmountRule:
    """How an amount is checked and written: minimum, decimals allowed, number or string."""

    decimals: int = 0
    minimum: Decimal | int | None = None
    as_number: bool = False

    def accepts(self, amount: object) -> bool:
        """True when ``amount`` breaks no rule (``violations`` would find none), cheaply."""
        if type(amount) is int:  # whole units: only the bounds can be wrong
            return amount > 0 and (self.minimum is None or amount >= self.minimum)
        return not self.violations(amount)

    def violations(self, amount: object) -> list[Violation]:
        if not isinstance(amount, int | Decimal) or isinstance(amount, bool):
            return [Violation("amount", "not_a_number", "int or Decimal")]
        if isinstance(amount, Decimal) and not amount.is_finite():
            return [Violation("amount", "not_a_number", "a finite number")]
        found: list[Violation] = []
        if amount <= 0:
            found.append(Violation("amount", "not_positive", "must be greater than 0"))
        elif self.minimum is not None and amount < self.minimum:
            found.append(Violation("amount", "below_minimum", f"at least {self.minimum}"))
        if isinstance(amount, Decimal) and _decimal_places(amount) > self.decimals:
            rule = "not_whole" if self.decimals == 0 else "too_many_decimals"
            hint = "whole units only" if self.decimals == 0 else f"at most {self.decimals} decimals"
            found.append(Violation("amount", rule, hint))
        return found

    def render(self, amount: int | Decimal) -> int | str:
        """The amount as sent: an exact integer, or plain digits without an exponent."""
        if isinstance(amount, int) or amount == amount.to_integral_value():
            whole = int(amount)
            return whole if self.as_number else str(whole)
        text_form = format(amount.normalize(), "f")
        # A JSON number with a fraction could be re-formatted by the gateway (SPEC §3): the
        # profile's `decimals` is 0 wherever `as_number` is set, so this stays text.
        return text_form


def _decimal_places(amount: Decimal) -> int:
    exponent = amount.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0
