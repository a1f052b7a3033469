"""``vexora-async payouts INPUT --out results.jsonl``: a payout for every row, resumably.

The ``batch`` command with payouts for rows (``PAYOUTS``): the same validation report,
``--skip-invalid``, journal, resume, Ctrl+C and exit codes (see ``commands/batch.py``). A
payout is only ever re-driven under its own ``tradeNo`` (it cannot be paid twice), the
profile's payout rules check every row before anything is sent, and the results file holds
no recipient data. A journal of payment links is never resumed as payouts, or the reverse.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import Any

from ..batch_input import RowReader
from ..client import VexoraClient
from ..payout_models import Payout, PayoutRequest
from ..payouts import payout_profile
from . import batch

__all__ = ["HELP", "NAME", "PAYOUTS", "configure", "run"]

NAME = "payouts"
HELP = "create a payout for every row of a CSV or JSONL file (resumable)"


def _check(client: VexoraClient) -> Callable[[PayoutRequest], object]:
    # ConfigurationError when the client's profile pays nothing out
    return payout_profile(client.profile).prepare


def _create(client: VexoraClient, request: PayoutRequest, maybe_sent: bool) -> Awaitable[Payout]:
    return client.create_payout(request, maybe_sent=maybe_sent)


def _shown(payout: Payout) -> dict[str, Any]:
    return {"platFormTradeNo": payout.platform_trade_no, "status": payout.status.code}


PAYOUTS: batch.BatchKind[PayoutRequest, Payout] = batch.BatchKind(
    rows=RowReader(PayoutRequest),
    check=_check,
    create=_create,
    shown=_shown,
    requests="payout requests",
    noun="payouts",
    made="payouts",
    lost="its answer was lost (query it for its status)",
    journal_kind="payouts",
    concurrency=16,  # money out: gentler on the gateway than links
)


def configure(parser: argparse.ArgumentParser) -> None:
    batch.configure(parser, PAYOUTS)


def run(args: argparse.Namespace) -> int:
    return batch.run(args, PAYOUTS)
