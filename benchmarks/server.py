"""The end-to-end gateway: the package's sandbox in a process of its own, on its own CPU.

    python -m benchmarks.server --cpu 0 --merchant NO:SECRET:IDR

Prints ``BASE_URL <url>`` once it serves, then runs until SIGTERM/SIGINT, or until the
process that started it is gone (so a killed benchmark never leaves it behind).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Sequence

from vexora_async.sandbox import run_sandbox
from vexora_async.sandbox.merchants import parse_merchant

from .common import MERCHANT_SPEC, pin

READY = "BASE_URL"
_PARENT_POLL = 0.5  # seconds between checks that the benchmark is still there


async def until_stopped(parent: int | None) -> None:
    """Return on SIGTERM/SIGINT, or once ``parent`` is no longer this process's parent."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), _PARENT_POLL)
        if parent is not None and os.getppid() != parent:
            break  # orphaned: whoever started us died without stopping us


async def serve(merchant: str, port: int, parent: int | None) -> None:
    async with run_sandbox([parse_merchant(merchant)], port=port) as sandbox:
        print(f"{READY} {sandbox.base_url}", flush=True)
        await until_stopped(parent)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.server", description=__doc__)
    parser.add_argument("--cpu", type=int, default=None, help="pin to this CPU")
    parser.add_argument("--port", type=int, default=0, help="port, 0 for any free one")
    parser.add_argument("--merchant", default=MERCHANT_SPEC, help="NO:SECRET:PROFILE")
    parser.add_argument(
        "--parent-pid", type=int, default=None, help="exit when this process is no longer ours"
    )
    args = parser.parse_args(argv)
    pin(args.cpu)
    asyncio.run(serve(args.merchant, args.port, args.parent_pid))
    return 0


if __name__ == "__main__":
    sys.exit(main())
