"""Peak RSS of ``create_payment_links`` over N orders, in a fresh process per N.

    python -m benchmarks.batch_rss --base-url URL --n 100000 --concurrency 256

The orders come from a generator and the results are counted, not kept, so what grows with
N (if anything) is the SDK's own memory, not the caller's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

from vexora_async import CheckoutRequest, VexoraClient

from .common import (
    MERCHANT_NO,
    ORDER,
    PROFILE,
    SECRET,
    amount_of,
    peak_rss_mib,
    pin,
    trade_no,
)


def orders(run_id: str, tag: str, count: int) -> Iterator[CheckoutRequest]:
    for index in range(count):
        yield CheckoutRequest(
            trade_no=trade_no(run_id, tag, index), amount=amount_of(index), **ORDER
        )


async def measure(base_url: str, n: int, concurrency: int, run_id: str, tag: str
                  ) -> dict[str, Any]:
    outcomes: Counter[str] = Counter()
    async with VexoraClient(
        merchant_no=MERCHANT_NO, secret=SECRET, region=PROFILE, base_url=base_url,
        limit=concurrency,
    ) as client:
        baseline = peak_rss_mib()  # imports and the client: what N cannot change
        started = time.perf_counter()
        async for result in client.create_payment_links(
            orders(run_id, tag, n), concurrency=concurrency
        ):
            outcomes[result.outcome] += 1
        wall = time.perf_counter() - started
    return {
        "n": n,
        "concurrency": concurrency,
        "baseline_rss_mib": round(baseline, 1),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "wall_s": round(wall, 3),
        "links_per_s": round(n / wall, 1),
        "outcomes": dict(outcomes),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.batch_rss", description=__doc__)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--tag", required=True)
    parser.add_argument("--cpu", type=int, default=None)
    args = parser.parse_args(argv)
    pin(args.cpu)
    result = asyncio.run(measure(args.base_url, args.n, args.concurrency, args.run_id, args.tag))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
