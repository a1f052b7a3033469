"""The hostile fault kinds (issue 11): each answer on the wire, checked against the ledger.

These tests speak raw HTTP, not the SDK: they pin down what the sandbox *does*, whatever a
client makes of it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from vexora_async.sandbox import (
    ALL_KINDS,
    CLASSIC_KINDS,
    FAULT_HEADER,
    TEST_MERCHANTS,
    FaultKind,
    Sandbox,
    SandboxCodes,
    run_sandbox,
)

from .test_sandbox_support import MERCHANTS, post, query_body, wire_body

IDR = MERCHANTS["IDR"]
CHECKOUT = "/v1/vexora/checkout"
QUERY = "/v1/vexora/queryPayInResult"


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with run_sandbox(time_factor=0.001) as served:
        yield served


async def checkout(sandbox: Sandbox, trade_no: str, **headers: str) -> tuple[int, bytes, dict]:
    assert sandbox.base_url is not None
    answer = await post(
        sandbox.base_url + CHECKOUT, wire_body("IDR", trade_no),
        merchant_no=IDR.merchant_no, headers=headers,
    )
    return answer.status, answer.body, answer.headers


async def query(sandbox: Sandbox, trade_no: str, **headers: str):  # type: ignore[no-untyped-def]
    assert sandbox.base_url is not None
    return await post(
        sandbox.base_url + QUERY, query_body("IDR", trade_no),
        merchant_no=IDR.merchant_no, headers=headers,
    )


@pytest.mark.parametrize(
    ("kind", "status"),
    [(FaultKind.RATE_LIMITED_AFTER_STORE, 429), (FaultKind.UNAVAILABLE_AFTER_STORE, 503)],
)
async def test_commit_then_throttled(sandbox: Sandbox, kind: FaultKind, status: int) -> None:
    sandbox.faults.retry_after = 9
    sandbox.faults.inject("CT-1", kind)
    got, body, headers = await checkout(sandbox, "CT-1")
    assert got == status
    assert headers["Retry-After"] == "9"
    assert headers["Content-Type"].startswith("text/html")  # no envelope
    assert b'"code"' not in body
    # ... and yet the order was committed.
    order = sandbox.ledger.order("CT-1")
    assert order is not None and order.status == "0015"
    [record] = sandbox.ledger.requests()
    assert (record.outcome, record.fault) == ("stored", kind.value)


async def test_throttle_code_before_store_and_on_query(sandbox: Sandbox) -> None:
    sandbox.codes = SandboxCodes(throttled_code="429001", throttled_msg="slow down")
    sandbox.faults.inject("TC-1", FaultKind.THROTTLE_CODE)
    answer = await post(
        sandbox.base_url + CHECKOUT, wire_body("IDR", "TC-1"), merchant_no=IDR.merchant_no
    )
    assert (answer.status, answer.code, answer.json()["msg"]) == (200, "429001", "slow down")
    assert sandbox.ledger.order("TC-1") is None  # throttled before processing
    assert (await query(sandbox, "TC-1", **{FAULT_HEADER: "throttle-code"})).code == "429001"
    await checkout(sandbox, "TC-1")
    answer = await query(sandbox, "TC-1", **{FAULT_HEADER: "throttle-code"})
    assert answer.code == "429001"  # the order exists; the answer does not say so
    assert sandbox.ledger.counts()["query"] == {"throttle-code": 2}


async def test_unknown_code_after_store(sandbox: Sandbox) -> None:
    sandbox.codes = SandboxCodes(unknown_code="E042", unknown_msg="please contact support")
    sandbox.faults.inject("UC-1", FaultKind.UNKNOWN_CODE_AFTER_STORE)
    _, body, _ = await checkout(sandbox, "UC-1")
    assert b'"E042"' in body and b"please contact support" in body
    assert sandbox.ledger.order("UC-1") is not None  # stored all the same
    answer = await query(sandbox, "UC-1", **{FAULT_HEADER: "unknown-code-after-store"})
    assert answer.code == "E042"
    assert sandbox.ledger.counts()["query"] == {"found": 1, "fault:unknown-code-after-store": 1}


async def test_lagging_replica(sandbox: Sandbox) -> None:
    sandbox.faults.replica_lag = 60.0
    sandbox.faults.inject("LAG-1", FaultKind.LAGGING_REPLICA, times=None, operation="query")
    status, body, _ = await checkout(sandbox, "LAG-1")
    assert status == 200 and b'"0000"' in body
    answer = await query(sandbox, "LAG-1")
    assert answer.code == "8000"  # committed, but the replica does not have it yet
    assert answer.json()["msg"] == "order not found"
    order = sandbox.ledger.order("LAG-1")
    assert order is not None
    order.created_ms -= 61_000  # the replica catches up once the lag has passed
    assert (await query(sandbox, "LAG-1")).code == "0000"
    counts = sandbox.ledger.counts()["query"]
    assert counts == {"not_found": 1, "found": 1, "fault:lagging-replica": 2}
    with pytest.raises(ValueError, match="does not apply to checkout"):
        sandbox.faults.inject("LAG-2", FaultKind.LAGGING_REPLICA)
    status, body, _ = await checkout(sandbox, "LAG-2", **{FAULT_HEADER: "lagging-replica"})
    assert b"does not apply" in body and sandbox.ledger.order("LAG-2") is None


@pytest.mark.parametrize(("kind", "status"), [("429-before-store", 429), ("503-before-store", 503)])
async def test_throttled_queries(sandbox: Sandbox, kind: str, status: int) -> None:
    sandbox.faults.retry_after = 4
    await checkout(sandbox, "TQ-1")
    answer = await query(sandbox, "TQ-1", **{FAULT_HEADER: kind})
    assert (answer.status, answer.headers["Retry-After"]) == (status, "4")


async def test_configurable_duplicate_and_rejection_codes() -> None:
    codes = SandboxCodes(
        duplicate_code="9101", duplicate_msg="order no repeat",
        sign_error_code="S01", unknown_merchant_code="M01", invalid_parameter_code="P01",
        not_found_code="N01", not_found_msg="no such order",
    )
    async with run_sandbox(sandbox=Sandbox(TEST_MERCHANTS, codes=codes)) as sandbox:
        assert sandbox.base_url is not None
        assert (await checkout(sandbox, "DUP-1"))[0] == 200
        answer = await post(
            sandbox.base_url + CHECKOUT, wire_body("IDR", "DUP-1"), merchant_no=IDR.merchant_no
        )
        assert (answer.code, answer.json()["msg"]) == ("9101", "order no repeat")
        assert len(sandbox.ledger) == 1 and sandbox.ledger.checkout_requests("DUP-1") == 2
        wrong = await post(
            sandbox.base_url + CHECKOUT, wire_body("IDR", "DUP-2", secret="WRONG"),
            merchant_no=IDR.merchant_no,
        )
        assert wrong.code == "S01"
        stranger = await post(
            sandbox.base_url + CHECKOUT, wire_body("IDR", "DUP-3"), merchant_no="999"
        )
        assert stranger.code == "M01"
        bad = await post(
            sandbox.base_url + CHECKOUT, wire_body("IDR", "DUP-4", amount="x"),
            merchant_no=IDR.merchant_no,
        )
        assert bad.code == "P01"
        missing = await query(sandbox, "NOPE")
        assert (missing.code, missing.json()["msg"]) == ("N01", "no such order")
        assert len(sandbox.ledger) == 1


def test_codes_that_would_blur_auth_with_absence_are_refused() -> None:
    defaults = SandboxCodes()
    assert len({defaults.sign_error_code, defaults.unknown_merchant_code,
                defaults.not_found_code, defaults.accepted_code}) == 4
    for bad in (
        {"sign_error_code": "8000"},
        {"unknown_merchant_code": "1001"},
        {"not_found_code": "1002"},
        {"duplicate_code": "0000"},
        {"duplicate_code": ""},
        {"duplicate_msg": "a\nb"},
    ):
        with pytest.raises(ValueError):
            SandboxCodes(**bad)


async def test_the_mix_matches_the_ledger(sandbox: Sandbox) -> None:
    assert set(CLASSIC_KINDS) < set(ALL_KINDS)
    sandbox.faults.delay = 0.01
    sandbox.faults.replica_lag = 60.0
    sandbox.faults.mix(0.6, seed=5)
    assert sandbox.base_url is not None
    seen: dict[str, set[str]] = {"checkout": set(), "query": set()}
    async with aiohttp.ClientSession() as session:
        for n in range(80):
            trade_no = f"MIX-{n}"
            bodies = ((CHECKOUT, wire_body("IDR", trade_no)), (QUERY, query_body("IDR", trade_no)))
            for path, body in bodies:
                try:
                    async with session.post(
                        sandbox.base_url + path, json=body, headers={"merchantNo": IDR.merchant_no}
                    ) as response:
                        await response.read()
                except aiohttp.ClientError:
                    pass  # drop-after-store: no answer
            checkout_record, query_record = sandbox.ledger.requests()[-2:]
            kind = checkout_record.fault or checkout_record.outcome
            seen["checkout"].add(kind)
            seen["query"].add(query_record.fault or query_record.outcome)
            stored = sandbox.ledger.order(trade_no) is not None
            # Before-store kinds leave no order; every other answer follows a commit.
            before = kind in {k.value for k in ALL_KINDS if k.before_store}
            assert stored is not before, (trade_no, kind)
    assert "lagging-replica" in seen["query"] and "lagging-replica" not in seen["checkout"]
    new = {"429-after-store", "503-after-store", "throttle-code", "unknown-code-after-store"}
    assert new <= seen["checkout"] | seen["query"]
    assert sandbox.faults.describe()["replicaLag"] == 60.0
