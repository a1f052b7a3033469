"""``vexora-async balance``: the merchant account's balance (SPEC §9), exact."""

from __future__ import annotations

import argparse
import asyncio
import json

from ..errors import APIError, AuthenticationError, ConfigurationError, VexoraError
from ..payout_models import Balance
from .common import EXIT_CONFIG, EXIT_FAILED_ROWS, EXIT_OK, add_credentials, client_from, fail

NAME = "balance"
HELP = "show the account's balance: available, frozen and unsettled"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="one JSON object (amounts as text)")
    add_credentials(parser)


def run(args: argparse.Namespace) -> int:
    try:
        balance = asyncio.run(_fetch(args))
    except (ConfigurationError, AuthenticationError) as exc:
        return fail(str(exc), EXIT_CONFIG)
    except (APIError, VexoraError) as exc:
        return fail(str(exc), EXIT_FAILED_ROWS)
    amounts = {
        "available": format(balance.available, "f"),
        "frozen": format(balance.frozen, "f"),
        "unsettled": format(balance.unsettled, "f"),
    }
    if args.json:
        print(json.dumps(amounts))
    else:
        width = max(len(name) for name in amounts)
        for name, value in amounts.items():
            print(f"{name:<{width}}  {value}")
    return EXIT_OK


async def _fetch(args: argparse.Namespace) -> Balance:
    async with client_from(args) as client:
        return await client.get_balance()
