"""``vexora-async query TRADE_NO``: what the gateway knows of one order."""

from __future__ import annotations

import argparse
import asyncio
import json

from ..errors import (
    AuthenticationError,
    ConfigurationError,
    ConnectError,
    OrderNotFound,
    ValidationError,
    VexoraError,
)
from ..models import PaymentState
from .common import (
    EXIT_CONFIG,
    EXIT_FAILED_ROWS,
    EXIT_INTERRUPTED,
    EXIT_OK,
    add_credentials,
    client_from,
    endpoint,
    fail,
    print_table,
    setting,
)

NAME = "query"
HELP = "query the payment state of one trade number"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("trade_no", help="your trade number (tradeNo)")
    parser.add_argument("--json", action="store_true", help="print the state as JSON")
    add_credentials(parser)


async def _query(args: argparse.Namespace) -> PaymentState:
    async with client_from(args) as client:
        return await client.query_payment(args.trade_no)


def gateway_fields(state: PaymentState) -> dict[str, str]:
    """The state under the gateway's own field names (SPEC section 6), unset ones left out;
    amounts as exact decimal text."""
    fields = {
        "tradeNo": state.trade_no,
        "platFormTradeNo": state.platform_trade_no,
        "status": state.status.code,
        "amount": state.amount,
        "payAmount": state.pay_amount,
        "message": state.message,
        "successTime": state.success_time,
        "channelCode": state.channel_code,
        "wayCode": state.way_code,
        "remark": state.remark,
    }
    return {key: str(value) for key, value in fields.items() if value is not None}


def run(args: argparse.Namespace) -> int:
    try:
        state = asyncio.run(_query(args))
    except (ConfigurationError, ValidationError, AuthenticationError) as exc:
        return fail(str(exc), EXIT_CONFIG)  # a wrong secret or merchant: configuration
    except KeyboardInterrupt:
        return fail("stopped", EXIT_INTERRUPTED)
    except ConnectError as exc:
        said = str(exc)  # the transports name host, port and reason themselves
        if not said.startswith("could not connect to "):
            said = f"could not connect to {endpoint(setting(args, 'base_url') or '')}: {said}"
        return fail(said, EXIT_FAILED_ROWS)
    except OrderNotFound as exc:
        return fail(f"not known to the gateway (yet): {exc}", EXIT_FAILED_ROWS)
    except VexoraError as exc:
        return fail(f"query failed: {exc}", EXIT_FAILED_ROWS)
    rows = [
        ("trade number", state.trade_no),
        ("platform trade number", state.platform_trade_no or ""),
        ("status", str(state.status)),
        ("amount", "" if state.amount is None else str(state.amount)),
        ("paid amount", "" if state.pay_amount is None else str(state.pay_amount)),
        ("success time", state.success_time or ""),
        ("message", state.message or ""),
    ]
    if args.json:
        print(json.dumps(gateway_fields(state), ensure_ascii=False))
    else:
        print_table("payment", rows)
    return EXIT_OK
