"""The client's HTTP handling through the real aiohttp transport, with aioresponses.

Checks paths per profile, the merchantNo header, a sign that verifies, the error class for
each envelope code, and what malformed or non-JSON answers become.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aioresponses import aioresponses
from yarl import URL

from vexora_async import (
    APIError,
    ConnectError,
    ConnectionDropped,
    HTTPStatusError,
    MalformedResponse,
    OrderNotFound,
    OrderRejected,
    OutcomeUnknown,
    RequestTimeout,
    VexoraClient,
)
from vexora_async.errors import AuthenticationError
from vexora_async.retry import RetryPolicy
from vexora_async.signing import verify

from . import seed_examples as seeds
from .helpers import MERCHANT, SECRET, link_data, request_from_wire

BASE = "https://sandbox-api.vexora.tech/indonesia"
SINGLE = RetryPolicy(attempts=1, settle_queries=1)
QUERY_URL = BASE + "/v1/vexora/queryPayInResult"
EXAMPLES = {
    "IDR": seeds.IDR_REQUEST,
    "PAYPRO_IDR": seeds.IDR_REQUEST,
    "PHP": seeds.PHP_STORE_REQUEST,
    "KHR": seeds.CAMBODIA_REQUEST,
    "USD": seeds.CAMBODIA_REQUEST,
}
PATHS = {
    "IDR": ("/v1/vexora/checkout", "/v1/vexora/queryPayInResult"),
    "PAYPRO_IDR": ("/v1/paypro/paymentLink", "/v1/paypro/queryPayInResult"),
    "PHP": ("/v1/vexora/checkout", "/v1/vexora/queryPayInResult"),
    "KHR": ("/v1/vexora/checkout", "/v1/vexora/queryPayInResult"),
    "USD": ("/v1/vexora/checkout", "/v1/vexora/queryPayInResult"),
}


@pytest.fixture
def mocked() -> Any:
    with aioresponses() as m:
        yield m


@pytest.fixture
async def client() -> AsyncIterator[VexoraClient]:
    # One attempt and one settling query: these tests are about reading single answers.
    async with VexoraClient(merchant_no=MERCHANT, secret=SECRET, base_url=BASE, retry=SINGLE) as c:
        yield c


def _sent(mocked: Any, url: str) -> tuple[dict[str, str], dict[str, Any]]:
    call = mocked.requests[("POST", URL(url))][-1]
    return call.kwargs["headers"], json.loads(call.kwargs["data"])


def _envelope(code: str = "0000", data: Any = None, msg: str = "success") -> dict[str, Any]:
    return {"msg": msg, "code": code, "timestamp": 1728609277476, "success": True, "data": data}


@pytest.mark.parametrize("region", sorted(PATHS))
async def test_path_header_and_sign_per_profile(mocked: Any, region: str) -> None:
    checkout_path, query_path = PATHS[region]
    example = EXAMPLES[region]
    mocked.post(BASE + checkout_path, payload=_envelope(data=link_data(example["tradeNo"])))
    mocked.post(
        BASE + query_path,
        payload=_envelope(data={"tradeNo": example["tradeNo"], "status": "0000", "amount": "300"}),
    )
    async with VexoraClient(
        merchant_no=MERCHANT, secret=SECRET, base_url=BASE + "/", region=region, retry=SINGLE
    ) as client:
        link = await client.create_payment_link(request_from_wire(example))
        state = await client.query_payment(example["tradeNo"])

    assert link.payment_url.endswith(example["tradeNo"])
    assert state.status.is_paid and state.amount == Decimal("300")
    for path, expected_keys in ((checkout_path, set(example)), (query_path, None)):
        headers, body = _sent(mocked, BASE + path)
        assert headers["merchantNo"] == MERCHANT
        assert headers["Content-Type"] == "application/json"
        assert verify(body, SECRET)
        if expected_keys is not None:
            assert set(body) == expected_keys
        else:
            assert set(body) == {"tradeNo", "timestamp", "sign"}


def _absent(mocked: Any) -> None:
    mocked.post(QUERY_URL, payload=_envelope("8000", None, "no such order"), repeat=True)


@pytest.mark.parametrize(
    ("code", "error", "message"),
    [
        ("8000", OrderRejected, "duplicate tradeNo"),
        ("1001", AuthenticationError, "sign error"),
        ("1002", AuthenticationError, "merchant not exist"),
        ("9999", OrderRejected, "whatever"),
    ],
)
async def test_rejection_codes_carry_code_and_msg(
    mocked: Any, client: VexoraClient, code: str, error: type[Exception], message: str
) -> None:
    mocked.post(BASE + "/v1/vexora/checkout", payload=_envelope(code, None, message))
    _absent(mocked)
    with pytest.raises(error) as caught:
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    assert isinstance(caught.value, APIError)
    assert caught.value.code == code and caught.value.msg == message
    assert caught.value.trade_no == seeds.IDR_REQUEST["tradeNo"]


async def test_code_5000_is_outcome_unknown(mocked: Any, client: VexoraClient) -> None:
    mocked.post(
        BASE + "/v1/vexora/checkout", payload=_envelope("5000", None, "system error"), repeat=True
    )
    _absent(mocked)
    with pytest.raises(OutcomeUnknown) as caught:
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    assert caught.value.trade_no == seeds.IDR_REQUEST["tradeNo"]
    assert "5000" in caught.value.reason


@pytest.mark.parametrize(
    ("status", "body", "cause"),
    [
        (200, "<html>gateway</html>", MalformedResponse),
        (200, '{"code": "0000", "data": {"tradeNo"', MalformedResponse),
        (200, "[1, 2, 3]", MalformedResponse),
        (200, '{"msg": "no code"}', MalformedResponse),
        (200, '{"code": {"nested": 1}}', MalformedResponse),
        (200, "", MalformedResponse),
        (500, "Internal Server Error", HTTPStatusError),
        (502, "<html>bad gateway</html>", HTTPStatusError),
    ],
)
async def test_unreadable_answers_to_a_create_are_outcome_unknown(
    mocked: Any, client: VexoraClient, status: int, body: str, cause: type[Exception]
) -> None:
    mocked.post(BASE + "/v1/vexora/checkout", status=status, body=body, repeat=True)
    _absent(mocked)
    with pytest.raises(OutcomeUnknown) as caught:
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    assert isinstance(caught.value.__cause__, cause)


@pytest.mark.parametrize(
    "data",
    [
        None,
        "not an object",
        {"tradeNo": "x", "status": "0015"},  # no cashier URL
        {"tradeNo": "x", "platFormTradeNo": "p", "status": {"x": 1}, "paymentUrl": "u"},
    ],
)
async def test_accepted_but_unreadable_data_is_outcome_unknown(
    mocked: Any, client: VexoraClient, data: Any
) -> None:
    mocked.post(BASE + "/v1/vexora/checkout", payload=_envelope(data=data))
    _absent(mocked)
    with pytest.raises(OutcomeUnknown) as caught:
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    assert isinstance(caught.value.__cause__, MalformedResponse)


async def test_missing_cashier_url_is_named(mocked: Any, client: VexoraClient) -> None:
    mocked.post(BASE + "/v1/vexora/checkout", payload=_envelope(data={"tradeNo": "x"}))
    _absent(mocked)
    with pytest.raises(OutcomeUnknown) as caught:
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    assert "paymentUrl" in str(caught.value.__cause__)


async def test_a_throttled_create_may_have_landed(mocked: Any, client: VexoraClient) -> None:
    mocked.post(
        BASE + "/v1/vexora/checkout", status=429, body="slow down", headers={"Retry-After": "3"},
        repeat=True,
    )
    _absent(mocked)
    with pytest.raises(OutcomeUnknown) as caught:
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    cause = caught.value.__cause__
    assert isinstance(cause, HTTPStatusError)
    assert cause.status == 429 and cause.retry_after == 3.0


async def test_envelope_on_an_error_status_is_still_read(mocked: Any, client: VexoraClient) -> None:
    mocked.post(BASE + "/v1/vexora/checkout", status=400, payload=_envelope("1000", None, "bad"))
    _absent(mocked)
    with pytest.raises(OrderRejected) as caught:
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    assert caught.value.code == "1000"


@pytest.mark.parametrize(
    ("exception", "expected", "cause"),
    [
        (
            aiohttp.ClientConnectorError(
                aiohttp.client_reqrep.ConnectionKey("h", 443, True, True, None, None, None),
                OSError(111, "refused"),
            ),
            ConnectError,
            None,
        ),
        (TimeoutError(), OutcomeUnknown, RequestTimeout),
        (aiohttp.ServerDisconnectedError(), OutcomeUnknown, ConnectionDropped),
        (aiohttp.ClientPayloadError("cut"), OutcomeUnknown, ConnectionDropped),
    ],
)
async def test_transport_failures_are_classified(
    mocked: Any,
    client: VexoraClient,
    exception: Exception,
    expected: type[Exception],
    cause: type[Exception] | None,
) -> None:
    mocked.post(BASE + "/v1/vexora/checkout", exception=exception, repeat=True)
    _absent(mocked)
    with pytest.raises(expected) as caught:
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    if cause is not None:
        assert isinstance(caught.value.__cause__, cause)


async def test_query_reads_amounts_exactly_and_tolerates_drift(
    mocked: Any, client: VexoraClient
) -> None:
    data = {
        "tradeNo": "T1",
        "platFormTradeNo": 12345,
        "status": "0001",
        "orderAmount": "20000",
        "payAmount": 10000.5,
        "message": "partial",
        "successTime": "2026-11-21 10:00:00",
        "channelCode": "EWALLET",
        "wayCode": "DANA",
        "remark": "r",
        "brandNew": {"unknown": True},
    }
    mocked.post(BASE + "/v1/vexora/queryPayInResult", payload=_envelope(data=data))
    state = await client.query_payment("T1")
    assert state.status.is_partially_paid
    assert state.platform_trade_no == "12345"
    assert state.amount == Decimal("20000") and state.pay_amount == Decimal("10000.5")
    assert state.success_time == "2026-11-21 10:00:00"
    assert state.raw["brandNew"] == {"unknown": True}


async def test_query_of_an_unknown_order_is_not_a_failure(
    mocked: Any, client: VexoraClient
) -> None:
    mocked.post(BASE + "/v1/vexora/queryPayInResult", payload=_envelope("8000", None, "no order"))
    with pytest.raises(OrderNotFound) as caught:
        await client.query_payment("T404")
    assert caught.value.code == "8000" and caught.value.trade_no == "T404"


async def test_query_with_malformed_data_is_typed(mocked: Any, client: VexoraClient) -> None:
    mocked.post(BASE + "/v1/vexora/queryPayInResult", payload=_envelope(data={"status": "0000"}))
    with pytest.raises(MalformedResponse) as caught:
        await client.query_payment("T1")
    assert "tradeNo" in str(caught.value)
