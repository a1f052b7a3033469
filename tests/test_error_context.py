"""Errors say where and what (operation, path, HTTP status, gateway code and msg, a redacted
response), and nothing of the payer: unit tests of the HTTP handling with aioresponses, and a
property test of the redaction over any data a gateway could echo."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aioresponses import aioresponses
from hypothesis import given, settings, strategies as st

from vexora_async import (
    APIError,
    MalformedResponse,
    OrderExists,
    OrderNotFound,
    OrderRejected,
    OutcomeUnknown,
    ResponseInfo,
    VexoraClient,
)
from vexora_async.call import Envelope
from vexora_async.errors import AuthenticationError
from vexora_async.responses import SAFE_DATA_KEYS
from vexora_async.retry import RetryPolicy

from . import seed_examples as seeds
from .helpers import MERCHANT, SECRET, link_data, request_from_wire

BASE = "https://sandbox-api.vexora.tech/indonesia"
CHECKOUT = BASE + "/v1/vexora/checkout"
QUERY = BASE + "/v1/vexora/queryPayInResult"
SINGLE = RetryPolicy(attempts=1, settle_queries=1)
TRADE = seeds.IDR_REQUEST["tradeNo"]
# What a careless gateway might echo back: none of it may reach an error.
PAYER = {
    "mobile": "081234567890",
    "email": "budi@example.com",
    "username": "Budi Santoso",
    "ipAddress": "203.0.113.7",
    "bankNumber": "808-0368988888888",
}


def _envelope(code: str, data: Any = None, msg: str = "m") -> dict[str, Any]:
    return {"code": code, "msg": msg, "data": data, "traceId": "tr-1"}


@pytest.fixture
def mocked() -> Any:
    with aioresponses() as m:
        yield m


@pytest.fixture
async def client() -> AsyncIterator[VexoraClient]:
    async with VexoraClient(merchant_no=MERCHANT, secret=SECRET, base_url=BASE, retry=SINGLE) as c:
        yield c


def _assert_no_payer_data(error: BaseException) -> None:
    response = getattr(error, "response", None)
    texts = [str(error), repr(error), repr(error.args), repr(response)]
    if response is not None and response.body is not None:
        texts.append(json.dumps(dict(response.body)))
    for text in texts:
        for value in PAYER.values():
            assert value not in text


async def test_a_rejection_names_operation_path_status_code_and_msg(
    mocked: Any, client: VexoraClient
) -> None:
    mocked.post(
        CHECKOUT,
        payload=_envelope("9999", {"tradeNo": TRADE, **PAYER}, "amount too low"),
        headers={"X-Request-Id": "req-42", "Set-Cookie": "session=abc"},
    )
    mocked.post(QUERY, payload=_envelope("8000", None, "no such order"), repeat=True)
    with pytest.raises(OrderRejected) as caught:
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    error = caught.value
    assert (error.operation, error.path) == ("checkout", "/v1/vexora/checkout")
    assert (error.status, error.code, error.msg) == (200, "9999", "amount too low")
    assert error.attempts == 1 and error.maybe_sent is False
    assert isinstance(error.response, ResponseInfo)
    assert error.response.status == 200
    assert error.response.headers["x-request-id"] == "req-42"
    assert error.response.headers["set-cookie"] == "***"
    assert error.response.body == {
        "code": "9999",
        "msg": "amount too low",
        "traceId": "tr-1",
        "data": {"tradeNo": TRADE},
    }
    _assert_no_payer_data(error)


async def test_an_http_refusal_carries_its_status_and_headers(
    mocked: Any, client: VexoraClient
) -> None:
    mocked.post(CHECKOUT, status=403, body="<html>forbidden</html>", headers={"Server": "edge"})
    mocked.post(QUERY, payload=_envelope("8000"), repeat=True)
    with pytest.raises(OrderRejected) as caught:
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    error = caught.value
    assert error.status == 403 and error.code == "HTTP 403"
    assert error.response is not None and error.response.status == 403
    assert error.response.headers["server"] == "edge" and error.response.body is None
    assert (error.operation, error.path) == ("checkout", "/v1/vexora/checkout")


async def test_query_errors_name_the_query(mocked: Any, client: VexoraClient) -> None:
    mocked.post(QUERY, payload=_envelope("8000", {**PAYER}, "not found"))
    mocked.post(QUERY, payload=_envelope("7777", None, "busy"), status=200)
    mocked.post(QUERY, payload=_envelope("1001", None, "sign error"))
    mocked.post(QUERY, payload=_envelope("0000", {"tradeNo": TRADE}))  # no status: malformed
    for expected, code in (
        (OrderNotFound, "8000"),
        (APIError, "7777"),
        (AuthenticationError, "1001"),
        (MalformedResponse, "0000"),
    ):
        with pytest.raises(expected) as caught:
            await client.query_payment(TRADE)
        error = caught.value
        assert (error.operation, error.path) == ("query", "/v1/vexora/queryPayInResult")
        assert error.status == 200 and error.code == code
        assert error.response is not None and error.response.body is not None
        assert error.response.body["code"] == code
        _assert_no_payer_data(error)


async def test_outcome_unknown_and_order_exists_carry_the_last_create_answer(
    mocked: Any, client: VexoraClient
) -> None:
    mocked.post(CHECKOUT, payload=_envelope("5000", None, "system busy"))
    mocked.post(QUERY, payload=_envelope("7777", None, "throttled"))
    with pytest.raises(OutcomeUnknown) as unknown:
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    assert (unknown.value.operation, unknown.value.path) == ("checkout", "/v1/vexora/checkout")
    assert (unknown.value.code, unknown.value.msg, unknown.value.status) == (
        "5000",
        "system busy",
        200,
    )

    mocked.post(CHECKOUT, status=502, body="bad gateway")
    mocked.post(QUERY, payload=_envelope("0000", {"tradeNo": TRADE, "status": "0015", **PAYER}))
    with pytest.raises(OrderExists) as exists:
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    error = exists.value
    assert (error.operation, error.status, error.attempts) == ("checkout", 502, 1)
    assert error.response is not None and error.response.status == 502
    _assert_no_payer_data(error)


_text = st.text(min_size=1, max_size=30)
_values = st.one_of(_text, st.integers(), st.none(), st.lists(_text, max_size=2))


@settings(max_examples=200, deadline=None)
@given(
    data=st.dictionaries(st.sampled_from(sorted(SAFE_DATA_KEYS)) | _text, _values, max_size=8),
    secret_value=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789@.+", min_size=8),
)
def test_the_response_view_never_shows_data_outside_the_safe_keys(
    data: dict[str, Any], secret_value: str
) -> None:
    # The payer's value under any key that is not known to be safe, nested too.
    data = {**data, "payer": secret_value, "nested": {"mobile": secret_value}}
    envelope = Envelope("9999", "m", data, 400, {"Cookie": secret_value}, {"code": "9999",
                        "msg": "m", "data": data, "extra": {"email": secret_value}})  # fmt: skip
    view = ResponseInfo.of(envelope)
    assert view.body is not None
    shown = view.body["data"]
    assert set(shown) <= SAFE_DATA_KEYS
    assert secret_value not in repr(view) or any(
        secret_value in str(v) for k, v in data.items() if k in SAFE_DATA_KEYS
    )
    assert view.headers["cookie"] == "***"
    assert view.body["extra"] == "***"  # not the envelope's own key: never shown


async def test_a_successful_call_shows_its_raw_response(mocked: Any, client: VexoraClient) -> None:
    mocked.post(
        CHECKOUT,
        payload={"code": "0000", "msg": "success", "data": link_data(TRADE)},
        headers={"X-Request-Id": "req-7"},
    )
    raw = await client.with_raw_response.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    assert (raw.status, raw.code, raw.msg, raw.attempts) == (200, "0000", "success", 1)
    assert (raw.operation, raw.path) == ("checkout", "/v1/vexora/checkout")
    assert raw.headers["x-request-id"] == "req-7"
    assert raw.parse().payment_url.endswith(TRADE)


async def test_a_redirect_shows_its_host_but_not_its_url(
    mocked: Any, client: VexoraClient
) -> None:
    target = "https://elsewhere.example/steal?mobile=081234567890"
    mocked.post(CHECKOUT, status=302, headers={"Location": target})
    mocked.post(QUERY, payload=_envelope("8000"), repeat=True)
    with pytest.raises(OrderRejected) as caught:
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    error = caught.value
    assert error.status == 302 and error.response is not None
    assert error.response.headers["location"] == "***"
    assert "081234567890" not in repr(error.response) + str(error) + repr(error.__cause__)
