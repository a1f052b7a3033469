"""``vexora-async sandbox``: serve the sandbox gateway until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from ..errors import ConfigurationError
from .merchants import SandboxMerchant, parse_merchant
from .server import check_bind_host, run_sandbox

NAME = "sandbox"
HELP = "run the sandbox gateway on this machine until interrupted"

DEFAULT_MERCHANT = "0000000001:TESTSECRET:IDR"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port, 0 for any free one (8080)")
    parser.add_argument(
        "--merchant",
        action="append",
        default=[],
        metavar="NO:SECRET[:PROFILE]",
        help=f"a merchant account, repeatable; profile IDR by default ({DEFAULT_MERCHANT} "
        "when none is given)",
    )
    parser.add_argument(
        "--time-factor",
        type=float,
        default=1.0,
        help="multiply the notification retry schedule by this (0.001: milliseconds)",
    )
    parser.add_argument(
        "--allow-external",
        action="store_true",
        help="allow binding a non-loopback interface",
    )
    parser.add_argument(
        "--allow-external-notify",
        action="store_true",
        help="deliver notifications to non-loopback notifyUrl hosts too",
    )


def run(args: argparse.Namespace) -> int:
    try:
        check_bind_host(args.host, args.allow_external)
        specs = args.merchant or [DEFAULT_MERCHANT]
        merchants = [parse_merchant(spec) for spec in specs]
        if not args.time_factor > 0:
            raise ConfigurationError("--time-factor must be greater than 0")
    except ConfigurationError as exc:
        print(f"vexora-async sandbox: error: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_serve(args, merchants, default=not args.merchant))
    except KeyboardInterrupt:  # Ctrl+C where signal handlers cannot be installed
        pass
    except OSError as exc:  # the port is taken, the address does not exist, ...
        print(f"vexora-async sandbox: error: cannot serve: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


async def _serve(args: argparse.Namespace, merchants: list[SandboxMerchant], default: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Windows has no loop signal handlers: Ctrl+C arrives as KeyboardInterrupt there.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    async with run_sandbox(
        merchants,
        host=args.host,
        port=args.port,
        allow_external=args.allow_external,
        time_factor=args.time_factor,
        allow_external_notify=args.allow_external_notify,
    ) as sandbox:
        base = sandbox.base_url
        lines = [f"Vexora sandbox gateway at {base}", "  use it as the client's base_url"]
        for merchant in merchants:
            profile = merchant.profile
            secret = f", secret {merchant.secret} (default test merchant)" if default else ""
            lines.append(
                f"  merchant {merchant.merchant_no}: profile {profile.name}, "
                f"checkout POST {profile.checkout_path}{secret}"
            )
        lines += [
            f"  cashier pages {base}/cashier/<platFormTradeNo>",
            f"  ledger {base}/sandbox/ledger, pay API POST {base}/sandbox/pay",
            "Press Ctrl+C to stop.",
        ]
        print("\n".join(lines), flush=True)
        await stop.wait()
