"""Client construction, lifecycle, middlewares, transports and redaction."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from vexora_async import (
    CheckoutRequest,
    ConfigurationError,
    ConnectError,
    HttpRequest,
    HttpResponse,
    MemoryTransport,
    RegionProfile,
    TradeState,
    TradeStatus,
    ValidationError,
    VexoraClient,
    register_profile,
    rules,
)
from vexora_async.call import ApiCall, Envelope
from vexora_async.errors import TransportClosed
from vexora_async.middleware import RETRY, SIGNING, Next
from vexora_async.outcome import Outcome, outcome_of
from vexora_async.regions import VEXORA_IDR, FieldRule, registry
from vexora_async.retry import RetryPolicy
from vexora_async.signing import verify

from . import seed_examples as seeds
from .helpers import MERCHANT, SECRET, Recorder, envelope, link_data, request_from_wire


def _ok(request: Any) -> HttpResponse:
    return HttpResponse(200, {}, envelope(link_data(json.loads(request.body)["tradeNo"])))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"base_url": "http://gateway.example"}, "https"),
        ({"base_url": "gateway.example"}, "absolute"),
        ({"merchant_no": "ABC"}, "merchant_no"),
        ({"secret": ""}, "secret"),
        ({"region": "MARS"}, "unknown region"),
    ],
)
def test_bad_configuration_is_refused(kwargs: dict[str, Any], message: str) -> None:
    settings: dict[str, Any] = {
        "merchant_no": MERCHANT,
        "secret": SECRET,
        "base_url": "https://gateway.example",
        **kwargs,
    }
    with pytest.raises(ConfigurationError, match=message):
        VexoraClient(**settings)


def test_plain_http_is_allowed_for_loopback_or_when_asked() -> None:
    VexoraClient(merchant_no=MERCHANT, secret=SECRET, base_url="http://127.0.0.1:8080")
    VexoraClient(merchant_no=MERCHANT, secret=SECRET, base_url="http://localhost:8080")
    VexoraClient(
        merchant_no=MERCHANT,
        secret=SECRET,
        base_url="http://gateway.internal",
        allow_insecure_http=True,
    )


def test_repr_never_shows_the_secret_or_personal_data() -> None:
    client = VexoraClient(merchant_no=MERCHANT, secret="TOPSECRET", base_url="https://g.example")
    request = request_from_wire(seeds.PHP_NET_BANKING_REQUEST)
    text = repr(client) + repr(request) + str(request)
    for private in ("TOPSECRET", "0912345678", "123@gmail.com", "efg", "192.168.0.1", "808-"):
        assert private not in text
    assert "00000007" in text  # the trade number is not personal data and helps debugging


async def test_invalid_request_sends_nothing() -> None:
    recorder = Recorder(_ok)
    async with VexoraClient(
        merchant_no=MERCHANT,
        secret=SECRET,
        base_url="https://g.example",
        transport=recorder.transport,
    ) as client:
        with pytest.raises(ValidationError):
            await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST, amount=1))
        with pytest.raises(ValidationError):
            await client.query_payment("not a trade number")
    assert recorder.requests == []


async def test_user_middleware_after_signing_sees_the_final_signed_request() -> None:
    seen: list[ApiCall] = []

    async def spy(call: ApiCall, next_: Next) -> Envelope:
        seen.append(call)
        return await next_(call)

    recorder = Recorder(_ok)
    async with VexoraClient(
        merchant_no=MERCHANT,
        secret=SECRET,
        base_url="https://g.example",
        transport=recorder.transport,
        middlewares=[SIGNING, spy],
        clock=lambda: 1715941383720,
    ) as client:
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    (call,) = seen
    assert call.fields["timestamp"] == "1715941383720"
    assert verify(call.fields, SECRET)
    assert call.headers["merchantNo"] == MERCHANT
    assert recorder.last_body == dict(call.fields)


async def test_user_middleware_by_default_runs_per_attempt_before_signing() -> None:
    async def add_field(call: ApiCall, next_: Next) -> Envelope:
        assert "sign" not in call.fields  # not signed yet
        return await next_(call.replace(fields={**call.fields, "deviceId": "D1"}))

    recorder = Recorder(_ok)
    async with VexoraClient(
        merchant_no=MERCHANT, secret=SECRET, base_url="https://g.example",
        transport=recorder.transport, middlewares=[add_field],
    ) as client:  # fmt: skip
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
        assert client.middlewares[1] is add_field
    assert recorder.last_body["deviceId"] == "D1"
    assert verify(recorder.last_body, SECRET)  # the added field is signed


async def test_user_middleware_before_retry_wraps_the_whole_retry_loop() -> None:
    outer: list[int] = []
    inner: list[int] = []

    async def around(call: ApiCall, next_: Next) -> Envelope:
        envelope = await next_(call)
        outer.append(envelope.attempts)
        return envelope

    async def per_attempt(call: ApiCall, next_: Next) -> Envelope:
        inner.append(call.attempt)
        return await next_(call)

    answers = iter([HttpResponse(502, {}, b"bad gateway"), None])

    async def flaky(request: HttpRequest) -> HttpResponse:
        answer = next(answers)
        return answer if answer is not None else _ok(request)

    async with VexoraClient(
        merchant_no=MERCHANT, secret=SECRET, base_url="https://g.example",
        transport=MemoryTransport(flaky), middlewares=[around, RETRY, per_attempt],
        retry=RetryPolicy(backoff=0.001, backoff_max=0.001),
    ) as client:  # fmt: skip
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    assert outer == [2] and inner == [1, 2]


@pytest.mark.parametrize(("given", "expected"), [(None, 15.0), (4.0, 4.0)])
async def test_every_link_sees_the_attempt_timeout_the_call_will_use(
    given: float | None, expected: float
) -> None:
    """A middleware before RETRY, one inside it and the transport all see the one attempt
    timeout (the call's own, else the policy's): the first attempt reuses the call."""
    seen: dict[str, float | None] = {}

    async def before(call: ApiCall, next_: Next) -> Envelope:
        seen["before"] = call.timeout
        return await next_(call)

    async def inside(call: ApiCall, next_: Next) -> Envelope:
        seen["inside"] = call.timeout
        return await next_(call)

    class Timed:
        async def send(self, request: HttpRequest, *, timeout: float | None = None
                       ) -> HttpResponse:  # fmt: skip
            seen["transport"] = timeout
            return _ok(request)

        async def aclose(self) -> None:
            return None

    async with VexoraClient(
        merchant_no=MERCHANT, secret=SECRET, base_url="https://g.example",
        transport=Timed(), middlewares=[before, RETRY, inside],
        retry=RetryPolicy(attempt_timeout=15.0, deadline=60.0),
    ) as client:  # fmt: skip
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST), timeout=given)
    assert seen == {"before": expected, "inside": expected, "transport": expected}


@pytest.mark.parametrize(
    "middlewares",
    [[SIGNING, RETRY], [RETRY, RETRY], [SIGNING, SIGNING], ["not callable"]],
)
def test_a_chain_that_cannot_work_is_refused(middlewares: list[Any]) -> None:
    with pytest.raises(ConfigurationError):
        VexoraClient(
            merchant_no=MERCHANT, secret=SECRET, base_url="https://g.example",
            middlewares=middlewares,
        )  # fmt: skip


async def test_memory_transport_runs_an_aiohttp_application() -> None:
    received: list[tuple[str, dict[str, Any]]] = []

    async def checkout(request: web.Request) -> web.Response:
        body = await request.json()
        received.append((request.headers["merchantNo"], body))
        return web.json_response(
            {"code": "0000", "msg": "success", "data": link_data(body["tradeNo"])}
        )

    app = web.Application()
    app.router.add_post("/v1/vexora/checkout", checkout)
    transport = MemoryTransport(app)
    async with VexoraClient(
        merchant_no=MERCHANT, secret=SECRET, base_url="https://g.example", transport=transport
    ) as client:
        link = await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
        with pytest.raises(Exception) as missing:
            await client.query_payment("T1")  # no such route: 404 without an envelope
    await transport.aclose()
    assert link.payment_url.endswith(seeds.IDR_REQUEST["tradeNo"])
    ((merchant, body),) = received
    assert merchant == MERCHANT and verify(body, SECRET)
    assert "404" in str(missing.value)
    with pytest.raises(ConnectError):  # closed
        await transport.send(HttpRequest("POST", "https://g.example/x", {}, b""))


async def test_a_session_you_pass_is_used_and_not_closed() -> None:
    async with aiohttp.ClientSession() as session:
        client = VexoraClient(
            merchant_no=MERCHANT, secret=SECRET, base_url="https://g.example", session=session
        )
        await client.aclose()
        assert not session.closed


async def test_a_connector_you_pass_is_not_closed() -> None:
    connector = aiohttp.TCPConnector(limit=5)
    from aioresponses import aioresponses

    with aioresponses() as mocked:
        mocked.post(
            "https://g.example/v1/vexora/checkout",
            body=envelope(link_data(seeds.IDR_REQUEST["tradeNo"])),
        )
        async with VexoraClient(
            merchant_no=MERCHANT, secret=SECRET, base_url="https://g.example", connector=connector
        ) as client:
            await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    assert not connector.closed
    await connector.close()


def test_session_and_connector_together_are_refused() -> None:
    with pytest.raises(ConfigurationError):
        VexoraClient(
            merchant_no=MERCHANT,
            secret=SECRET,
            base_url="https://g.example",
            session=object(),  # type: ignore[arg-type]
            connector=object(),  # type: ignore[arg-type]
        )


@pytest.mark.parametrize(
    ("code", "state"),
    [
        ("0000", TradeState.PAID),
        ("0001", TradeState.PARTIALLY_PAID),
        ("0015", TradeState.PROCESSING),
        ("00029", TradeState.FAILED),
        ("0029", TradeState.FAILED),
        ("7777", TradeState.FAILED),
    ],
)
def test_trade_status_meanings(code: str, state: TradeState) -> None:
    status = TradeStatus.of(code)
    assert status.state is state and status.code == code
    assert status.is_final == (state in (TradeState.PAID, TradeState.FAILED))


async def test_a_custom_profile_is_a_few_lines() -> None:
    # The Philippines page's shape: a single payType instead of channel/way codes.
    ph = register_profile(
        RegionProfile(
            name="PH_PAYTYPE_TEST",
            checkout_path="/v1/vexora/checkout",
            query_path="/v1/vexora/queryPayInResult",
            fields=(
                FieldRule("trade_no", check=rules.trade_no),
                FieldRule(
                    "payType", check=rules.one_of("GCash", "GrabPay", "Maya", "GCash2", "QRPH")
                ),
                FieldRule("notify_url", check=rules.http_url),
                FieldRule("return_url", required=False, check=rules.http_url),
            ),
            amount=rules.AmountRule(decimals=2),
        )
    )
    try:
        recorder = Recorder(_ok)
        async with VexoraClient(
            merchant_no=MERCHANT,
            secret=SECRET,
            base_url="https://g.example",
            region="ph_paytype_test",
            transport=recorder.transport,
        ) as client:
            await client.create_payment_link(
                CheckoutRequest(
                    trade_no="PH1",
                    amount=500,
                    notify_url="https://m.example/n",
                    extra={"payType": "GCash"},
                )
            )
            with pytest.raises(ValidationError) as caught:
                await client.create_payment_link(
                    CheckoutRequest(trade_no="PH2", amount=500, extra={"payType": "Cash"})
                )
        assert set(recorder.last_body) == {
            "tradeNo",
            "amount",
            "payType",
            "notifyUrl",
            "timestamp",
            "sign",
        }
        assert recorder.last_body["amount"] == "500.00"  # decimals=2: two places
        assert {(v.field, v.rule) for v in caught.value.violations} == {
            ("payType", "not_allowed_value"),
            ("notify_url", "required"),
        }
        with pytest.raises(ConfigurationError):
            register_profile(ph)
    finally:
        registry.register(VEXORA_IDR, replace=True)  # leave the registry as found


def test_http_names_the_transport_a_client_creates() -> None:
    settings: dict[str, Any] = {
        "merchant_no": MERCHANT, "secret": SECRET, "base_url": "https://g.example"
    }
    with pytest.raises(ConfigurationError, match='"aiohttp" or "http11"'):
        VexoraClient(**settings, http="h2")
    with pytest.raises(ConfigurationError, match="aiohttp's"):
        VexoraClient(**settings, http="http11", session=object())  # type: ignore[arg-type]


async def test_a_client_on_http11_creates_links_and_closes_its_transport(
    vexora_sandbox: Any,
) -> None:
    from vexora_async import ConnectError, Http11Transport, HttpRequest

    async with vexora_sandbox.client("IDR", http="http11") as client:
        transport = client._transport
        assert isinstance(transport, Http11Transport)
        request = request_from_wire(seeds.IDR_REQUEST)
        link = await client.create_payment_link(request)
        assert link.trade_no == request.trade_no
        assert transport.connections() == 1  # kept alive between calls
        await client.query_payment(request.trade_no)
        assert transport.connections() == 1
    assert transport.connections() == 0  # the client made it, so the client closed it
    with pytest.raises(ConnectError):
        await transport.send(HttpRequest("POST", vexora_sandbox.base_url, {}, b""))


@pytest.mark.parametrize("http", ["aiohttp", "http11"])
async def test_a_closed_client_fails_at_once_as_not_sent(http: str) -> None:
    # Closed stays closed: no retry, no backoff; a batch after aclose() ends each input now.
    client = VexoraClient(
        merchant_no="0000000001", secret="TESTSECRET", region="IDR", http=http,
        base_url="http://127.0.0.1:1", allow_insecure_http=True,
        retry=RetryPolicy(attempts=4, backoff=30.0, backoff_max=30.0),
    )  # fmt: skip
    await client.aclose()
    with pytest.raises(TransportClosed) as info:
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    assert info.value.attempts == 1 and not info.value.maybe_sent
    assert outcome_of(info.value) is Outcome.NOT_SENT
