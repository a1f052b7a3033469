"""Reading answers: the fast paths agree exactly with the straightforward ones they replace.

``decode_envelope`` has a fast path for the usual answer and ``structure_response`` a
generated reader per response class and aliases. Each is compared, over generated inputs,
with a reference kept here: the previous implementation (the general cattrs hook over
``_with_aliases`` for structuring). Same values (types and reprs included), same raw
mapping, same errors (type, message, attributes), for every input.

CI runs 500 examples per property (CI=true); a local run 150.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any
from unittest import mock

import attrs
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from vexora_async import envelope as envelope_module, wire
from vexora_async.call import Envelope
from vexora_async.envelope import (
    _host_of,
    _with_response,
    clean_gateway_text,
    decode_envelope,
    parse_retry_after,
)
from vexora_async.errors import HTTPStatusError, MalformedResponse, UnexpectedRedirect
from vexora_async.models import PaymentLink, PaymentState, TradeStatus
from vexora_async.payout_models import Balance, Payout, PayoutState
from vexora_async.regions import registry
from vexora_async.transports.base import HttpResponse
from vexora_async.wire import structure_response

EXAMPLES = 500 if os.environ.get("CI") else 150
PROPERTY = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
CLASSES = (PaymentLink, PaymentState, Payout, PayoutState, Balance)


# -- The references: the implementations before the fast paths ---------------------------


def reference_decode(response: HttpResponse) -> Envelope:
    status = response.status
    if 300 <= status < 400:
        location = response.headers.get("location")
        raise _with_response(
            UnexpectedRedirect(status, location_host=_host_of(location)), response
        )
    if status >= 500 or status in (408, 429):  # never the gateway's verdict, whatever the body
        raise _with_response(
            HTTPStatusError(
                status, retry_after=parse_retry_after(response.headers.get("retry-after"))
            ),
            response,
        )
    try:
        body = envelope_module.loads(response.body) if response.body else None
    except (ValueError, TypeError, RecursionError):
        body = None
    if type(body) is not dict or "code" not in body:
        if not 200 <= status < 300:
            raise _with_response(
                HTTPStatusError(
                    status, retry_after=parse_retry_after(response.headers.get("retry-after"))
                ),
                response,
            )
        what = "not JSON" if body is None else "not a gateway envelope"
        raise _with_response(MalformedResponse(f"response body is {what}", status=status), response)
    code = body["code"]
    if type(code) is not str:
        if isinstance(code, bool) or not isinstance(code, str | int):
            raise MalformedResponse("envelope 'code' is not a code", status=status)
        code = str(code)
    return Envelope(
        clean_gateway_text(code),
        clean_gateway_text(body.get("msg")),
        body.get("data"),
        status,
        response.headers,
        body,
    )


def reference_structure(
    data: object, cls: type[Any], what: str, aliases: Mapping[str, Any] | None = None
) -> Any:
    if type(data) is not dict and not isinstance(data, Mapping):
        raise MalformedResponse(f"{what}: 'data' is not an object")
    hook = wire.converter.get_structure_hook(cls)
    try:
        return hook(wire._with_aliases(data, wire._ALIASES if aliases is None else aliases), cls)
    except MalformedResponse as exc:
        reason = str(exc)
    except Exception as exc:
        required = [a.name for a in attrs.fields(cls) if a.default is attrs.NOTHING]
        missing = [
            wire.wire_name(n) for n in required if data.get(wire.wire_name(n)) is None
        ]
        reason = f"missing {', '.join(missing)}" if missing else type(exc).__name__
    # Raised outside the handler: nothing caught (it may quote the data) is its context.
    raise MalformedResponse(f"{what}: {reason}")


# -- Comparing outcomes exactly ----------------------------------------------------------


def outcome(run: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return ("value", run())
    except Exception as exc:  # every error, compared in full below
        return ("error", exc)


def error_view(exc: BaseException) -> tuple[Any, ...]:
    return (
        type(exc),
        exc.args,
        str(exc),
        sorted((k, repr(v)) for k, v in vars(exc).items()),
        exc.__cause__,
        exc.__suppress_context__,
        exc.__context__ is None,
    )


def model_view(value: Any) -> tuple[Any, ...]:
    fields = attrs.fields(type(value))
    return (
        type(value),
        tuple((type(getattr(value, a.name)), repr(getattr(value, a.name))) for a in fields),
        type(value.raw),
        repr(value.raw),
        repr(value),
        hash(value),
        # a known status is the shared instance, an unknown one a fresh equal one
        value.status is type(value.status).of(value.status.code)
        if hasattr(value, "status")
        else None,
    )


def assert_same_structure(
    data: object, cls: type[Any], aliases: Mapping[str, Any] | None
) -> None:
    expected = outcome(lambda: reference_structure(data, cls, "answer", aliases))
    for _ in range(2):  # the first call generates the reader, the second reuses it
        got = outcome(lambda: structure_response(data, cls, "answer", aliases))
        assert got[0] == expected[0], (got, expected)
        if got[0] == "error":
            assert error_view(got[1]) == error_view(expected[1])
        else:
            assert model_view(got[1]) == model_view(expected[1])
            assert got[1] == expected[1]
            assert got[1].raw == expected[1].raw


def envelope_view(env: Envelope) -> tuple[Any, ...]:
    return (
        env.code,
        env.msg,
        type(env.data),
        repr(env.data),
        env.http_status,
        env.headers,
        type(env.raw),
        repr(env.raw),
        env.attempts,
        env.maybe_sent,
        repr(env),
    )


def assert_same_decode(response: HttpResponse) -> None:
    expected = outcome(lambda: reference_decode(response))
    got = outcome(lambda: decode_envelope(response))
    assert got[0] == expected[0], (got, expected)
    if got[0] == "error":
        assert error_view(got[1]) == error_view(expected[1])
    else:
        assert envelope_view(got[1]) == envelope_view(expected[1])
        assert got[1].headers is response.headers


# -- Inputs ------------------------------------------------------------------------------

# Every wire name and spelling the response models read, and some they do not.
NAMES = sorted(
    {wire.wire_name(a.name) for cls in CLASSES for a in attrs.fields(cls)}
    | {"paymentLink", "desc", "msg", "payInfo", "orderAmount", "availablAmount", "code"}
    | {"\x00raw", "", "extra"}
)
texts = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["0000", "0015", "0001", "0029", "00029", "Paying", "12.50", "1e3", " 7"]),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=8),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(),
    st.decimals(),
    texts,
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=2),
    st.dictionaries(st.sampled_from(NAMES), scalars, max_size=2),
)
some_data = st.dictionaries(st.one_of(st.sampled_from(NAMES), st.text(max_size=4)), values)


def _good(cls: type[Any]) -> st.SearchStrategy[dict[str, Any]]:
    # Answers that mostly read: every field of cls under a random spelling, plausible values.
    amounts = st.one_of(
        st.integers(0, 10**12), st.decimals(places=2, allow_nan=False), st.just("150000.00")
    )
    parts: dict[str, st.SearchStrategy[Any]] = {}
    for a in attrs.fields(cls):
        if a.name == "raw":
            continue
        name = wire.wire_name(a.name)
        if a.type in (Decimal, Decimal | None):
            parts[name] = amounts
        else:
            parts[name] = texts
    optional = {
        k: v for k, v in [("desc", texts), ("paymentLink", texts), ("payInfo", texts)]
    }
    return st.fixed_dictionaries(parts, optional=optional)


alias_maps = st.one_of(
    st.none(),
    st.sampled_from([registry.get(name).response.aliases for name in registry.names()]),
    # chains and odd orders: one name's result is another's spelling
    st.dictionaries(
        st.sampled_from(NAMES), st.lists(st.sampled_from(NAMES), max_size=3).map(tuple)
    ).flatmap(lambda m: st.sampled_from([m, MappingProxyType(m)])),
)


GOOD = {cls: _good(cls) for cls in CLASSES}
answers = st.sampled_from(CLASSES).flatmap(
    lambda cls: st.tuples(st.just(cls), st.one_of(GOOD[cls], some_data))
)


@PROPERTY
@given(answers, alias_maps)
def test_structure_agrees_with_the_general_path(
    answer: tuple[type[Any], dict[str, Any]], aliases: Mapping[str, Any] | None
) -> None:
    assert_same_structure(answer[1], answer[0], aliases)


@PROPERTY
@given(
    st.sampled_from(CLASSES),
    st.one_of(
        st.none(),
        st.integers(),
        texts,
        st.lists(scalars, max_size=2),
        some_data.map(MappingProxyType),
    ),
    alias_maps,
)
def test_structure_agrees_for_what_is_not_a_dict(
    cls: type[Any], answer: object, aliases: Mapping[str, Any] | None
) -> None:
    assert_same_structure(answer, cls, aliases)


def test_odd_aliases_fail_as_before() -> None:
    answer = {"tradeNo": "T1", "status": "0000"}
    for aliases in ({"message": None}, {"message": (["desc"],)}, {"amount": "orderAmount"}):
        assert_same_structure(answer, PaymentState, aliases)  # type: ignore[arg-type]


def test_a_read_model_is_the_real_frozen_class() -> None:
    aliases = registry.get("IDR").response.aliases
    answer = {"tradeNo": "T1", "platFormTradeNo": "P1", "status": "0015", "paymentLink": "u"}
    link = structure_response(answer, PaymentLink, "answer", aliases)
    assert type(link) is PaymentLink
    assert link.payment_url == "u" and link.status is TradeStatus.of("0015")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        link.trade_no = "T2"  # type: ignore[misc]
    built = PaymentLink("T1", "P1", TradeStatus.of("0015"), "u", raw=link.raw)
    assert link == built and hash(link) == hash(built) and repr(link) == repr(built)
    assert attrs.evolve(link, remark="r").remark == "r"
    # raw is a read-only view of the decoded answer, not a copy
    assert type(link.raw) is MappingProxyType
    answer["later"] = "x"
    assert link.raw["later"] == "x"


# -- decode_envelope ---------------------------------------------------------------------

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), texts),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(NAMES), inner, max_size=3)
    ),
    max_leaves=8,
)
msgs = st.one_of(
    st.none(),
    st.integers(),
    texts,
    st.text(min_size=195, max_size=210),  # around the length cap
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=199, max_size=202),
    st.sampled_from(["success", "ok\r\n", "a\x1b[31m", "\u202eevil", "x" * 200, "x" * 201]),
)
codes = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), texts, st.lists(texts))


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["usual", "usual", "envelope", "json", "junk", "empty", "numbers"]))
    if kind == "junk":
        return draw(st.binary(max_size=40))
    if kind == "empty":
        return b""
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    env: dict[str, Any] = {}
    if kind == "usual":  # the fast path's case and its edges: text code and msg, data
        env["code"] = draw(st.one_of(st.sampled_from(["0000", "1001", "9999"]), texts))
        env["msg"] = draw(msgs.filter(lambda m: type(m) is str))
        env["data"] = draw(GOOD[draw(st.sampled_from(CLASSES))])
        return json.dumps(env, default=str, ensure_ascii=draw(st.booleans())).encode()
    if draw(st.booleans()) or kind == "numbers":
        env["code"] = draw(codes)
    if draw(st.booleans()):
        env["msg"] = draw(msgs)
    if draw(st.booleans()):
        env["data"] = draw(st.one_of(json_values, GOOD[draw(st.sampled_from(CLASSES))]))
    text = json.dumps(env, default=str, ensure_ascii=draw(st.booleans()))
    if kind == "numbers":  # amounts written as the gateway may: 150000.00, 1E+3, -0
        text = text[:-1] + f', "amount": {draw(st.sampled_from(["150000.00", "1E+3", "-0"]))}}}'
    return text.encode()


headers = st.fixed_dictionaries(
    {},
    optional={
        "retry-after": st.one_of(
            st.sampled_from(["", "0", "3", "-5", "1.5", "nan", "inf", "soon"]),
            st.just("Wed, 21 Oct 2015 07:28:00 GMT"),  # in the past: 0.0, not clock-bound
        ),
        "location": st.sampled_from(["", "https://evil.example/x?mobile=1", "/rel", "http://[::1"]),
    },
)
statuses = st.one_of(
    st.sampled_from([200, 201, 204, 299, 301, 302, 399, 400, 429, 500, 503]),
    st.integers(100, 599),
)


@PROPERTY
@given(statuses, headers, bodies())
def test_decode_agrees_with_the_previous_implementation(
    status: int, headers: dict[str, str], body: bytes
) -> None:
    assert_same_decode(HttpResponse(status, headers, body))


@PROPERTY
@given(statuses, headers, bodies())
def test_decode_agrees_with_the_standard_library_json(
    status: int, headers: dict[str, str], body: bytes
) -> None:
    with mock.patch.object(envelope_module, "loads", wire._std_loads):
        assert_same_decode(HttpResponse(status, headers, body))


def test_the_usual_answer_takes_the_fast_path_and_reads_the_same() -> None:
    body = (
        b'{"msg":"success","code":"0000","data":{"tradeNo":"T1","platFormTradeNo":"P1",'
        b'"status":"0015","desc":"Paying","paymentUrl":"u","amount":150000.00}}'
    )
    assert_same_decode(HttpResponse(200, {}, body))
    env = decode_envelope(HttpResponse(200, {}, body))
    assert (env.code, env.msg, env.http_status) == ("0000", "success", 200)
    assert env.raw["data"] is env.data


@pytest.mark.parametrize("text", ["x" * 200, "x" * 201, "\u00e9" * 201, "a\tb", "", "\u2028"])
@pytest.mark.parametrize("where", ["code", "msg"])
def test_the_fast_path_edges(text: str, where: str) -> None:
    fields = {"code": "0000", "msg": "ok", where: text, "data": None}
    assert_same_decode(HttpResponse(200, {}, json.dumps(fields).encode()))
