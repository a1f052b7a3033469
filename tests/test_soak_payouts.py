"""The payouts soak: small and truthful, and its money check sees a payout taken twice."""

from __future__ import annotations

from decimal import Decimal

from benchmarks.soak_payouts import check_money, soak_payouts, total_amount
from vexora_async.sandbox import TEST_MERCHANTS, Sandbox

MERCHANT = TEST_MERCHANTS[0].merchant_no


async def test_a_small_payout_soak_is_truthful() -> None:
    summary, _ = await soak_payouts(
        payouts=120, fault_rate=0.5, concurrency=16, seed=3, attempt_timeout=0.3
    )
    assert summary["orders"] == 120
    assert summary["lies"] == summary["duplicates"] == summary["missing"] == 0
    assert summary["money"] == 0
    assert summary["stored"] >= summary.get("created", 0) + summary.get("exists", 0)


def test_the_money_check_sees_a_payout_taken_twice() -> None:
    sandbox = Sandbox(TEST_MERCHANTS)
    funded = total_amount(2)
    sandbox.payouts.fund(MERCHANT, funded)
    assert check_money(sandbox, MERCHANT, funded) == 0
    sandbox.payouts.balances.hold(MERCHANT, Decimal(10000))  # money gone, no payout stored
    assert check_money(sandbox, MERCHANT, funded) == 1
