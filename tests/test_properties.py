"""Property tests (hypothesis): signing, validation and parsing never misbehave.

CI runs 500 examples per property (CI=true); a local run 100.
"""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from vexora_async import (
    CheckoutRequest,
    PaymentLink,
    ValidationError,
    VexoraError,
    parse_notification,
)
from vexora_async.codes import DEFAULT_CODES
from vexora_async.envelope import decode_envelope, refusal
from vexora_async.errors import AmbiguousNotification, UnknownNotificationKey
from vexora_async.models import PaymentState
from vexora_async.notify import PAYMENT_KEYS
from vexora_async.regions import BUILT_IN, registry
from vexora_async.signing import canonical_string, recut_key, sign, verify
from vexora_async.transports.base import HttpResponse
from vexora_async.wire import structure_response

EXAMPLES = 500 if os.environ.get("CI") else 100
PROPERTY = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

keys = st.text(min_size=1, max_size=12)
values = st.one_of(st.text(max_size=20), st.integers(), st.none())
field_dicts = st.dictionaries(keys.filter(lambda k: k != "sign"), values, max_size=12)
secrets = st.text(min_size=1, max_size=24)


@PROPERTY
@given(field_dicts, secrets, st.randoms(use_true_random=False))
def test_signing_ignores_key_order(fields: dict[str, Any], secret: str, rnd: Any) -> None:
    items = list(fields.items())
    rnd.shuffle(items)
    assert sign(dict(items), secret) == sign(fields, secret)


@PROPERTY
@given(field_dicts, secrets)
def test_signing_drops_exactly_the_empty_values(fields: dict[str, Any], secret: str) -> None:
    kept = {k: v for k, v in fields.items() if v is not None and v != ""}
    assert sign(fields, secret) == sign(kept, secret)
    text = canonical_string(fields)
    for key, value in kept.items():
        assert f"{key}={value}" in text


@PROPERTY
@given(field_dicts, secrets)
def test_verify_accepts_what_sign_produced(fields: dict[str, Any], secret: str) -> None:
    assert verify({**fields, "sign": sign(fields, secret)}, secret)


@PROPERTY
@given(field_dicts.filter(bool), secrets, st.data())
def test_changing_any_one_field_breaks_verification(
    fields: dict[str, Any], secret: str, data: st.DataObject
) -> None:
    signed = {**fields, "sign": sign(fields, secret)}
    key = data.draw(st.sampled_from(sorted(fields)))
    before = "" if fields[key] is None else str(fields[key])
    after = data.draw(st.text(min_size=1, max_size=20).filter(lambda v: v != before))
    signed[key] = after
    assert not verify(signed, secret)


anything = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.integers(),
    st.floats(allow_nan=True),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.decimals(allow_nan=True, allow_infinity=True),
)
request_fields = st.fixed_dictionaries(
    {
        "trade_no": anything,
        "amount": anything,
        "notify_url": anything,
        "return_url": anything,
        "mobile": anything,
        "email": anything,
        "username": anything,
        "firstname": anything,
        "lastname": anything,
        "channel_code": anything,
        "way_code": anything,
        "ip_address": anything,
        "postcode": anything,
        "address": anything,
        "bank_number": anything,
        "remark": anything,
        "extra": st.dictionaries(st.text(max_size=8), anything, max_size=3),
    }
)


request_fields_names = [a.name for a in attrs.fields(CheckoutRequest) if a.name != "extra"]


@PROPERTY
@given(request_fields, st.sampled_from(sorted(registry.names())))
def test_validators_raise_only_validation_errors(fields: dict[str, Any], region: str) -> None:
    try:
        request = CheckoutRequest(**fields)
        wire = registry.get(region).prepare(request)
    except ValidationError as exc:
        assert exc.violations  # a ValidationError always says what is wrong
        return
    assert isinstance(wire, dict) and "amount" in wire


json_values = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.text(max_size=10), st.floats(allow_nan=False)
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
envelopes = st.fixed_dictionaries(
    {"code": st.one_of(st.sampled_from(["0000", "5000", "8000"]), json_values)},
    optional={
        "msg": json_values,
        "data": st.one_of(
            json_values,
            st.fixed_dictionaries(
                {},
                optional={
                    name: json_values
                    for name in (
                        "tradeNo",
                        "platFormTradeNo",
                        "status",
                        "paymentUrl",
                        "paymentLink",
                        "amount",
                        "payAmount",
                        "desc",
                    )
                },
            ),
        ),
    },
)


def _parse(status: int, body: bytes) -> None:
    try:
        envelope = decode_envelope(HttpResponse(status, {}, body))
        aliases = registry.get("KHR").response.aliases
        structure_response(envelope.data, PaymentLink, "checkout response", aliases)
    except VexoraError:
        pass
    try:
        envelope = decode_envelope(HttpResponse(status, {}, body))
        if envelope.code != DEFAULT_CODES.accepted:
            raise refusal(envelope, DEFAULT_CODES, "T1")
        structure_response(envelope.data, PaymentState, "query response")
    except VexoraError:
        pass


@PROPERTY
@given(st.sampled_from([200, 400, 500]), st.one_of(json_values, envelopes))
def test_the_parser_raises_only_typed_errors_for_any_json(status: int, value: Any) -> None:
    _parse(status, json.dumps(value).encode())


@PROPERTY
@given(st.sampled_from([200, 502]), st.binary(max_size=64))
def test_the_parser_raises_only_typed_errors_for_any_bytes(status: int, body: bytes) -> None:
    _parse(status, body)


@PROPERTY
@given(st.one_of(st.binary(max_size=80), json_values.map(lambda v: json.dumps(v).encode())))
def test_notification_parsing_raises_only_typed_errors(body: bytes) -> None:
    with contextlib.suppress(VexoraError):
        parse_notification(body, "TESTSECRET")


@PROPERTY
@given(field_dicts, secrets)
def test_a_signed_notification_round_trips(fields: dict[str, Any], secret: str) -> None:
    # Any keys, once allowed with extra_keys (a key cannot hold '=').
    extra = {k for k, v in fields.items() if v is not None and "=" not in k}
    extra -= {"timestamp", "successTime"}  # documented keys with a format of their own
    body = {**{k: fields[k] for k in extra}, "tradeNo": "T1", "status": "0000"}
    body["amount"] = "10000.50"
    body["sign"] = sign(body, secret)
    raw = json.dumps(body).encode()
    if set(body) - PAYMENT_KEYS:
        with pytest.raises(UnknownNotificationKey):
            parse_notification(raw, secret)
    if recut_key(body, PAYMENT_KEYS | extra) is not None:
        # A value holds "key=" of a later allowed key: the sign would fit another body too.
        with pytest.raises(AmbiguousNotification):
            parse_notification(raw, secret, extra_keys=extra)
        return
    notification = parse_notification(raw, secret, extra_keys=extra)
    assert notification.trade_no == "T1" and str(notification.amount) == "10000.50"


@PROPERTY
@given(
    st.sampled_from(sorted(p.name for p in BUILT_IN)),
    st.dictionaries(st.sampled_from(sorted(request_fields_names)), anything, max_size=3),
)
def test_what_prepare_sends_the_gateway_side_accepts_unchanged(
    region: str, changes: dict[str, Any]
) -> None:
    # Public behaviour only: the client's rules (prepare) and the gateway side's
    # (check_fields, what the sandbox applies) agree, and normalising is idempotent.
    # Starting from the profile's valid sample, a few fields at a time go wrong.
    profile = registry.get(region)
    assert profile.sample is not None
    try:
        wire = profile.prepare(attrs.evolve(profile.sample, **changes))
    except ValidationError as exc:
        assert exc.violations
        return
    assert profile.check_fields(wire) == wire
