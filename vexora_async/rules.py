"""Field checks the region profiles are built from.

A check takes the value as given and returns it as it should be sent (possibly normalised),
or raises ``Invalid`` with a rule name and a hint. Hints never repeat the value: it may be
personal data. Every check has a readable name (``repr`` of a profile shows it).

Rules that hold for every text field (no control characters, no lone surrogates) are applied
by the profile before a field's own check: see ``text_hygiene``. Digits are ASCII ``0-9``
everywhere; ``\\d`` would also match Arabic-Indic and other Unicode digits.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from decimal import ROUND_DOWN, Context, Decimal
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlsplit

import attrs

from .errors import ValidationError, Violation

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
    "refuse_with_the_rest",
    "remark",
    "required_when",
    "text",
    "text_hygiene",
    "trade_no",
]


class Invalid(Exception):
    """Raised by a check: ``rule`` names what was broken, ``hint`` says what is expected."""

    def __init__(self, rule: str, hint: str = "") -> None:
        super().__init__(rule)
        self.rule = rule
        self.hint = hint


Check = Callable[[str], str]
# A cross-field rule: gets every given field by its rule name (the SDK name, or the wire name
# of an ``extra`` field), normalised where its own check passed; yields what it finds wrong.
Condition = Callable[[Mapping[str, Any]], Iterable[Violation]]

_F = TypeVar("_F", bound=Callable[..., Any])


def _named(func: _F, name: str) -> _F:
    """Give a generated check or condition a readable name (shown in a profile's repr)."""
    func.__name__ = func.__qualname__ = name
    return func


def _clean(func: _F) -> _F:
    """Mark a check whose accepted values never hold what ``text_hygiene`` refuses (a strict
    ASCII pattern, a fixed list, or a check that applies ``text_hygiene`` itself): the
    profile then skips its own scan of the value, which is most of a field's cost."""
    func.clean = True  # type: ignore[attr-defined]
    return func


def _reads(condition: _F, *names: str) -> _F:
    """Declare the only fields a condition looks at: the profile then hands it just those."""
    condition.reads = frozenset(names)  # type: ignore[attr-defined]
    return condition


def reads_of(condition: object) -> frozenset[str] | None:
    """The field names ``condition`` declared it reads, or None (it may read any field)."""
    names = getattr(condition, "reads", None)
    return names if isinstance(names, frozenset) else None


def is_clean(check: object) -> bool:
    """True when ``check`` was marked as refusing control characters and surrogates itself."""
    return getattr(check, "clean", False) is True


def _refuses(func: _F, test: str, arg: object = None) -> _F:
    """Attach the rule as one Python expression, for the profile's compiled ``prepare``.

    For a check: over ``value`` (a non-empty ``str``), true exactly when the check raises
    ``Invalid``; the check must return ``value`` unchanged otherwise. For a condition: over
    ``seen`` (what it is given), true exactly when it yields a violation. ``ARG`` in
    ``test`` stands for ``arg`` (a pattern's ``fullmatch``, a set of choices, names...);
    ``test`` itself never holds a name or any other text given by a caller.
    ``tests/test_prepare_equivalence.py`` holds every built-in one to its function."""
    func.refuses = (test, arg, func)  # type: ignore[attr-defined]
    return func


def refuses_of(func: object) -> tuple[str, object] | None:
    """The expression ``func`` was given by ``_refuses`` (and its ``ARG``), or None. Only
    ``func``'s own: a wrapper that copied its attributes (``functools.wraps``) has none."""
    found = getattr(func, "refuses", None)
    if isinstance(found, tuple) and len(found) == 3 and found[2] is func:
        return found[0], found[1]
    return None


# Characters no gateway field may hold: C0/C1 controls (NUL, ESC, CR, LF, TAB, DEL...) and the
# Unicode line/paragraph separators; and surrogates, which cannot be encoded as UTF-8 at all
# (signing would fail). Only looked for when ``str.isprintable`` says the text is unusual.
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def text_hygiene(value: str) -> Invalid | None:
    """What is wrong with ``value`` as gateway text (``lone_surrogate``, ``control_character``),
    or None. Applied to every text field by the profile before the field's own check."""
    if value.isprintable():  # the usual case, one C loop
        return None
    if _SURROGATE.search(value) is not None:
        return Invalid("lone_surrogate", "text must be valid Unicode (no lone surrogates)")
    if _CONTROL.search(value) is not None:
        return Invalid("control_character", "no control characters (NUL, ESC, CR, LF, tab...)")
    return None


def matches(pattern: str, rule: str, hint: str, *, clean: bool = False) -> Check:
    """A check that the whole value matches ``pattern``. ``\\d``, ``\\w`` and ``\\s`` match
    ASCII only (the pattern is compiled with ``re.ASCII``). Pass ``clean=True`` when the
    pattern can only match printable text (``[0-9]{10}``): the profile then skips its
    control-character scan of the value."""
    compiled = re.compile(pattern, re.ASCII)

    def check(value: str) -> str:
        if compiled.fullmatch(value) is None:
            raise Invalid(rule, hint)
        return value

    named = _refuses(_named(check, f"matches({rule})"), "ARG(value) is None", compiled.fullmatch)
    return _clean(named) if clean else named


def one_of(*choices: str) -> Check:
    """A check that the value is one of ``choices`` (exact, case-sensitive like the gateway)."""
    allowed = frozenset(choices)
    hint = "one of " + ", ".join(choices)

    def check(value: str) -> str:
        if value not in allowed:
            raise Invalid("not_allowed_value", hint)
        return value

    named = _refuses(_named(check, f"one_of({', '.join(choices)})"), "value not in ARG", allowed)
    return _clean(named) if all(text_hygiene(c) is None for c in choices) else named


def text(max_length: int = 255) -> Check:
    """Any non-blank text up to ``max_length`` characters."""

    def check(value: str) -> str:
        if not value or value.isspace():  # no copy, unlike strip()
            raise Invalid("blank", "must not be only spaces")
        if len(value) > max_length:
            raise Invalid("too_long", f"at most {max_length} characters")
        return value

    refused = f"value.isspace() or len(value) > {max_length}"
    return _refuses(_named(check, f"text({max_length})"), refused)


def remark(max_length: int = 255, *, notification: str = "payment") -> Check:
    """Text that the gateway echoes in its notification: it must not hold ``key=`` for a
    notification key sorting after ``remark`` (``status=``, ``tradeNo=``...). The sign joins
    pairs with no separator, so such a remark could be re-cut into a forged notification
    (SPEC §7); the notification side refuses those, so the order would never be confirmed.
    ``notification``: whose keys, ``"payment"`` (checkout) or ``"payout"``."""
    if notification not in _REMARK_KEYS:
        raise ValueError(f"notification must be one of {sorted(_REMARK_KEYS)}")
    recuttable = _REMARK_KEYS[notification]

    def check(value: str) -> str:
        # ``text(max_length)``'s rules, inlined (one call less per remark).
        if not value or value.isspace():
            raise Invalid("blank", "must not be only spaces")
        if len(value) > max_length:
            raise Invalid("too_long", f"at most {max_length} characters")
        if "=" in value and recuttable(value):
            raise Invalid("ambiguous_in_notification", "no 'key=' text such as 'status='")
        return value

    refused = f"value.isspace() or len(value) > {max_length} or ('=' in value and ARG(value))"
    return _refuses(_named(check, f"remark({max_length})"), refused, recuttable)


def _recuttable_remark(value: str) -> bool:
    # Imported here: rare (only a remark holding '='), and rules must not import notify early.
    from .notify.kinds import PAYMENT_KEYS
    from .signing import recut_key

    return recut_key({"remark": value}, PAYMENT_KEYS) is not None


def _recuttable_payout_remark(value: str) -> bool:
    from .payout_notify import PAYOUT_KEYS  # as above: rare, and no early import
    from .signing import recut_key

    return recut_key({"remark": value}, PAYOUT_KEYS) is not None


_REMARK_KEYS = {"payment": _recuttable_remark, "payout": _recuttable_payout_remark}


_TRADE_NO = re.compile(r"[A-Za-z0-9_.\-]{1,32}", re.ASCII)


@_clean
def trade_no(value: str) -> str:
    # On ASCII text isalnum() is exactly [A-Za-z0-9]: the usual number needs no regex.
    if len(value) <= 32 and value.isascii() and value.isalnum():
        return value
    if _TRADE_NO.fullmatch(value) is None:
        raise Invalid("trade_no_format", "1 to 32 letters, digits, '_', '-' or '.'")
    return value


_refuses(
    trade_no,
    "not (len(value) <= 32 and value.isascii() and value.isalnum()) and ARG(value) is None",
    _TRADE_NO.fullmatch,
)


# No whitespace, and nothing text_hygiene refuses (so the profile need not scan it again).
_NOT_IN_EMAIL = "@\\s\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff"
_EMAIL = re.compile(f"[^{_NOT_IN_EMAIL}]+@[^{_NOT_IN_EMAIL}.]+(\\.[^{_NOT_IN_EMAIL}.]+)+")


@_clean
def email(value: str) -> str:
    if len(value) > 254 or _EMAIL.fullmatch(value) is None:
        raise Invalid("email_format", "a valid address like name@example.com")
    return value


_refuses(email, "len(value) > 254 or ARG(value) is None", _EMAIL.fullmatch)


@_clean  # applies text_hygiene itself, once per distinct URL
def http_url(value: str) -> str:
    """An absolute ``http``/``https`` URL with a host (a callback target or redirect)."""
    problem = _url_problem(value)
    if problem is not None:
        raise Invalid(*problem)
    return value


# Most orders of a merchant share one notify URL: check each distinct URL once.
@functools.lru_cache(maxsize=512)
def _url_problem(value: str) -> tuple[str, str] | None:
    bad = text_hygiene(value)
    if bad is not None:
        return bad.rule, bad.hint
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        host = None
    if parts.scheme in ("http", "https") and host and " " not in value:
        return None
    return "url_format", "an absolute http(s) URL"


_refuses(http_url, "ARG(value) is not None", _url_problem)


# IPv4 as ``ipaddress`` writes it (no leading zeros): such text is its own normal form, so
# the usual address skips ``ipaddress``, which costs ten times as much.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CANONICAL_IPV4 = re.compile(rf"(?:{_OCTET}\.){{3}}{_OCTET}", re.ASCII)


def ip_address(value: str) -> str:
    if _CANONICAL_IPV4.fullmatch(value) is not None:
        return value
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise Invalid("ip_format", "an IPv4 or IPv6 address") from None


_BANK_PAIR = re.compile(r"[0-9]{2,4}-[0-9]{4,24}")


@_clean  # only ASCII digits and "-" pass; spaces (no other whitespace) are dropped
def bank_numbers(value: str) -> str:
    """``bankcode-account`` pairs separated by commas; spaces around commas are dropped."""
    pairs = [pair.strip(" ") for pair in value.split(",")]
    if not pairs or any(_BANK_PAIR.fullmatch(pair) is None for pair in pairs):
        raise Invalid("bank_number_format", "bankcode-account pairs like 808-0368988888888")
    return ",".join(pairs)


@_clean  # only ASCII digits pass; spaces and dashes (no other characters) are dropped
def cambodia_mobile(value: str) -> str:
    """8-9 national digits; a leading ``0`` or a ``+855``/``855`` prefix is removed (SPEC §4)."""
    digits = value.replace(" ", "").replace("-", "")
    if digits.startswith("+855"):
        digits = digits[4:]
    elif digits.startswith("855") and len(digits) - 3 >= 8:
        digits = digits[3:]
    if digits.startswith("0"):
        digits = digits[1:]
    # [1-9][0-9]{7,8} in str methods (isdigit on ASCII text is [0-9]).
    if not (
        8 <= len(digits) <= 9 and digits.isascii() and digits.isdigit() and digits[0] != "0"
    ):
        raise Invalid("mobile_format", "8 or 9 digits without the country code")
    return digits


def only_with(field: str, other: str) -> Condition:
    """``field`` may only be sent together with ``other`` (rule ``requires_<other>``)."""

    def condition(fields: Mapping[str, Any]) -> Iterable[Violation]:
        if field in fields and other not in fields:
            return [Violation(field, f"requires_{other}", f"only valid with {other}")]
        return ()

    named = _named(condition, f"only_with({field}, {other})")
    _refuses(named, "ARG[0] in seen and ARG[1] not in seen", (field, other))
    return _reads(named, field, other)


def required_when(field: str, when: str, value: str) -> Condition:
    """``field`` must be present when ``when`` equals ``value``."""

    def condition(fields: Mapping[str, Any]) -> Iterable[Violation]:
        if fields.get(when) == value and field not in fields:
            return [Violation(field, "required", f"required when {when} is {value}")]
        return ()

    named = _named(condition, f"required_when({field}, {when}={value})")
    _refuses(named, "seen.get(ARG[0]) == ARG[1] and ARG[2] not in seen", (when, value, field))
    return _reads(named, field, when)


# For the exactness test only (its result is compared, never sent): independent of the
# caller's decimal context, which could trap Inexact or have a tiny precision.
_COMPARE = Context(prec=64, rounding=ROUND_DOWN, traps=[])
_ZERO = Decimal(0)


@attrs.frozen
class AmountRule:
    """How an amount is checked and written.

    ``decimals``: the places the currency has; an amount with more is refused, never rounded.
    Amounts with places are written with exactly ``decimals`` of them (``"12.50"``).
    ``max_digits``: digits before the decimal point (15 by default: every such integer is
    exact even where the gateway reads the amount as a double). ``as_number``: a whole amount
    goes out as a JSON number rather than text.
    """

    decimals: int = 0
    minimum: Decimal | int | None = None
    as_number: bool = False
    max_digits: int = 15
    _limit: int = attrs.field(init=False, repr=False, eq=False)
    _unit: Decimal = attrs.field(init=False, repr=False, eq=False)

    @_limit.default
    def _limit_default(self) -> int:
        return int(10**self.max_digits)

    @_unit.default
    def _unit_default(self) -> Decimal:
        return Decimal(1).scaleb(-self.decimals)

    def violations(self, amount: object, field: str = "amount") -> list[Violation]:
        """Every rule ``amount`` breaks (an empty list when it is fine). Exact: no rounding."""
        kind = type(amount)
        if kind is int:  # the usual case, whole units: only the bounds can be wrong
            is_decimal = False
        elif kind is Decimal:
            is_decimal = True
        elif isinstance(amount, int | Decimal) and not isinstance(amount, bool):
            is_decimal = isinstance(amount, Decimal)
        else:
            return [Violation(field, "not_a_number", "int or Decimal")]
        money: int | Decimal = amount  # type: ignore[assignment]
        if is_decimal and not money.is_finite():  # type: ignore[union-attr]
            return [Violation(field, "not_a_number", "a finite number")]
        if money <= (_ZERO if is_decimal else 0):
            return [Violation(field, "not_positive", "must be greater than 0")]
        found: list[Violation] = []
        if self.minimum is not None and money < self.minimum:
            found.append(Violation(field, "below_minimum", f"at least {self.minimum}"))
        if not is_decimal:
            if money >= self._limit:
                found.append(Violation(field, "too_large", self._too_large_hint))
            return found
        assert isinstance(money, Decimal)
        # Magnitude first, from the exponent alone: 1E+999999999 must never become an int.
        if money.adjusted() >= self.max_digits:
            found.append(Violation(field, "too_large", self._too_large_hint))
        elif money != money.quantize(self._unit, None, _COMPARE):
            # The quantize is exact here (at most max_digits + decimals digits) and so is
            # the comparison: 0.99999999999999999999999999999 is refused, never sent as 1.
            rule = "not_whole" if self.decimals == 0 else "too_many_decimals"
            hint = "whole units only" if self.decimals == 0 else f"at most {self.decimals} decimals"
            found.append(Violation(field, rule, hint))
        return found

    @property
    def _too_large_hint(self) -> str:
        return f"at most {self.max_digits} digits before the decimal point"

    def render(self, amount: int | Decimal) -> int | str:
        """The amount as sent (after ``violations`` found nothing): an exact integer, or text
        with exactly ``decimals`` places and no exponent."""
        if type(amount) is int or self.decimals == 0:
            whole = amount if type(amount) is int else int(amount)
            if self.as_number:
                return whole
            return str(whole) if self.decimals == 0 else f"{whole}.{'0' * self.decimals}"
        assert isinstance(amount, Decimal)
        if self.as_number and amount == amount.to_integral_value(None, _COMPARE):
            return int(amount)
        # A JSON number with a fraction could be re-formatted by the gateway (SPEC §3): an
        # amount with places is always text. Quantized to -decimals, str() has no exponent
        # while decimals <= 6 (and is much faster than format()).
        exact = amount.quantize(self._unit, None, _COMPARE)
        return str(exact) if self.decimals <= 6 else format(exact, "f")


def refuse_with_the_rest(refused: list[Violation], check_rest: Callable[[], object]) -> NoReturn:
    """Raise one ``ValidationError``: the ``extra`` keys ``refused`` and every violation of
    the request without them (``check_rest``), so nothing is hidden behind the first."""
    found = list(refused)
    try:
        check_rest()
    except ValidationError as exc:
        found.extend(exc.violations)
    raise ValidationError(found)
