"""Soak: N payment links through every fault kind, checked against the sandbox's ledger.

    python -m benchmarks.soak --orders 10000 --fault-rate 0.3

The embedded sandbox runs on loopback and behaves worse than a gateway should: it fails a
share of checkout *and* query requests with every fault kind (5xx before/after storing,
dropped connections, answers delayed past the client's timeout, malformed bodies, code
5000, 429/503 before storing *and* after committing, a throttle code, an undocumented code
after storing, queries read from a replica that lags), and answers a duplicate ``tradeNo``
with a code and wording the SDK was never told about. A share of the orders is refused by
the gateway for real (a middleware breaks their amount after validation). Afterwards every
order's reported outcome is compared with what the sandbox really stored:

- lies: reported "not created" (rejected, invalid, not sent) but stored, or reported
  created (a link, or ``OrderExists``) but absent, or a link that is not the stored one, or
  a link or found state about another order;
- duplicates: stored orders that do not map one-to-one onto an input;
- missing: inputs without exactly one result.

Exits 1 unless lies, duplicates and missing are all 0.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence

from vexora_async import ApiCall, CheckoutRequest, Envelope, Http11Transport, Next, RetryPolicy
from vexora_async.batch import BatchOutcome, BatchResult
from vexora_async.sandbox import (
    TEST_MERCHANTS,
    FaultKind,
    FaultPolicy,
    Order,
    Sandbox,
    SandboxCodes,
    run_sandbox,
)
from vexora_async.sandbox.faults import ALL_KINDS, CLASSIC_KINDS

NOT_CREATED = {BatchOutcome.REJECTED, BatchOutcome.INVALID, BatchOutcome.NOT_SENT}
CREATED = {BatchOutcome.CREATED, BatchOutcome.EXISTS}


def refused_by_the_gateway(share: float) -> Callable[[ApiCall, Next], Awaitable[Envelope]]:
    """A middleware (before signing) that breaks the amount of a share of the orders after
    validation, so the gateway really refuses them: the truthful answer is "rejected"."""
    every = round(1 / share) if share > 0 else 0

    async def refuse(call: ApiCall, next_: Next) -> Envelope:
        if every and call.operation == "checkout" and int(call.trade_no[-8:]) % every == 0:
            return await next_(call.replace(fields={**call.fields, "amount": 5}))
        return await next_(call)

    return refuse


def requests(count: int, run_id: str) -> Iterator[CheckoutRequest]:
    for i in range(count):
        yield CheckoutRequest(
            trade_no=f"SOAK{run_id}{i:08d}",
            amount=10000 + i,
            username="Soak Tester",
            mobile="081234567890",
            email="soak@example.com",
            channel_code="EWALLET",
            way_code="DANA",
            notify_url="http://127.0.0.1:9/notify",  # loopback, never answered
        )


def _is_lie(result: BatchResult, order: Order | None) -> bool:
    """A reported outcome the ledger contradicts, or a result about another order."""
    if result.outcome in NOT_CREATED:
        return order is not None
    if result.outcome in CREATED and order is None:
        return True
    state = getattr(result.error, "state", None)  # OrderExists: what the query found
    if state is not None and state.trade_no != result.trade_no:
        return True
    link = result.link
    if link is not None and link.trade_no != result.trade_no:
        return True
    return (
        link is not None and order is not None and link.platform_trade_no != order.platform_trade_no
    )


def check(
    results: Sequence[BatchResult], sandbox: Sandbox, count: int, merchant: str
) -> dict[str, int]:
    """Compare each reported outcome with the ledger; the counts the soak prints."""
    summary: Counter[str] = Counter(lies=0, duplicates=0, missing=0)
    by_index: dict[int, list[BatchResult]] = {}
    for result in results:
        by_index.setdefault(result.index, []).append(result)
    summary["missing"] = sum(1 for i in range(count) if len(by_index.get(i, [])) != 1)

    inputs = {result.trade_no for result in results}
    stored = {order.trade_no: order for order in sandbox.ledger.orders(merchant)}
    summary["duplicates"] = sum(1 for trade_no in stored if trade_no not in inputs) + sum(
        1 for trade_no in stored if sandbox.ledger.checkout_requests(trade_no, merchant) < 1
    )
    for result in results:
        outcome = result.outcome
        summary[outcome] += 1
        if _is_lie(result, stored.get(result.trade_no)):
            summary["lies"] += 1
    summary["orders"] = count
    summary["stored"] = len(stored)
    return dict(summary)


async def soak(
    orders: int,
    fault_rate: float,
    concurrency: int,
    seed: int,
    attempt_timeout: float,
    *,
    classic: bool = False,
    replica_lag: float = 0.3,
    duplicate_code: str = "9101",
    refused_share: float = 0.02,
    transport: str = "aiohttp",
) -> tuple[dict[str, int], float]:
    merchant = TEST_MERCHANTS[0]
    codes = SandboxCodes(duplicate_code=duplicate_code, duplicate_msg="ORDER NO REPEAT")
    # A delayed answer must outlast the client's per-attempt timeout to be a real timeout.
    faults = FaultPolicy(delay=attempt_timeout * 3, retry_after=1, replica_lag=replica_lag)
    faults.mix(fault_rate, seed=seed, kinds=CLASSIC_KINDS if classic else ALL_KINDS)
    sandbox = Sandbox(TEST_MERCHANTS, time_factor=0.001, faults=faults, codes=codes)
    policy = RetryPolicy(
        attempts=4,
        backoff=0.01,
        backoff_max=0.1,
        retry_after_max=0.05,
        attempt_timeout=attempt_timeout,
        deadline=30.0,
        # "Absent" must outlast the replica's lag: a not-found spanning the window.
        settle_window=max(0.2, 2 * replica_lag),
    )
    # The default transport (aiohttp's), or the SDK's own HTTP/1.1 client, given (and closed).
    given = {"transport": Http11Transport(limit=concurrency)} if transport == "http11" else {}
    async with run_sandbox(sandbox=sandbox) as served:
        try:
            async with served.client(
                merchant.merchant_no,
                retry=policy,
                limit=concurrency,
                middlewares=[refused_by_the_gateway(refused_share)],
                **given,
            ) as client:
                started = time.perf_counter()
                results = await client.create_payment_links(
                    requests(orders, str(seed)), concurrency=concurrency
                )
                elapsed = time.perf_counter() - started
        finally:
            for own in given.values():
                await own.aclose()
        return check(results, served, orders, merchant.merchant_no), elapsed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--orders", type=int, default=10_000, help="links to create (10000)")
    parser.add_argument(
        "--fault-rate", type=float, default=0.3, help="share of requests failed (0.3)"
    )
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight (64)")
    parser.add_argument("--seed", type=int, default=7, help="fault seed, for repeatable runs (7)")
    parser.add_argument(
        "--attempt-timeout", type=float, default=0.5, help="client per-attempt timeout, s (0.5)"
    )
    parser.add_argument(
        "--classic", action="store_true", help="only the first sandbox's fault kinds"
    )
    parser.add_argument(
        "--replica-lag", type=float, default=0.3, help="lagging replica, seconds (0.3)"
    )
    parser.add_argument(
        "--duplicate-code", default="9101", help="the gateway's undocumented duplicate code"
    )
    parser.add_argument(
        "--refused-share", type=float, default=0.02, help="orders the gateway refuses (0.02)"
    )
    parser.add_argument(
        "--transport", choices=("aiohttp", "http11"), default="aiohttp",
        help="the client's transport: the default aiohttp one, or Http11Transport",
    )
    args = parser.parse_args(argv)
    summary, elapsed = asyncio.run(
        soak(
            args.orders, args.fault_rate, args.concurrency, args.seed, args.attempt_timeout,
            classic=args.classic, replica_lag=args.replica_lag,
            duplicate_code=args.duplicate_code, refused_share=args.refused_share,
            transport=args.transport,
        )
    )
    kinds = ", ".join(kind.value for kind in (CLASSIC_KINDS if args.classic else FaultKind))
    print(
        f"soak: {args.orders} orders over {args.transport}, {args.fault_rate:.0%} of requests "
        f"faulted ({kinds})"
    )
    print(
        f"      {elapsed:.1f} s, concurrency {args.concurrency}, seed {args.seed}, duplicate "
        f"code {args.duplicate_code}, replica lag {args.replica_lag} s, "
        f"{args.refused_share:.0%} refused by the gateway"
    )
    rows = [
        ("orders", summary.get("orders", 0)),
        ("created", summary.get(BatchOutcome.CREATED, 0)),
        ("exists-link-lost", summary.get(BatchOutcome.EXISTS, 0)),
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
    ]
    for name, value in rows:
        print(f"  {name:<22} {value:>8}")
    bad = summary.get("lies", 0) + summary.get("duplicates", 0) + summary.get("missing", 0)
    print("soak: OK" if bad == 0 else "soak: FAILED")
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
