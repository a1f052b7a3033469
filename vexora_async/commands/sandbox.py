"""``vexora-async sandbox``: serve the sandbox gateway until interrupted; ``sandbox pay`` and
``sandbox redeliver`` act on a running one (like the stripe CLI's ``trigger``).

Exit codes are the CLI's (``commands/common.py``): 0 done, 1 the sandbox refused the action
(unknown order, final already...), 4 a configuration problem (a bad option, a port in use, a
sandbox URL that does not answer).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
from typing import Any

import aiohttp

from ..errors import ConfigurationError
from ..hosts import is_loopback_url
from ..sandbox.codes import SandboxCodes, changed_codes
from ..sandbox.faults import ALL_KINDS
from ..sandbox.merchants import SandboxMerchant, parse_merchant
from ..sandbox.server import Sandbox, check_bind_host, run_sandbox
from .common import EXIT_CONFIG, EXIT_FAILED_ROWS, EXIT_OK, fail

NAME = "sandbox"
HELP = "run the sandbox gateway on this machine until interrupted; or pay/redeliver on it"

DEFAULT_MERCHANT = "0000000001:TESTSECRET:IDR"
DEFAULT_PORT = 8080
URL_ENV = "VEXORA_SANDBOX_URL"
DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}"


def configure(parser: argparse.ArgumentParser) -> None:
    _configure_serve(parser)
    actions = parser.add_subparsers(
        title="actions on a running sandbox", dest="action", metavar="ACTION"
    )
    pay = actions.add_parser(
        "pay", help="pay an order as its payer would at the cashier (notifies the merchant)",
        description="Pay, partly pay or fail an order on a running sandbox; the sandbox then "
        "sends the signed notification to the order's notifyUrl.",
    )
    pay.add_argument("trade_no", metavar="TRADE_NO", help="the merchant's tradeNo")
    pay.add_argument(
        "--outcome", choices=("paid", "partial", "failed"), default="paid",
        help="paid (default), partial (half of what is left unless --amount) or failed",
    )
    pay.add_argument("--amount", help="for --outcome partial: the total paid after it")
    _target(pay)
    redeliver = actions.add_parser(
        "redeliver", help="send the order's latest notification again",
        description="Send an order's current state to its notifyUrl again, freshly signed, "
        "as the gateway does now and then (your endpoint must process it only once).",
    )
    redeliver.add_argument("trade_no", metavar="TRADE_NO", help="the merchant's tradeNo")
    _target(redeliver)


def _target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url", default=None,
        help=f"the running sandbox (${URL_ENV}, else {DEFAULT_URL}: what "
        "`vexora-async sandbox` serves)",
    )
    parser.add_argument(
        "--merchant-no", default=None, help="the order's merchant, when several have TRADE_NO"
    )


def _configure_serve(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="port, 0 for any free one (8080)"
    )
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
    faults = parser.add_argument_group("faults (see the README's fault table)")
    faults.add_argument(
        "--fault-rate", type=float, default=0.0,
        help="fail this share (0 to 1) of checkouts and queries with every fault kind",
    )
    faults.add_argument(
        "--fault-kinds", default=None, metavar="KIND,KIND",
        help="only these kinds (default: all, e.g. 429-after-store,lagging-replica)",
    )
    faults.add_argument("--fault-seed", type=int, default=None, help="repeatable faults")
    faults.add_argument(
        "--replica-lag", type=float, default=None, help="seconds lagging-replica is behind (0.5)"
    )
    faults.add_argument(
        "--code", action="append", default=[], metavar="NAME=VALUE",
        help="an answer's code or message, repeatable: duplicate_code=9101, "
        "duplicate_msg='order no repeat' (the SandboxCodes field names)",
    )


def run(args: argparse.Namespace) -> int:
    action = getattr(args, "action", None)
    if action is not None:
        return _act(args, action)
    try:
        check_bind_host(args.host, args.allow_external)
        specs = args.merchant or [DEFAULT_MERCHANT]
        merchants = [parse_merchant(spec) for spec in specs]
        if not args.time_factor > 0:
            raise ConfigurationError("--time-factor must be greater than 0")
        sandbox = _configured(args, merchants)
    except ConfigurationError as exc:
        return fail(f"sandbox: error: {exc}", EXIT_CONFIG)
    try:
        asyncio.run(_serve(args, sandbox, merchants, default=not args.merchant))
    except KeyboardInterrupt:  # Ctrl+C where signal handlers cannot be installed
        pass
    except OSError as exc:  # the port is taken, the address does not exist, ...
        return fail(f"sandbox: error: cannot serve: {exc.strerror or exc}", EXIT_CONFIG)
    return EXIT_OK


def _act(args: argparse.Namespace, action: str) -> int:
    """``pay`` or ``redeliver`` through the running sandbox's control API."""
    base = (args.url or os.environ.get(URL_ENV) or DEFAULT_URL).rstrip("/")
    if not base.startswith(("http://", "https://")):
        return fail(f"sandbox {action}: error: --url must be an http(s) URL", EXIT_CONFIG)
    body: dict[str, Any] = {"tradeNo": args.trade_no}
    if args.merchant_no:
        body["merchantNo"] = args.merchant_no
    if action == "pay":
        body["outcome"] = args.outcome
        if args.amount is not None:
            body["amount"] = args.amount
    try:
        status, answer = asyncio.run(_post(f"{base}/sandbox/{action}", body))
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        hint = "" if is_loopback_url(base) else " (is it a sandbox?)"
        return fail(
            f"sandbox {action}: error: no sandbox answered at {base}{hint}: "
            f"{type(exc).__name__}; start one with `vexora-async sandbox` or pass --url",
            EXIT_CONFIG,
        )
    order = answer.get("order") if isinstance(answer, dict) else None
    if status != 200 or not isinstance(order, dict):
        error = answer.get("error") if isinstance(answer, dict) else None
        return fail(f"sandbox {action}: {error or f'HTTP {status}'}", EXIT_FAILED_ROWS)
    done = _DONE.get(args.outcome, "paid") if action == "pay" else "notification sent again"
    print(
        f"{done}: tradeNo {order.get('tradeNo')} (merchant {order.get('merchantNo')}), "
        f"status {order.get('status')}, paid {order.get('paidAmount')} of {order.get('amount')}",
        flush=True,
    )
    return EXIT_OK


# What ``sandbox pay --outcome`` did, said first on its line.
_DONE = {"paid": "paid", "partial": "partly paid", "failed": "payment failed"}


async def _post(url: str, body: dict[str, Any]) -> tuple[int, Any]:
    timeout = aiohttp.ClientTimeout(total=30)
    # trust_env off: a proxy from the environment must not carry this off the machine.
    async with (
        aiohttp.ClientSession(timeout=timeout, trust_env=False) as session,
        session.post(url, data=json.dumps(body), allow_redirects=False,
                     headers={"Content-Type": "application/json"}) as response,
    ):
        text = await response.text()
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, None


def _configured(args: argparse.Namespace, merchants: list[SandboxMerchant]) -> Sandbox:
    """The sandbox the options describe, or ``ConfigurationError`` naming the option."""
    try:
        codes = changed_codes(SandboxCodes(), dict(_pair(item) for item in args.code))
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"--code: {exc}") from None
    sandbox = Sandbox(
        merchants,
        time_factor=args.time_factor,
        allow_external_notify=args.allow_external_notify,
        codes=codes,
    )
    if args.replica_lag is not None:
        if not 0 <= args.replica_lag < 1e6:
            raise ConfigurationError("--replica-lag must be between 0 and 1e6 seconds")
        sandbox.faults.replica_lag = args.replica_lag
    kinds = ALL_KINDS if args.fault_kinds is None else args.fault_kinds.split(",")
    try:
        sandbox.faults.mix(args.fault_rate, seed=args.fault_seed, kinds=kinds)
    except ValueError as exc:
        raise ConfigurationError(f"--fault-rate/--fault-kinds: {exc}") from None
    return sandbox


def _pair(item: str) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    if not sep:
        raise ConfigurationError("--code takes NAME=VALUE")
    return name.strip(), value


async def _serve(
    args: argparse.Namespace, sandbox: Sandbox, merchants: list[SandboxMerchant], default: bool
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Windows has no loop signal handlers: Ctrl+C arrives as KeyboardInterrupt there.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    async with run_sandbox(
        host=args.host, port=args.port, allow_external=args.allow_external, sandbox=sandbox
    ):
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
            f"  from a shell: vexora-async sandbox pay TRADE_NO --url {base}",
        ]
        if args.fault_rate:
            lines.append(
                f"  faults: {args.fault_rate:.0%} of checkouts and queries, seed "
                f"{args.fault_seed}, kinds: {args.fault_kinds or 'all'}"
            )
        lines.append("Press Ctrl+C to stop.")
        print("\n".join(lines), flush=True)
        await stop.wait()
