"""``vexora-async demo``: the embedded sandbox on loopback, N links, a summary. No setup.

Client and sandbox share this process (and its CPU), so links/s here understates what the
client does against a real gateway; ``python -m benchmarks`` measures that properly.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Iterator

import attrs

from .._install_hint import install_hint
from ..batch import BatchOutcome, run_batch
from ..models import CheckoutRequest, PaymentLink
from ..regions import registry
from ..retry import RetryPolicy
from ..sandbox import TEST_MERCHANTS, Sandbox, run_sandbox
from ..wire import HAS_ORJSON
from .common import (
    EXIT_FAILED_ROWS,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    Progress,
    fail,
    plural,
    print_table,
    run_stoppable,
)

NAME = "demo"
HELP = "create payment links against the embedded sandbox and show a summary"

_NOTIFY = "http://127.0.0.1:9/vexora/notify"  # loopback; the demo pays nothing


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--links", type=int, default=2000, help="how many links (2000)")
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight (64)")
    regions = sorted(merchant.profile.name for merchant in TEST_MERCHANTS)
    parser.add_argument("--region", choices=regions, default="IDR", help="profile (IDR)")
    parser.add_argument(
        "--fault-rate",
        type=float,
        default=0.0,
        help="share of requests the sandbox fails, to watch retries work (0)",
    )
    parser.add_argument(
        "--progress", choices=("auto", "bar", "lines", "none"), default="auto", help="(auto)"
    )
    parser.add_argument(
        "--serve", action="store_true", help="keep the sandbox running afterwards (Ctrl+C ends)"
    )


def sample_requests(region: str, count: int, run_id: str) -> Iterator[CheckoutRequest]:
    """Valid requests for a profile with a ``sample``: made-up payers, amounts that vary."""
    sample = registry.get(region).sample
    if sample is None:
        raise ValueError(f"profile {region} has no sample request")
    for i in range(count):
        yield attrs.evolve(
            sample,
            trade_no=f"DEMO{run_id}{i:07d}",
            amount=sample.amount + i % 100,
            notify_url=_NOTIFY,
        )


# What each outcome means, for the summary (the batch API's own words, shortened).
EXPLAINED: dict[str, str] = {
    BatchOutcome.CREATED: "link created and returned",
    BatchOutcome.EXISTS: "order created, its link lost to a fault; found by a query",
    BatchOutcome.REJECTED: "refused, and queries confirmed the order does not exist",
    BatchOutcome.INVALID: "failed validation; nothing sent",
    BatchOutcome.NOT_SENT: "no connection could be made; nothing sent",
    BatchOutcome.UNKNOWN: "may or may not exist; a query would tell",
    BatchOutcome.ERROR: "something else went wrong",
}
# What the ledger must hold for an outcome to be true (None: the outcome claims nothing).
_MUST_EXIST: dict[str, bool] = {
    BatchOutcome.CREATED: True,
    BatchOutcome.EXISTS: True,
    BatchOutcome.REJECTED: False,
    BatchOutcome.INVALID: False,
    BatchOutcome.NOT_SENT: False,
}


def run(args: argparse.Namespace) -> int:
    if args.links < 1 or args.concurrency < 1 or not 0 <= args.fault_rate <= 1:
        return fail("--links and --concurrency must be >= 1, --fault-rate in 0..1", EXIT_USAGE)
    code = run_stoppable(_demo(args), "cancelling the links in flight")
    if code is None:
        return EXIT_OK if args.serve else fail("stopped", EXIT_INTERRUPTED)
    return code


async def _demo(args: argparse.Namespace) -> int:
    sandbox = Sandbox(TEST_MERCHANTS, time_factor=0.001)
    if args.fault_rate:
        sandbox.faults.delay = 2.0
        sandbox.faults.set_rate(args.fault_rate, seed=1, operations=("checkout", "query"))
    policy = RetryPolicy(backoff=0.05, retry_after_max=0.5, attempt_timeout=1.0)
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    claims: list[tuple[str, str, str | None]] = []  # trade number, outcome, platform number
    sample: PaymentLink | None = None
    async with run_sandbox(sandbox=sandbox) as served:
        print(f"sandbox gateway at {served.base_url} (127.0.0.1 only)", flush=True)
        merchant = served.find_merchant(args.region)
        async with served.client(
            merchant.merchant_no, retry=policy, limit=args.concurrency
        ) as client:

            async def timed(request: CheckoutRequest) -> PaymentLink:
                began = time.perf_counter()
                try:
                    return await client.create_payment_link(request)
                finally:
                    latencies.append(time.perf_counter() - began)

            requests = sample_requests(args.region, args.links, str(int(time.time())))
            started = time.perf_counter()
            with Progress(args.links, f"{args.region} payment links", args.progress) as bar:
                async for result in run_batch(timed, requests, concurrency=args.concurrency):
                    outcomes[result.outcome] += 1
                    platform = result.link.platform_trade_no if result.ok else None
                    claims.append((result.trade_no, result.outcome, platform))
                    sample = sample or result.link
                    bar.advance()
            elapsed = time.perf_counter() - started
        lies = _lies(served, merchant.merchant_no, claims)
        _summary(args, outcomes, latencies, elapsed, sample, lies)
        if args.serve:
            print(f"serving {served.base_url} until Ctrl+C (open a payment URL to pay)")
            await asyncio.Event().wait()
    if lies:
        return fail(f"{lies} outcomes disagree with the sandbox's ledger", EXIT_FAILED_ROWS)
    return EXIT_OK if outcomes[BatchOutcome.CREATED] == args.links else EXIT_FAILED_ROWS


def _lies(served: Sandbox, merchant_no: str, claims: list[tuple[str, str, str | None]]) -> int:
    """How many outcomes the sandbox's ledger contradicts (an order said to exist that does
    not, one said not to exist that does, or a link to another order)."""
    lies = 0
    for trade_no, outcome, platform in claims:
        must_exist = _MUST_EXIST.get(outcome)
        order = served.ledger.order(trade_no, merchant_no)
        wrong_existence = must_exist is not None and (order is not None) != must_exist
        wrong_order = platform is not None and order is not None
        wrong_order = wrong_order and order is not None and order.platform_trade_no != platform
        lies += wrong_existence or wrong_order
    return lies


def _summary(
    args: argparse.Namespace,
    outcomes: Counter[str],
    latencies: list[float],
    elapsed: float,
    sample: PaymentLink | None,
    lies: int,
) -> None:
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) if ordered else 0.0
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0
    rows = [(f"outcome: {name}", str(count)) for name, count in sorted(outcomes.items())]
    checked = sum(outcomes.values())
    rows.append(
        ("checked against the ledger", f"{plural(checked, 'order')}, {plural(lies, 'lie')}")
    )
    links = outcomes[BatchOutcome.CREATED]
    rows += [
        ("links/s", f"{links / elapsed:,.0f} (links returned only)" if elapsed else "-"),
        ("latency p50", f"{p50 * 1000:.1f} ms"),
        ("latency p99", f"{p99 * 1000:.1f} ms"),
        ("concurrency", str(args.concurrency)),
        ("JSON", "orjson" if HAS_ORJSON else f"json (orjson: {install_hint('orjson', 'orjson')})"),
    ]
    if sample is not None:
        rows.append(("a payment URL", sample.payment_url))
    print_table(f"{plural(args.links, args.region + ' link')} in {elapsed:.2f} s", rows)
    for name in sorted(outcomes):
        print(f"  {name}: {EXPLAINED.get(name, name)}")
