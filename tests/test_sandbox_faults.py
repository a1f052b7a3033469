"""Each fault kind: what the client sees, and what the ledger knows really happened."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from vexora_async import (
    HTTPStatusError,
    OrderExists,
    OutcomeUnknown,
    PaymentLink,
    RequestTimeout,
)
from vexora_async.retry import RetryPolicy
from vexora_async.sandbox import FAULT_HEADER, FaultKind, Sandbox, run_sandbox

from .test_sandbox_support import MERCHANTS, checkout_request, post, query_body, wire_body

IDR = MERCHANTS["IDR"]
CHECKOUT = "/v1/vexora/checkout"
# One attempt, no reconciliation query: the client reports exactly what this answer meant.
ONE_SHOT = RetryPolicy(attempts=1, reconcile=False)
QUICK_RETRY = RetryPolicy(attempts=3, backoff=0.001, backoff_max=0.001)


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with run_sandbox(time_factor=0.001) as served:
        yield served


async def create(
    sandbox: Sandbox, trade_no: str, *, retry: RetryPolicy = ONE_SHOT, timeout: float | None = None
) -> PaymentLink:
    async with sandbox.client("IDR", retry=retry) as client:
        return await client.create_payment_link(checkout_request("IDR", trade_no), timeout=timeout)


@pytest.mark.parametrize(
    ("kind", "reason", "stored"),
    [
        (FaultKind.SERVER_ERROR_BEFORE_STORE, "HTTP 500", False),
        (FaultKind.UNAVAILABLE, "HTTP 503", False),
        (FaultKind.SERVER_ERROR_AFTER_STORE, "HTTP 502", True),
        (FaultKind.DROP_AFTER_STORE, "ConnectionDropped", True),
        (FaultKind.MALFORMED_AFTER_STORE, "MalformedResponse", True),
        (FaultKind.SYSTEM_ERROR_AFTER_STORE, "code 5000", True),
    ],
)
async def test_fault_outcome_unknown_and_the_truth(
    sandbox: Sandbox, kind: FaultKind, reason: str, stored: bool
) -> None:
    sandbox.faults.inject("FAULT-1", kind)
    with pytest.raises(OutcomeUnknown) as caught:
        await create(sandbox, "FAULT-1")
    assert reason in caught.value.reason

    # The client cannot tell; the ledger can: stored after the fault's point, not before.
    order = sandbox.ledger.order("FAULT-1")
    assert (order is not None) is stored
    assert order is None or order.status == "0015"
    assert sandbox.ledger.checkout_requests("FAULT-1") == 1
    [record] = sandbox.ledger.requests()
    if stored:
        assert (record.outcome, record.fault) == ("stored", kind.value)
        assert sandbox.ledger.counts()["checkout"] == {"stored": 1, f"fault:{kind.value}": 1}
    else:
        assert (record.outcome, record.fault) == (kind.value, None)
        assert sandbox.ledger.counts()["checkout"] == {kind.value: 1}


async def test_delay_after_store_outlasts_the_client_timeout(sandbox: Sandbox) -> None:
    sandbox.faults.delay = 30.0  # released when the sandbox stops, not waited for
    sandbox.faults.inject("SLOW-1", FaultKind.DELAY_AFTER_STORE)
    started = time.monotonic()
    with pytest.raises(OutcomeUnknown) as caught:
        await create(sandbox, "SLOW-1", timeout=0.3)
    assert isinstance(caught.value.__cause__, RequestTimeout)
    assert time.monotonic() - started < 5
    assert sandbox.ledger.order("SLOW-1") is not None


async def test_rate_limited_before_store(sandbox: Sandbox) -> None:
    # A 429 may come from a proxy that already committed: "maybe sent", never "not sent".
    sandbox.faults.retry_after = 7
    sandbox.faults.inject("BUSY-1", FaultKind.RATE_LIMITED)
    with pytest.raises(OutcomeUnknown) as caught:
        await create(sandbox, "BUSY-1")
    cause = caught.value.__cause__
    assert isinstance(cause, HTTPStatusError)
    assert cause.status == 429 and cause.retry_after == 7 and cause.maybe_sent
    assert sandbox.ledger.order("BUSY-1") is None


async def test_throttled_then_retried_creates_one_order(sandbox: Sandbox) -> None:
    sandbox.faults.retry_after = 0
    sandbox.faults.inject("BUSY-2", FaultKind.RATE_LIMITED)
    sandbox.faults.inject("BUSY-3", FaultKind.UNAVAILABLE)
    for trade_no in ("BUSY-2", "BUSY-3"):
        link = await create(sandbox, trade_no, retry=QUICK_RETRY)
        assert link.trade_no == trade_no
        assert sandbox.ledger.checkout_requests(trade_no) == 2
    assert len(sandbox.ledger) == 2


async def test_retry_after_a_stored_5xx_finds_the_order(sandbox: Sandbox) -> None:
    # Attempt 1 is stored but answered 502; attempt 2 is a duplicate (8000); the client's
    # query then finds the order: it exists, and there is still exactly one.
    sandbox.faults.inject("TWICE-1", FaultKind.SERVER_ERROR_AFTER_STORE)
    with pytest.raises(OrderExists) as caught:
        await create(sandbox, "TWICE-1", retry=QUICK_RETRY)
    assert caught.value.state.platform_trade_no is not None
    assert len(sandbox.ledger) == 1
    assert sandbox.ledger.checkout_requests("TWICE-1") == 2
    outcomes = [r.outcome for r in sandbox.ledger.requests()]
    assert outcomes == ["stored", "duplicate", "found"]
    # Refused as a duplicate after an attempt of its own that may have created it.
    assert caught.value.refused
    assert "earlier attempt of this call whose answer was lost" in str(caught.value)


async def test_order_exists_says_whether_the_answer_was_lost_or_the_trade_no_was_used(
    sandbox: Sandbox,
) -> None:
    # Every answer dropped after the order was stored: the query finds it, its answer lost.
    sandbox.faults.inject("LOST-1", FaultKind.DROP_AFTER_STORE, times=None)
    with pytest.raises(OrderExists) as lost:
        await create(sandbox, "LOST-1", retry=QUICK_RETRY)
    assert not lost.value.refused
    assert "the answer carrying its result was lost" in str(lost.value)
    sandbox.faults.clear()
    # The same trade number sent again on purpose: refused, found, and nothing was lost.
    await create(sandbox, "AGAIN-1", retry=QUICK_RETRY)
    with pytest.raises(OrderExists) as again:
        await create(sandbox, "AGAIN-1", retry=QUICK_RETRY)
    assert again.value.refused and not again.value.maybe_sent
    message = str(again.value)
    assert message.startswith("trade AGAIN-1 already exists at the gateway: the gateway refused")
    assert "created before this call under the same trade number" in message
    assert "lost" not in message


async def test_fault_header_and_unknown_kind(sandbox: Sandbox) -> None:
    url = sandbox.base_url + CHECKOUT
    answer = await post(
        url, wire_body("IDR", "HDR-1"), merchant_no=IDR.merchant_no,
        headers={FAULT_HEADER: "5xx-after-store"},
    )
    assert answer.status == 502
    assert answer.headers["Content-Type"].startswith("text/html")
    assert sandbox.ledger.order("HDR-1") is not None

    answer = await post(
        url, wire_body("IDR", "HDR-2"), merchant_no=IDR.merchant_no,
        headers={FAULT_HEADER: "meteor-strike"},
    )
    assert answer.code == "1000"
    assert FAULT_HEADER in answer.json()["msg"]
    assert sandbox.ledger.order("HDR-2") is None


async def test_injection_counts_down_and_can_last(sandbox: Sandbox) -> None:
    url = sandbox.base_url + CHECKOUT
    sandbox.faults.inject("TIMES-1", FaultKind.SERVER_ERROR_BEFORE_STORE, times=2)
    statuses = [
        (await post(url, wire_body("IDR", "TIMES-1"), merchant_no=IDR.merchant_no)).status
        for _ in range(3)
    ]
    assert statuses == [500, 500, 200]

    sandbox.faults.inject("ALWAYS-1", FaultKind.UNAVAILABLE, times=None)
    for _ in range(3):
        answer = await post(url, wire_body("IDR", "ALWAYS-1"), merchant_no=IDR.merchant_no)
        assert answer.status == 503
        assert answer.headers["Retry-After"] == "1"
    sandbox.faults.clear("ALWAYS-1")
    answer = await post(url, wire_body("IDR", "ALWAYS-1"), merchant_no=IDR.merchant_no)
    assert answer.code == "0000"
    assert sandbox.ledger.checkout_requests("ALWAYS-1") == 4


async def test_query_faults(sandbox: Sandbox) -> None:
    async with sandbox.client("IDR", retry=ONE_SHOT) as client:
        await client.create_payment_link(checkout_request("IDR", "Q-1"))
        sandbox.faults.inject("Q-1", FaultKind.SERVER_ERROR_BEFORE_STORE, operation="query")
        with pytest.raises(HTTPStatusError) as caught:
            await client.query_payment("Q-1")
        assert caught.value.status == 500
        assert (await client.query_payment("Q-1")).status.is_processing  # injected once

    answer = await post(
        sandbox.base_url + "/v1/vexora/queryPayInResult", query_body("IDR", "Q-1"),
        merchant_no=IDR.merchant_no, headers={FAULT_HEADER: "code-5000-after-store"},
    )
    assert answer.code == "5000"
    assert sandbox.ledger.counts()["query"] == {
        "5xx-before-store": 1, "found": 2, "fault:code-5000-after-store": 1,
    }


async def test_rate_faults_match_the_ledger(sandbox: Sandbox) -> None:
    sandbox.faults.set_rate(0.5, kinds=["5xx-before-store", "5xx-after-store"], seed=11)
    url = sandbox.base_url + CHECKOUT
    statuses = {}
    for n in range(40):
        trade_no = f"RATE-{n}"
        answer = await post(url, wire_body("IDR", trade_no), merchant_no=IDR.merchant_no)
        statuses[trade_no] = answer.status

    stored = {o.trade_no for o in sandbox.ledger.orders()}
    # 500 before storing: not there; 502 after storing and 200: there.
    assert stored == {t for t, status in statuses.items() if status != 500}
    counts = sandbox.ledger.counts()["checkout"]
    assert counts.get("5xx-before-store", 0) == list(statuses.values()).count(500)
    assert counts.get("fault:5xx-after-store", 0) == list(statuses.values()).count(502)
    assert 0 < list(statuses.values()).count(200) < 40  # some faulted, some not

    # The same seed faults the same requests, whatever order they come in.
    again = Sandbox(faults=None).faults
    again.set_rate(0.5, kinds=["5xx-before-store", "5xx-after-store"], seed=11)
    picks = {
        t: again.pick("checkout", t) for t in sorted(statuses, reverse=True)
    }
    expected = {500: FaultKind.SERVER_ERROR_BEFORE_STORE, 502: FaultKind.SERVER_ERROR_AFTER_STORE}
    assert picks == {t: expected.get(s) for t, s in statuses.items()}
