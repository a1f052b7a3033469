"""The fast signing path (generated per-shape plans, CPython's MD5) equals SPEC §3 written out.

``reference_*`` below is the rule as SPEC §3 states it, with the SDK's text rules for JSON
values (bool, int, Decimal, float) and its errors; nothing in it is shared with the module.
Every dict is signed several times, in fresh copies with equal but distinct key objects, in
other insertion orders and between dicts of other shapes of the same size, so each example
reaches the plan that was made for it, the one made for another dict, and the plain path.
"""

from __future__ import annotations

import hashlib
import os
from decimal import Decimal
from types import FrameType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from vexora_async import signing
from vexora_async.errors import ConfigurationError, ValidationError, Violation
from vexora_async.signing import canonical_string, sign, verify

from .test_signing import VECTOR_1, VECTOR_2

EXAMPLES = 500 if os.environ.get("CI") else 150
PROPERTY = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


# -- the reference --------------------------------------------------------------------------


def reference_text(value: object) -> str:
    """A JSON value's text as sent (SPEC §3 step 4, and the Decision under the vectors): a
    subclass of str or int as JSON writes it (its content), not as its own methods would."""
    if isinstance(value, str):
        return "".join(value)  # (the characters, not the subclass's __str__ or __format__)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return repr(value)
    return str(value)


def reference_canonical(fields: dict[Any, Any]) -> str:
    """Steps 1-4. Every non-null value is turned into text first (the sign's too, as the SDK
    always did), so a value that has no text fails even where it would be left out."""
    pairs = []
    for key in sorted(fields):
        if fields[key] is None:
            continue
        text = reference_text(fields[key])
        if text != "" and key != "sign":
            name = reference_text(key) if isinstance(key, str | int) else f"{key}"
            pairs.append(f"{name}={text}")
    return "".join(pairs)


def _reference_bytes(fields: dict[Any, Any]) -> bytes | None:
    try:
        return reference_canonical(fields).encode("utf-8")
    except Exception:
        return None


def reference_sign(fields: dict[Any, Any], secret: object) -> str | Exception:
    """Steps 5-6, or the error the SDK raises (bad fields first, then a bad secret)."""
    payload = _reference_bytes(fields)
    if payload is None:
        found = [
            Violation(
                key if isinstance(key, str) and key.isprintable() and key.isascii() else "<key>",
                "not_signable",
                "text must be valid Unicode (no lone surrogates)",
            )
            for key in fields
            if _reference_bytes({key: fields[key]}) is None
        ]
        return ValidationError(
            found or [Violation("<fields>", "not_signable", "the fields cannot be signed")]
        )
    if isinstance(secret, str):
        try:
            secret = secret.encode("utf-8")
        except UnicodeEncodeError:
            return ConfigurationError("bad secret")
    if not isinstance(secret, bytes):
        return ConfigurationError("bad secret")
    return hashlib.md5(payload + secret).hexdigest()


# -- inputs of every kind ---------------------------------------------------------------------


class Tagged(str):
    """A str subclass that formats otherwise than its content: signed as its content."""

    def __format__(self, spec: str) -> str:
        return "tagged"


class Counted(int):
    def __str__(self) -> str:
        return "counted"


class Blank:
    """An object whose text is empty: left out, although the object itself is truthy."""

    def __str__(self) -> str:
        return ""


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no text")


any_text = st.text(st.characters(blacklist_categories=()), max_size=12)
plain_key = st.sampled_from(
    ["amount", "tradeNo", "timestamp", "sign", "notifyUrl", "a", "B", "b", "a_1", "x%s", "{v0}"]
)
str_keys = st.one_of(plain_key, any_text)
values = st.one_of(
    st.text(max_size=12).filter(bool),  # the common case: non-empty text
    st.text(max_size=12).filter(bool),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.sampled_from([0, None, "", True, False, Blank(), Unprintable()]),
    st.builds(pow, st.just(10), st.just(5000)),  # no text: past int's digit limit
    any_text,
    st.decimals(allow_nan=True, allow_infinity=True),
    st.floats(allow_nan=True),
    st.builds(Tagged, st.text(max_size=4)),
    st.builds(Counted, st.integers()),
    st.binary(max_size=4),
    st.lists(st.integers(), max_size=2),
)
secrets = st.one_of(
    st.just("TESTSECRET"), any_text, st.binary(max_size=8), st.sampled_from([None, 5])
)


def _fresh(key: object) -> object:
    """An equal key that is a different object (as a JSON decoder hands out)."""
    return (key + "!")[:-1] if isinstance(key, str) else key


def _outcome(fields: dict[Any, Any], secret: object) -> str | tuple[type, object]:
    try:
        return sign(fields, secret)  # type: ignore[arg-type]
    except ValidationError as exc:
        return ValidationError, exc.violations
    except ConfigurationError:
        return ConfigurationError, None


def _expected(fields: dict[Any, Any], secret: object) -> str | tuple[type, object]:
    result = reference_sign(fields, secret)
    if isinstance(result, ValidationError):
        return ValidationError, result.violations
    if isinstance(result, ConfigurationError):
        return ConfigurationError, None
    return result


def _canonical_outcome(fields: dict[Any, Any], reference: bool) -> str | type:
    try:
        return reference_canonical(fields) if reference else canonical_string(fields)
    except Exception as exc:
        return type(exc)


def _check(fields: dict[Any, Any], secret: object) -> None:
    shown = {k: type(v) for k, v in fields.items()}  # repr() of a huge int fails
    assert _outcome(fields, secret) == _expected(fields, secret), shown
    assert _canonical_outcome(fields, False) == _canonical_outcome(fields, True), shown


# Values a plan takes (text, empty text, None, int), to reach the plans' every branch.
plannable = st.one_of(
    st.text(max_size=6), any_text, st.none(), st.integers(-(10**6), 10**6), st.just("")
)


@st.composite
def shapes(
    draw: st.DrawFn, keys: st.SearchStrategy[Any] = str_keys, of: st.SearchStrategy[Any] = values
) -> list[dict[Any, Any]]:
    """Dicts of one key set: the same types mostly, now and then another value."""
    names = draw(st.lists(keys, min_size=1, max_size=10, unique=True))
    first = {name: draw(of) for name in names}
    out = [first]
    for _ in range(draw(st.integers(0, 4))):
        out.append({n: draw(st.one_of(st.just(v), of, values)) for n, v in first.items()})
    return out


@PROPERTY
@given(st.lists(shapes(), min_size=1, max_size=4), secrets, st.randoms())
def test_sign_and_canonical_string_equal_the_reference(
    groups: list[list[dict[str, Any]]], secret: object, rnd: Any
) -> None:
    for _ in range(2):  # the second round finds every plan made in the first
        for group in groups:
            for fields in group:
                _check(fields, secret)
                _check({_fresh(k): v for k, v in fields.items()}, secret)
                items = list(fields.items())
                rnd.shuffle(items)
                _check(dict(items), secret)


@PROPERTY
@given(st.lists(shapes(of=plannable), min_size=1, max_size=4), secrets)
def test_dicts_a_plan_takes_equal_the_reference(
    groups: list[list[dict[str, Any]]], secret: object
) -> None:
    for _ in range(2):
        for group in groups:
            for fields in group:
                _check(fields, secret)
                _check({_fresh(k): v for k, v in fields.items()}, secret)


def test_a_plan_takes_no_value_where_it_planned_none() -> None:
    planned = {"tradeNo": "T1", "remark": None, "amount": 5, "sign": None}
    for _ in range(3):
        _check(planned, "S")
    for other in ("x", "", 0, True, Decimal("1"), 1.5):
        _check({**planned, "remark": other}, "S")
        _check({**planned, "sign": other}, "S")


@PROPERTY
@given(st.lists(shapes(st.one_of(st.integers(-5, 5), plain_key)), min_size=1, max_size=3))
def test_keys_that_are_not_text_get_the_same_answer(groups: list[list[dict[Any, Any]]]) -> None:
    for group in groups * 2:
        for fields in group:
            _check(fields, "TESTSECRET")


@PROPERTY
@given(st.lists(st.sampled_from(["amount", "tradeNo", "remark", "sign"]), unique=True), values)
def test_a_key_that_equals_a_planned_one_but_formats_otherwise(keys: list[str], value: Any) -> None:
    planned = dict.fromkeys(keys, "x") | {"timestamp": "1"}
    _check(planned, "S")
    _check(planned, "S")
    odd = {Tagged(k): v for k, v in planned.items()} | {"timestamp": value}
    _check(odd, "S")
    assert canonical_string(planned) == reference_canonical(planned)


def test_many_shapes_keep_the_cache_bounded_and_right() -> None:
    for n in range(3 * signing._MAX_PLANS):
        fields = {f"k{n}": "v", "amount": n, "timestamp": "1"}
        _check(fields, "S")
        _check(dict(fields), "S")
    assert len(signing._PLANS) <= signing._MAX_PLANS


# SPEC §3's vectors (the fields live once, in test_signing), with their text and sign.
VECTORS = [
    (VECTOR_1, "timestamp=1728613488294tradeNo=test_00000008", "3c6f09275273e5d61b959d6f47845ae9"),
    (
        VECTOR_2,
        "amount=10000channelCode=EWALLETemail=budi@gmail.commobile=081234567890"
        "notifyUrl=https://merchant.example/notifytimestamp=1715941383720"
        "tradeNo=T20240101000001username=BudiwayCode=DANA",
        "0ca7405572a7829a8268f4c59c2dbfae",
    ),
]


@pytest.mark.parametrize(("fields", "text", "digest"), VECTORS)
def test_spec_vectors_on_every_path(fields: dict[str, Any], text: str, digest: str) -> None:
    no_empty = {k: v for k, v in fields.items() if v != ""}
    as_numbers = {k: int(v) if k in ("amount", "timestamp") else v for k, v in no_empty.items()}
    for variant in [fields, no_empty, as_numbers, {**no_empty, "sign": digest}] * 3:
        copy = {_fresh(k): v for k, v in variant.items()}
        for body in (variant, copy):
            assert canonical_string(body) == text
            assert sign(body, "TESTSECRET") == digest
    assert verify({**no_empty, "sign": digest}, "TESTSECRET")
    assert verify({**fields, "sign": digest}, "TESTSECRET")


def test_a_shape_seen_once_gets_no_code_and_a_recurring_one_does() -> None:
    once = {"tradeNo": "T1", "amount": 5, "oneOff": "x"}
    shape = (tuple(once), (str, int, str))
    signing._PLANS.clear()
    sign(once, "S")
    assert signing._PLANS.get(shape, "absent") is None  # remembered, no code
    sign(dict(once), "S")
    assert callable(signing._PLANS[shape])


@pytest.mark.parametrize("round_", range(3))
def test_an_unencodable_value_on_the_fast_path_leaves_nothing_in_frames(round_: int) -> None:
    secret = "SECRET-on-fast-path"
    payer = "PAYER-\ud800-x"
    fields = {"tradeNo": "T1", "amount": 5, "username": "Budi", "timestamp": "1"}
    sign(fields, secret), sign(dict(fields), secret)  # the shape has its plan now
    with pytest.raises(ValidationError) as info:
        sign({**fields, "username": payer}, secret)
    assert info.value.violations == (
        Violation("username", "not_signable", "text must be valid Unicode (no lone surrogates)"),
    )
    exc: BaseException | None = info.value
    assert exc.__context__ is None and exc.__cause__ is None
    for frame in _signing_frames(info.value):
        for name, value in frame.f_locals.items():
            shown = repr(value)
            assert secret not in shown and secret.encode() not in shown.encode(), name
            assert "PAYER" not in shown, name


def test_an_unusable_secret_leaves_no_payer_data_in_frames() -> None:
    # The secret fails (a lone surrogate cannot be UTF-8): the canonical string built from
    # the payer's fields must not stay in the frame's locals either.
    fields = {"tradeNo": "T1", "amount": 5, "username": "PAYER-Budi", "timestamp": "1"}
    with pytest.raises(ConfigurationError) as info:
        sign(fields, "SECRET-\ud800")
    for frame in _signing_frames(info.value):
        for name, value in frame.f_locals.items():
            assert "PAYER" not in repr(value), name
            assert "SECRET" not in repr(value), name


def _signing_frames(error: BaseException) -> list[FrameType]:
    """The frames of signing.py the error passed through (below the test's own, which holds
    everything, of course)."""
    tb, frames = error.__traceback__, []
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith("signing.py"):
            frames.append(tb.tb_frame)
        tb = tb.tb_next
    assert frames
    return frames
