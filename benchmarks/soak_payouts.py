"""Soak, payouts mode: N payouts through every fault kind, checked against the sandbox.

    python -m benchmarks.soak_payouts --payouts 10000 --fault-rate 0.3

``benchmarks/soak.py`` for money going out, with the same judge (``soak.check``) applied to
the sandbox's payout ledger: a share of payout and payout-query requests fail with every
fault kind, and afterwards every payout's reported outcome is compared with what the
sandbox really stored:

- lies: reported "not paid out" (rejected, invalid, not sent) but stored, or reported
  created/exists but absent, or a result about another payout;
- duplicates: two payouts for one ``tradeNo``, or a payout no input asked for;
- missing: inputs without exactly one result;
- money: the merchant is funded with exactly the sum of all payouts, so the balance must
  end at zero, with every stored payout's amount held or spent exactly once (a payout sent
  twice would show here and as an insufficient-balance refusal).

Exits 1 unless all four are 0.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Iterator, Sequence
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from vexora_async import RetryPolicy
from vexora_async.batch import BatchOutcome
from vexora_async.payout_models import PayoutRequest
from vexora_async.sandbox import TEST_MERCHANTS, FaultKind, Sandbox, run_sandbox
from vexora_async.sandbox.faults import ALL_KINDS

from .soak import check


def payout_requests(count: int, run_id: str) -> Iterator[PayoutRequest]:
    for i in range(count):
        yield PayoutRequest(
            trade_no=f"SOAKPO{run_id}{i:08d}",
            amount=10000 + i,
            customer_name="Soak Tester",
            mobile="081234567890",
            email="soak@example.com",
            bank_account_no="5464438554636",
            bank_code="0002",
            notify_url="https://merchant.example/payouts",  # not loopback: never contacted
        )


def total_amount(count: int) -> Decimal:
    return Decimal(sum(10000 + i for i in range(count)))


def check_money(sandbox: Sandbox, merchant: str, funded: Decimal) -> int:
    """How far the balance is from "every stored payout taken exactly once" (0 is right)."""
    payouts = sandbox.payouts.ledger.orders(merchant)
    taken = sum((order.amount for order in payouts), Decimal(0))
    balance = sandbox.payouts.balance(merchant)
    off = abs(funded - taken - balance.available)
    # Held for those still processing, nothing for those settled.
    processing = sum((o.amount for o in payouts if o.status == "0015"), Decimal(0))
    off += abs(balance.frozen - processing)
    return 0 if off == 0 else 1


async def soak_payouts(
    payouts: int, fault_rate: float, concurrency: int, seed: int, attempt_timeout: float
) -> tuple[dict[str, Any], float]:
    merchant = TEST_MERCHANTS[0]
    sandbox = Sandbox(TEST_MERCHANTS, time_factor=0.001)
    sandbox.faults.delay = attempt_timeout * 3
    sandbox.faults.retry_after = 1
    # Every kind that applies to payouts, the hostile ones included.
    sandbox.faults.set_rate(
        fault_rate, ALL_KINDS, seed=seed, operations=("payout", "payout_query")
    )
    funded = total_amount(payouts)
    sandbox.payouts.fund(merchant.merchant_no, funded)
    policy = RetryPolicy(
        attempts=4,
        backoff=0.01,
        backoff_max=0.1,
        retry_after_max=0.05,
        attempt_timeout=attempt_timeout,
        deadline=30.0,
    )
    async with run_sandbox(sandbox=sandbox) as served:
        async with served.client(merchant.merchant_no, retry=policy, limit=concurrency) as client:
            started = time.perf_counter()
            results = await client.create_payouts(
                payout_requests(payouts, str(seed)), concurrency=concurrency
            )
            elapsed = time.perf_counter() - started
        # soak's judge reads ``.ledger``: give it the payout ledger.
        view: Any = SimpleNamespace(ledger=served.payouts.ledger)
        summary: dict[str, Any] = check(results, view, payouts, merchant.merchant_no)
        summary["money"] = check_money(served, merchant.merchant_no, funded)
        return summary, elapsed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.soak_payouts", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--payouts", type=int, default=10_000, help="payouts to create (10000)")
    parser.add_argument(
        "--fault-rate", type=float, default=0.3, help="share of requests failed (0.3)"
    )
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight (64)")
    parser.add_argument("--seed", type=int, default=7, help="fault seed, for repeatable runs (7)")
    parser.add_argument(
        "--attempt-timeout", type=float, default=0.5, help="client per-attempt timeout, s (0.5)"
    )
    args = parser.parse_args(argv)
    summary, elapsed = asyncio.run(
        soak_payouts(args.payouts, args.fault_rate, args.concurrency, args.seed,
                     args.attempt_timeout)
    )  # fmt: skip
    kinds = ", ".join(
        kind.value for kind in FaultKind if {"payout", "payout_query"} & kind.operations
    )
    print(f"soak (payouts): {args.payouts} payouts, {args.fault_rate:.0%} of requests faulted")
    print(f"      ({kinds})")
    print(f"      {elapsed:.1f} s, concurrency {args.concurrency}, seed {args.seed}")
    rows = [
        ("payouts", summary.get("orders", 0)),
        ("created", summary.get(BatchOutcome.CREATED, 0)),
        ("exists-answer-lost", summary.get(BatchOutcome.EXISTS, 0)),
        ("rejected", summary.get(BatchOutcome.REJECTED, 0)),
        ("unknown", summary.get(BatchOutcome.UNKNOWN, 0)),
        (
            "other errors",
            summary.get(BatchOutcome.ERROR, 0) + summary.get(BatchOutcome.NOT_SENT, 0),
        ),
        ("stored by the sandbox", summary.get("stored", 0)),
        ("lies", summary.get("lies", 0)),
        ("duplicates", summary.get("duplicates", 0)),
        ("missing", summary.get("missing", 0)),
        ("money off", summary.get("money", 0)),
    ]
    for name, value in rows:
        print(f"  {name:<22} {value:>8}")
    bad = sum(summary.get(key, 0) for key in ("lies", "duplicates", "missing", "money"))
    print("soak: OK" if bad == 0 else "soak: FAILED")
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
