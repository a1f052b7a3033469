"""Hostile input, by hypothesis (issues 12 and 13).

- Any text in any text field of any profile: validation raises only ``ValidationError``, and
  what it lets through is clean, signable and accepted again unchanged by the gateway side.
- Signing forced on arbitrary text: whatever is raised carries neither the secret nor the
  payer's text, in its args, message, repr, cause, context or the locals of its frames.
- Values of any type in any field: only ``ValidationError``.

CI runs 500 examples per property (CI=true); a local run 100.
"""

from __future__ import annotations

import os
import types
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import attrs
from hypothesis import HealthCheck, given, settings, strategies as st

from vexora_async import CheckoutRequest, ValidationError
from vexora_async.call import ApiCall
from vexora_async.middleware import SigningMiddleware
from vexora_async.regions import BUILT_IN, registry
from vexora_async.rules import text_hygiene
from vexora_async.signing import sign
from vexora_async.wire import checkout_fields

EXAMPLES = 500 if os.environ.get("CI") else 100
PROPERTY = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

SECRET = "S3CRET-x9Q-never-shown"
PAYER = "PAYER-7f3"  # put in front of the generated text, to find it again
TEXT_FIELDS = [a.name for a in attrs.fields(CheckoutRequest) if a.name not in ("amount", "extra")]
PROFILES = sorted(p.name for p in BUILT_IN)

# Every code point, lone surrogates and control characters included.
any_text = st.text(st.characters(blacklist_categories=()), max_size=40)


def _with_text(region: str, field: str, text: str) -> CheckoutRequest:
    sample = registry.get(region).sample
    assert sample is not None
    return attrs.evolve(sample, **{field: text})


@PROPERTY
@given(st.sampled_from(PROFILES), st.sampled_from(TEXT_FIELDS), any_text)
def test_any_text_in_any_field_is_refused_or_sent_clean(region: str, field: str, text: str) -> None:
    profile = registry.get(region)
    try:
        wire = profile.prepare(_with_text(region, field, text))
    except ValidationError as exc:
        assert exc.violations
        str(exc).encode("utf-8")  # the message never holds what could not be encoded
        return
    for value in wire.values():
        if isinstance(value, str):
            assert text_hygiene(value) is None
            value.encode("utf-8")
    assert profile.check_fields(wire) == wire  # the gateway side accepts it as sent
    sign({**wire, "timestamp": "1715941383720"}, SECRET)


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        if exc.__cause__ is not None:
            yield from _chain(exc.__cause__)
        exc = exc.__context__


def _frames(exc: BaseException) -> Iterator[types.FrameType]:
    tb = exc.__traceback__
    while tb is not None:
        yield tb.tb_frame
        tb = tb.tb_next


def _leaks(exc: BaseException, payer: str) -> list[str]:
    """Where ``SECRET`` (anywhere) or the payer's text (in messages, and in the locals of
    the signing module's frames) can be found from ``exc``."""
    found = []
    for link in _chain(exc):
        texts = [str(link), repr(link), *(repr(a) for a in link.args)]
        for text in texts:
            if SECRET in text or SECRET.encode() in text.encode("utf-8", "backslashreplace"):
                found.append(f"secret in {type(link).__name__} text")
            if payer in text:
                found.append(f"payer text in {type(link).__name__} text")
        for frame in _frames(link):
            ours = frame.f_code.co_filename.endswith("signing.py")
            for name, value in frame.f_locals.items():
                shown = repr(value)
                if SECRET in shown or value in (SECRET, SECRET.encode()):
                    found.append(f"secret in local {name} of {frame.f_code.co_name}")
                if ours and payer in shown:
                    found.append(f"payer text in local {name} of {frame.f_code.co_name}")
    return found


@PROPERTY
@given(st.sampled_from(PROFILES), st.sampled_from(TEXT_FIELDS), any_text)
def test_forced_signing_never_leaks_the_secret(region: str, field: str, text: str) -> None:
    payer = PAYER + text
    # Skip validation: sign exactly what an unchecked request would render.
    fields = checkout_fields(_with_text(region, field, payer))
    fields["timestamp"] = "1715941383720"
    try:
        sign(fields, SECRET)
    except Exception as exc:
        assert isinstance(exc, ValidationError), type(exc)
        assert not _leaks(exc, PAYER)
    # The client's signing link, too: the same error, nothing more in it.
    link = SigningMiddleware("0000000001", SECRET)
    call = ApiCall("checkout", "/v1/vexora/checkout", fields, "T1", None)
    try:
        link(call, _never_called)
    except Exception as exc:
        assert isinstance(exc, ValidationError), type(exc)
        assert not _leaks(exc, PAYER)


def _never_called(call: ApiCall) -> Any:
    return None  # signing worked: nothing is sent in this test


# Values of every type a reader or a caller could produce.
weird_decimals = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.builds(
        lambda digits, exp: Decimal(f"{digits}E{exp}"),
        st.integers(min_value=-(10**40), max_value=10**40),
        st.integers(min_value=-999_999_999, max_value=999_999_999),
    ),
    st.sampled_from([Decimal("sNaN"), Decimal("-0"), Decimal("0.99999999999999999999999999999")]),
)
anything = st.one_of(
    st.none(),
    any_text,
    st.integers(),
    st.integers(min_value=2**60, max_value=2**70),
    st.sampled_from([10**5000, -(10**400), 2**64]),
    st.floats(allow_nan=True),
    st.booleans(),
    weird_decimals,
    st.text("0123456789.eE+-", max_size=30),
    st.sampled_from(["1e999999999", "\u0661\u0662\u0663", "NaN", "1_000", " 10000 "]),
    st.binary(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
request_values = st.fixed_dictionaries(
    {
        **{name: anything for name in TEXT_FIELDS},
        "amount": anything,
        "extra": st.one_of(
            st.dictionaries(
                st.one_of(any_text, st.sampled_from(["tradeNo", "sign"])), anything, max_size=3
            ),
            anything,
        ),
    }
)


@PROPERTY
@given(request_values, st.sampled_from(PROFILES))
def test_values_of_any_type_give_only_validation_errors(
    fields: dict[str, Any], region: str
) -> None:
    try:
        request = CheckoutRequest(**fields)
        wire = registry.get(region).prepare(request)
    except ValidationError as exc:
        assert exc.violations
        str(exc).encode("utf-8")
        return
    assert isinstance(wire, dict) and "amount" in wire
