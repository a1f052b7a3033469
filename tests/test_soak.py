"""The soak's own judge: it must see a lie, a duplicate or a missing result when there is one."""

from __future__ import annotations

import pytest

from benchmarks.soak import check, requests, soak
from vexora_async import OrderRejected, OutcomeUnknown
from vexora_async.batch import BatchResult, Created, Failed
from vexora_async.sandbox import TEST_MERCHANTS, Sandbox, run_sandbox

MERCHANT = TEST_MERCHANTS[0].merchant_no


@pytest.mark.parametrize("transport", ["aiohttp", "http11"])
async def test_a_small_soak_is_truthful(transport: str) -> None:
    summary, _ = await soak(
        orders=120, fault_rate=0.5, concurrency=16, seed=3, attempt_timeout=0.3,
        transport=transport,
    )
    assert summary["orders"] == 120
    assert summary["lies"] == summary["duplicates"] == summary["missing"] == 0
    assert summary["stored"] >= summary.get("created", 0) + summary.get("exists", 0)


async def test_the_judge_catches_lies_and_gaps() -> None:
    inputs = list(requests(4, "J"))
    async with run_sandbox(sandbox=Sandbox(TEST_MERCHANTS)) as sandbox:
        async with sandbox.client(MERCHANT) as client:
            stored = await client.create_payment_link(inputs[0])
            unknown = await client.create_payment_link(inputs[3])
        results: list[BatchResult] = [
            Failed(0, inputs[0], error=OrderRejected("8000", "no", trade_no=inputs[0].trade_no)),
            Created(1, inputs[1], link=stored),  # claims a link the ledger does not hold
            Failed(3, inputs[3], error=OutcomeUnknown(inputs[3].trade_no, "x")),
            Created(3, inputs[3], link=unknown),  # twice for one input, none for input 2
        ]
        summary = check(results, sandbox, 4, MERCHANT)
    assert summary["lies"] == 2
    assert summary["missing"] == 2
    assert summary["duplicates"] == 0
