"""Retry classification, backoff schedule and reconciliation (aioresponses, no real sleeping)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aioresponses import aioresponses
from yarl import URL

from vexora_async import (
    ConnectError,
    HTTPStatusError,
    OrderExists,
    OrderRejected,
    OutcomeUnknown,
    VexoraClient,
)
from vexora_async.call import ApiCall, Envelope
from vexora_async.envelope import GATEWAY_TEXT_MAX, clean_gateway_text
from vexora_async.errors import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    OrderNotFound,
    RequestTimeout,
)
from vexora_async.outcome import Delivery
from vexora_async.retry import AttemptEvent, RequestEvent, RetryMiddleware, RetryPolicy
from vexora_async.signing import verify
from vexora_async.transports.base import HttpRequest, HttpResponse

from . import seed_examples as seeds
from .helpers import MERCHANT, SECRET, FakeTime, link_data, request_from_wire

BASE = "https://gw.example/indonesia"
CHECKOUT = BASE + "/v1/vexora/checkout"
QUERY = BASE + "/v1/vexora/queryPayInResult"
TRADE = seeds.IDR_REQUEST["tradeNo"]
CONNECT_REFUSED = aiohttp.ClientConnectorError(
    aiohttp.client_reqrep.ConnectionKey("gw.example", 443, True, True, None, None, None),
    OSError(111, "refused"),
)


def _envelope(code: str = "0000", data: Any = None, msg: str = "success") -> dict[str, Any]:
    return {"msg": msg, "code": code, "timestamp": 1, "success": code == "0000", "data": data}


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def mocked() -> Any:
    with aioresponses() as m:
        yield m


@pytest.fixture
async def client(fake_time: FakeTime) -> AsyncIterator[VexoraClient]:
    retry = RetryMiddleware(
        RetryPolicy(attempts=3), sleep=fake_time.sleep, clock=fake_time.clock, random=lambda: 0.0
    )
    stamps = iter(range(1_700_000_000_000, 1_800_000_000_000))
    async with VexoraClient(
        merchant_no=MERCHANT,
        secret=SECRET,
        base_url=BASE,
        retry=retry,
        clock=lambda: next(stamps),
    ) as c:
        yield c


def _bodies(mocked: Any, url: str) -> list[dict[str, Any]]:
    return [json.loads(call.kwargs["data"]) for call in mocked.requests.get(("POST", URL(url)), [])]


def _business(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in ("timestamp", "sign")}


# -- the schedule, on the middleware alone ---------------------------------------------------


async def _run(
    middleware: RetryMiddleware, outcomes: list[Exception | Envelope], call: ApiCall | None = None
) -> tuple[Envelope, list[ApiCall]]:
    seen: list[ApiCall] = []
    pending = list(outcomes)

    async def next_(c: ApiCall) -> Envelope:
        seen.append(c)
        item = pending.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    call = call or ApiCall("checkout", "/x", {"tradeNo": "T1"}, "T1")
    return await middleware(call, next_), seen


OK_ENVELOPE = Envelope("0000", "success", {})


async def test_backoff_doubles_up_to_the_cap(fake_time: FakeTime) -> None:
    policy = RetryPolicy(attempts=6, backoff=0.5, backoff_max=3.0, jitter=0.5, deadline=None)
    middleware = RetryMiddleware(
        policy, sleep=fake_time.sleep, clock=fake_time.clock, random=lambda: 0.0
    )
    envelope, seen = await _run(middleware, [ConnectError("x")] * 5 + [OK_ENVELOPE])
    assert envelope is OK_ENVELOPE
    assert fake_time.sleeps == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert [c.attempt for c in seen] == [1, 2, 3, 4, 5, 6]


async def test_jitter_takes_off_at_most_its_share(fake_time: FakeTime) -> None:
    policy = RetryPolicy(attempts=3, backoff=1.0, jitter=0.5)
    middleware = RetryMiddleware(
        policy, sleep=fake_time.sleep, clock=fake_time.clock, random=lambda: 0.999
    )
    await _run(middleware, [ConnectError("x"), ConnectError("x"), OK_ENVELOPE])
    assert fake_time.sleeps == pytest.approx([0.5005, 1.001])


async def test_retry_after_is_honoured_up_to_the_cap(fake_time: FakeTime) -> None:
    policy = RetryPolicy(attempts=3, retry_after_max=10.0)
    middleware = RetryMiddleware(
        policy, sleep=fake_time.sleep, clock=fake_time.clock, random=lambda: 0.0
    )
    await _run(
        middleware,
        [
            HTTPStatusError(429, retry_after=4.0),
            HTTPStatusError(503, retry_after=60.0),
            OK_ENVELOPE,
        ],
    )
    assert fake_time.sleeps == [4.0, 10.0]


async def test_the_deadline_stops_retrying_and_bounds_each_attempt(fake_time: FakeTime) -> None:
    policy = RetryPolicy(
        attempts=10, backoff=4.0, backoff_max=4.0, attempt_timeout=15.0, deadline=10.0
    )
    middleware = RetryMiddleware(
        policy, sleep=fake_time.sleep, clock=fake_time.clock, random=lambda: 0.0
    )
    with pytest.raises(RequestTimeout):
        await _run(middleware, [RequestTimeout("t")] * 10)
    # 0s: attempt 1 (timeout 10), 4s: attempt 2 (6 left), 8s: attempt 3 (2 left); 12s > deadline.
    assert fake_time.sleeps == [4.0, 4.0]


async def test_attempt_timeout_is_passed_down(fake_time: FakeTime) -> None:
    policy = RetryPolicy(attempts=2, attempt_timeout=7.0, deadline=None)
    middleware = RetryMiddleware(policy, sleep=fake_time.sleep, clock=fake_time.clock)
    _, seen = await _run(middleware, [OK_ENVELOPE])
    assert seen[0].timeout == 7.0
    _, seen = await _run(middleware, [OK_ENVELOPE], ApiCall("query", "/q", {}, "T", timeout=2.0))
    assert seen[0].timeout == 2.0


async def test_the_verdict_travels_with_what_the_retry_link_returns_or_raises(
    fake_time: FakeTime,
) -> None:
    middleware = RetryMiddleware(RetryPolicy(), sleep=fake_time.sleep, clock=fake_time.clock)
    refused = Envelope("8000", "duplicate", None)
    envelope, seen = await _run(middleware, [HTTPStatusError(500), refused])
    assert envelope is refused and len(seen) == 2
    assert envelope.attempts == 2 and envelope.maybe_sent  # the 500 may have landed
    fresh, _ = await _run(middleware, [Envelope("8000", "duplicate", None)])
    assert fresh.attempts == 1 and not fresh.maybe_sent
    with pytest.raises(HTTPStatusError) as caught:  # a bare 4xx: not retried, maybe sent
        await _run(middleware, [HTTPStatusError(400)])
    assert caught.value.attempts == 1 and caught.value.maybe_sent
    with pytest.raises(ConnectError) as refused_connect:
        await _run(middleware, [ConnectError("x")] * 4)
    assert refused_connect.value.attempts == 4 and not refused_connect.value.maybe_sent
    with pytest.raises(ConnectError) as after_unknown:
        await _run(middleware, [RequestTimeout("t")] + [ConnectError("x")] * 3)
    assert after_unknown.value.maybe_sent  # an earlier attempt may have landed


@pytest.mark.parametrize(
    "policy",
    [
        {"backoff": float("nan")},
        {"backoff_max": float("inf")},
        {"deadline": float("nan")},
        {"attempt_timeout": float("-inf")},
        {"retry_after_max": float("nan")},
        {"jitter": float("nan")},
        {"settle_window": float("inf")},
        {"settle_queries": 0},
        {"attempt_timeout": None, "deadline": None},
    ],
)
def test_non_finite_or_endless_settings_are_refused(policy: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        RetryPolicy(**policy)


@pytest.mark.parametrize(
    "bad", [{"attempts": 0}, {"jitter": 1.5}, {"backoff": 0}, {"deadline": -1.0}]
)
def test_bad_policies_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        RetryPolicy(**bad)


# -- classification through the client ------------------------------------------------------


@pytest.mark.parametrize(
    "first",
    [
        {"exception": CONNECT_REFUSED},  # not sent
        {"exception": TimeoutError()},  # sent, unknown
        {"exception": aiohttp.ServerDisconnectedError()},
        {"status": 500, "body": "oops"},
        {"status": 502, "body": "<html>"},
        {"status": 200, "body": "{truncated"},
        {"payload": _envelope("5000", None, "system error")},
        {"status": 429, "body": "slow", "headers": {"Retry-After": "2"}},
        {"status": 503, "body": "busy", "headers": {"Retry-After": "1"}},
    ],
)
async def test_retryable_failures_are_retried_with_identical_business_fields(
    mocked: Any, client: VexoraClient, first: dict[str, Any]
) -> None:
    mocked.post(CHECKOUT, **first)
    mocked.post(CHECKOUT, payload=_envelope(data=link_data(TRADE)))
    link = await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    assert link.trade_no == TRADE
    one, two = _bodies(mocked, CHECKOUT)
    assert json.dumps(_business(one)) == json.dumps(_business(two))  # byte-identical fields
    assert one["timestamp"] != two["timestamp"] and one["sign"] != two["sign"]
    assert verify(one, SECRET) and verify(two, SECRET)
    assert _bodies(mocked, QUERY) == []


NOT_FOUND = _envelope("8000", None, "order not found")
PROCESSING = {"tradeNo": TRADE, "platFormTradeNo": "PF1", "status": "0015", "amount": 1000000}


async def test_a_fresh_rejection_is_believed_only_once_absence_is_confirmed(
    mocked: Any, client: VexoraClient, fake_time: FakeTime
) -> None:
    mocked.post(CHECKOUT, payload=_envelope("1000", None, "amount: below_minimum"))
    mocked.post(QUERY, payload=NOT_FOUND, repeat=True)
    with pytest.raises(OrderRejected) as caught:
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    assert caught.value.code == "1000"
    assert len(_bodies(mocked, CHECKOUT)) == 1  # a refusal is never resent
    assert len(_bodies(mocked, QUERY)) == 3 and fake_time.sleeps == [1.0, 1.0]  # the window


@pytest.mark.parametrize("code,msg", [("8000", "duplicate"), ("9101", "ORDER NO REPEAT")])
async def test_a_fresh_refusal_of_an_order_that_exists_is_order_exists(
    mocked: Any, client: VexoraClient, code: str, msg: str
) -> None:
    # Another process created it; the duplicate code and wording are undocumented.
    mocked.post(CHECKOUT, payload=_envelope(code, None, msg))
    mocked.post(QUERY, payload=_envelope(data=PROCESSING))
    with pytest.raises(OrderExists):
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))


async def test_a_lagging_replica_cannot_turn_an_existing_order_into_a_rejection(
    mocked: Any, client: VexoraClient
) -> None:
    mocked.post(CHECKOUT, payload=_envelope("8000", None, "duplicate"))
    mocked.post(QUERY, payload=NOT_FOUND)  # not yet
    mocked.post(QUERY, payload=_envelope(data=PROCESSING))  # there it is
    with pytest.raises(OrderExists):
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))


@pytest.mark.parametrize(
    "query",
    [
        {"payload": _envelope("429", None, "too many requests")},  # a throttle code
        {"payload": _envelope("7777", None, "undocumented")},
        {"payload": _envelope("1001", None, "sign error")},
        {"status": 429, "body": "slow down", "headers": {"Retry-After": "1"}},
        {"status": 503, "body": "busy"},
    ],
)
async def test_any_other_query_answer_proves_nothing(
    mocked: Any, client: VexoraClient, query: dict[str, Any]
) -> None:
    mocked.post(CHECKOUT, payload=_envelope("8000", None, "duplicate"))
    mocked.post(QUERY, repeat=True, **query)
    with pytest.raises(OutcomeUnknown) as caught:
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    assert caught.value.rejection is not None and caught.value.rejection.code == "8000"
    assert any("proves nothing" in item for item in caught.value.known)


async def test_an_authentication_failure_on_a_fresh_call_is_its_own_error(
    mocked: Any, client: VexoraClient
) -> None:
    mocked.post(CHECKOUT, payload=_envelope("1002", None, "merchant not exist"))
    with pytest.raises(AuthenticationError) as caught:
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    assert caught.value.code == "1002" and _bodies(mocked, QUERY) == []


async def test_query_reads_only_the_declared_not_found_code_as_not_found(
    mocked: Any, client: VexoraClient
) -> None:
    mocked.post(QUERY, payload=NOT_FOUND)
    mocked.post(QUERY, payload=_envelope("1001", None, "sign error"))
    mocked.post(QUERY, payload=_envelope("4290", None, "throttled"))
    with pytest.raises(OrderNotFound):
        await client.query_payment(TRADE)
    with pytest.raises(AuthenticationError):
        await client.query_payment(TRADE)
    with pytest.raises(APIError) as caught:
        await client.query_payment(TRADE)
    assert not isinstance(caught.value, OrderNotFound) and caught.value.code == "4290"


@pytest.mark.parametrize("status", [429, 503])
async def test_a_throttled_answer_may_have_committed_the_order(
    mocked: Any, client: VexoraClient, status: int
) -> None:
    # A proxy committed the order, then answered 429/503; the retry hits the duplicate.
    mocked.post(CHECKOUT, status=status, body="busy", headers={"Retry-After": "1"})
    mocked.post(CHECKOUT, payload=_envelope("8000", None, "duplicate"))
    mocked.post(QUERY, payload=_envelope(data=PROCESSING))
    with pytest.raises(OrderExists):
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))


async def test_a_bare_4xx_is_not_retried_and_is_a_rejection_only_when_absent(
    mocked: Any, client: VexoraClient
) -> None:
    mocked.post(CHECKOUT, status=404, body="no route")
    mocked.post(QUERY, payload=NOT_FOUND, repeat=True)
    with pytest.raises(OrderRejected) as caught:
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    assert caught.value.code == "HTTP 404" and len(_bodies(mocked, CHECKOUT)) == 1


async def test_a_wrong_base_url_is_unknown_not_rejected(mocked: Any, client: VexoraClient) -> None:
    mocked.post(CHECKOUT, status=404, body="no route")
    mocked.post(QUERY, status=404, body="no route", repeat=True)
    with pytest.raises(OutcomeUnknown) as caught:
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    assert "HTTP 404" in " ".join(caught.value.known)


async def test_never_sent_attempts_exhausted_is_a_connect_error(
    mocked: Any, client: VexoraClient, fake_time: FakeTime
) -> None:
    for _ in range(3):
        mocked.post(CHECKOUT, exception=CONNECT_REFUSED)
    with pytest.raises(ConnectError):
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    assert fake_time.sleeps == [0.25, 0.5] and _bodies(mocked, QUERY) == []


async def test_duplicate_after_an_unknown_attempt_is_reconciled_to_order_exists(
    mocked: Any, client: VexoraClient
) -> None:
    mocked.post(CHECKOUT, status=500, body="stored, then crashed")
    mocked.post(CHECKOUT, payload=_envelope("8000", None, "duplicate tradeNo"))
    mocked.post(QUERY, payload=_envelope(data=PROCESSING))
    with pytest.raises(OrderExists) as caught:
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    assert caught.value.trade_no == TRADE and caught.value.state.status.is_processing


async def test_unknown_until_exhausted_then_found_is_order_exists(
    mocked: Any, client: VexoraClient
) -> None:
    for _ in range(3):
        mocked.post(CHECKOUT, exception=aiohttp.ServerDisconnectedError())
    mocked.post(QUERY, payload=_envelope(data=PROCESSING))
    with pytest.raises(OrderExists):
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    assert len(_bodies(mocked, CHECKOUT)) == 3


async def test_not_found_after_unknown_is_resent_under_the_same_trade_no(
    mocked: Any, client: VexoraClient
) -> None:
    for _ in range(3):
        mocked.post(CHECKOUT, status=500, body="before storing")
    mocked.post(QUERY, payload=NOT_FOUND, repeat=True)
    mocked.post(CHECKOUT, payload=_envelope(data=link_data(TRADE)))
    link = await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    assert link.payment_url.endswith(TRADE)
    bodies = _bodies(mocked, CHECKOUT)
    assert len(bodies) == 4 and len({json.dumps(_business(b)) for b in bodies}) == 1
    assert len(_bodies(mocked, QUERY)) == 3  # absent over the whole window before resending


async def test_still_unclear_after_the_resend_is_outcome_unknown(
    mocked: Any, client: VexoraClient
) -> None:
    mocked.post(CHECKOUT, status=500, body="down", repeat=True)
    mocked.post(QUERY, payload=NOT_FOUND, repeat=True)
    with pytest.raises(OutcomeUnknown) as caught:
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    # 3 attempts, then 3 resends of 3 attempts each, each after a confirmed absence
    assert caught.value.trade_no == TRADE and caught.value.attempts == 12
    assert len(_bodies(mocked, QUERY)) == 4 * 3
    assert any("not found" in item for item in caught.value.known)


async def test_rejection_after_unknown_is_believed_only_when_the_query_finds_nothing(
    mocked: Any, client: VexoraClient
) -> None:
    mocked.post(CHECKOUT, exception=TimeoutError())
    mocked.post(CHECKOUT, payload=_envelope("1000", None, "mobile: mobile_format"))
    mocked.post(QUERY, payload=NOT_FOUND, repeat=True)
    with pytest.raises(OrderRejected) as caught:
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    assert caught.value.code == "1000"


async def test_accepted_but_unreadable_is_order_exists_when_found(
    mocked: Any, client: VexoraClient
) -> None:
    mocked.post(CHECKOUT, payload=_envelope(data={"tradeNo": TRADE, "status": "0015"}))
    mocked.post(QUERY, payload=_envelope(data=PROCESSING))
    with pytest.raises(OrderExists) as caught:
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    assert "paymentUrl" in str(caught.value)
    assert len(_bodies(mocked, CHECKOUT)) == 1  # accepted: never resent


async def test_a_failing_query_leaves_the_outcome_unknown(
    mocked: Any, client: VexoraClient
) -> None:
    for _ in range(3):
        mocked.post(CHECKOUT, payload=_envelope("5000", None, "system error"))
    mocked.post(QUERY, status=502, body="bad gateway", repeat=True)
    with pytest.raises(OutcomeUnknown) as caught:
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    assert any("HTTPStatusError" in item for item in caught.value.known)


async def test_maybe_sent_makes_a_first_connect_error_unclear(
    mocked: Any, client: VexoraClient
) -> None:
    for _ in range(3):
        mocked.post(CHECKOUT, exception=CONNECT_REFUSED)
    mocked.post(QUERY, payload=_envelope(data=PROCESSING))
    with pytest.raises(OrderExists):  # an earlier run may have sent it: never "not sent"
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST), maybe_sent=True)


async def test_reconcile_off_reports_unknown_without_querying(
    mocked: Any, client: VexoraClient
) -> None:
    mocked.post(CHECKOUT, status=500, body="x")
    mocked.post(CHECKOUT, payload=_envelope("1000", None, "bad"))
    policy = RetryPolicy(attempts=1, reconcile=False)
    with pytest.raises(OutcomeUnknown) as caught:
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST), retry=policy)
    assert caught.value.attempts == 1 and _bodies(mocked, QUERY) == []
    with pytest.raises(OutcomeUnknown) as refused:  # an unconfirmed refusal is not "rejected"
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST), retry=policy)
    assert refused.value.rejection is not None and refused.value.rejection.code == "1000"


class _HangingGateway:
    """A transport whose every attempt uses its whole timeout, on the fake clock."""

    def __init__(self, fake_time: FakeTime) -> None:
        self.fake_time = fake_time
        self.timeouts: list[float | None] = []

    async def send(self, request: HttpRequest, *, timeout: float | None = None) -> HttpResponse:
        self.timeouts.append(timeout)
        assert timeout is not None and timeout > 0
        self.fake_time.now += timeout
        raise RequestTimeout("no answer")

    async def aclose(self) -> None:
        pass


@pytest.mark.parametrize("deadline", [2.0, 7.5, 40.0])
async def test_the_deadline_bounds_the_whole_call_reconciliation_included(
    fake_time: FakeTime, deadline: float
) -> None:
    gateway = _HangingGateway(fake_time)
    policy = RetryPolicy(attempts=4, attempt_timeout=3.0, deadline=deadline)
    retry = RetryMiddleware(policy, sleep=fake_time.sleep, clock=fake_time.clock)
    started = fake_time.now
    async with VexoraClient(
        merchant_no=MERCHANT, secret=SECRET, base_url=BASE, retry=retry, transport=gateway
    ) as c:
        with pytest.raises(OutcomeUnknown):
            await c.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    assert fake_time.now - started <= deadline + 1e-9
    assert len(gateway.timeouts) >= 1


# -- logging and hooks ----------------------------------------------------------------------


async def test_one_log_line_per_attempt_without_private_data(
    mocked: Any, client: VexoraClient, caplog: pytest.LogCaptureFixture
) -> None:
    mocked.post(CHECKOUT, status=500, body="x")
    mocked.post(CHECKOUT, payload=_envelope(data=link_data(TRADE)))
    with caplog.at_level(logging.DEBUG, logger="vexora_async"):
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    lines = [r.getMessage() for r in caplog.records if r.name == "vexora_async"]
    assert len(lines) == 2
    assert f"trade={TRADE} attempt=1 delivery=maybe_sent status=500" in lines[0]
    assert "attempt=2 delivery=answered status=200 code=0000" in lines[1]
    sent = _bodies(mocked, CHECKOUT)
    for line in lines:
        for private in (
            SECRET,
            sent[0]["sign"],
            sent[1]["sign"],
            "6281245907765",
            "user@gmail.com",
        ):
            assert private not in line


async def test_hooks_see_every_attempt(mocked: Any, fake_time: FakeTime) -> None:
    requests: list[RequestEvent] = []
    attempts: list[AttemptEvent] = []

    async def on_request(event: RequestEvent) -> None:
        requests.append(event)

    async def on_attempt(event: AttemptEvent) -> None:
        attempts.append(event)

    mocked.post(CHECKOUT, exception=CONNECT_REFUSED)
    mocked.post(CHECKOUT, payload=_envelope(data=link_data(TRADE)))
    retry = RetryMiddleware(
        RetryPolicy(), on_request=on_request, on_attempt=on_attempt, sleep=fake_time.sleep
    )
    async with VexoraClient(merchant_no=MERCHANT, secret=SECRET, base_url=BASE, retry=retry) as c:
        await c.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    assert [(e.trade_no, e.attempt) for e in requests] == [(TRADE, 1), (TRADE, 2)]
    assert [(e.delivery, e.will_retry, e.error) for e in attempts] == [
        (Delivery.NOT_SENT, True, "ConnectError"),
        (Delivery.ANSWERED, False, None),
    ]


async def test_hooks_passed_to_the_client(mocked: Any) -> None:
    events: list[AttemptEvent] = []

    async def on_attempt(event: AttemptEvent) -> None:
        events.append(event)

    mocked.post(QUERY, payload=_envelope(data=PROCESSING))
    async with VexoraClient(
        merchant_no=MERCHANT, secret=SECRET, base_url=BASE, on_attempt=on_attempt
    ) as c:
        await c.query_payment(TRADE)
    assert [(e.operation, e.delivery, e.code) for e in events] == [
        ("query", Delivery.ANSWERED, "0000")
    ]


def test_gateway_text_is_cleaned_and_capped() -> None:
    assert clean_gateway_text("order no repeat") == "order no repeat"
    dirty = clean_gateway_text("bad\x1b[31m\r\nname=\x00Budi\u202e" + "x" * 5000)
    assert len(dirty) <= GATEWAY_TEXT_MAX
    assert not any(ch in dirty for ch in "\x1b\r\n\x00\u202e")
    assert clean_gateway_text(None) == "" and clean_gateway_text(42) == ""


async def test_a_gateway_message_reaches_errors_cleaned(mocked: Any, client: VexoraClient) -> None:
    mocked.post(CHECKOUT, payload=_envelope("1000", None, "\x1b[2J" + "081234567890 " * 500))
    mocked.post(QUERY, payload=NOT_FOUND, repeat=True)
    with pytest.raises(OrderRejected) as caught:
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    assert len(caught.value.msg) <= GATEWAY_TEXT_MAX and "\x1b" not in str(caught.value)


async def test_an_answer_that_proves_nothing_does_not_end_the_settling(
    mocked: Any, client: VexoraClient
) -> None:
    mocked.post(CHECKOUT, payload=_envelope("1000", None, "bad"))
    mocked.post(QUERY, payload=_envelope("1015", None, "request too frequent"))
    mocked.post(QUERY, payload=NOT_FOUND, repeat=True)
    with pytest.raises(OrderRejected):  # three clear "not found"s still came
        await client.create_payment_link(request_from_wire(seeds.IDR_REQUEST))
    assert len(_bodies(mocked, QUERY)) == 4
