"""Payouts and balance for ``VexoraClient`` (SPEC §9): money out, with the same truth.

A payout is one more ``OrderKind`` for ``reconcile.create_truthfully``: the same rules that
keep checkout truthful, and they matter more here, since a duplicate payout is money sent
twice. So:

- a payout is only ever resent under its own ``tradeNo`` (the gateway keeps it unique, so a
  resend cannot pay twice); the SDK never makes up a new number;
- ``OrderRejected`` means the gateway refused it *and* queries over the settle window found
  no such payout: provably not paid out; every unclear case is ``OutcomeUnknown``.

The client's methods (``create_payout``, ``create_payouts``, ``query_payout``,
``get_balance``) are thin wrappers over the functions here.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterable, Iterable
from typing import TYPE_CHECKING, Any, cast

from .batch import BatchRun
from .call import ApiCall
from .direct import create_order
from .envelope import refusal
from .errors import ConfigurationError
from .payout_models import Balance, Payout, PayoutRequest, PayoutState
from .payout_rules import PayoutProfile
from .reconcile import OrderKind, query_state
from .retry import RetryPolicy
from .wire import structure_response

if TYPE_CHECKING:
    from .client import VexoraClient

__all__ = [
    "create_payout",
    "create_payouts",
    "get_balance",
    "payout_kind",
    "payout_profile",
    "query_payout",
]


def payout_profile(client: VexoraClient) -> PayoutProfile:
    """The client's profile's payout declaration; ``ConfigurationError`` when it has none."""
    payout = getattr(client.profile, "payout", None)
    if payout is None:
        raise ConfigurationError(
            f"the {client.profile.name} profile declares no payouts (RegionProfile.payout)"
        )
    return cast(PayoutProfile, payout)


def payout_kind(profile: PayoutProfile) -> OrderKind[Payout, PayoutState]:
    """A payout as an order kind: its create and query calls and their answers."""
    return OrderKind(
        "payout", profile.create_path, "payout_query", profile.query_path, Payout, PayoutState
    )


async def create_payout(
    client: VexoraClient,
    request: PayoutRequest,
    *,
    timeout: float | None = None,
    retry: RetryPolicy | None = None,
    maybe_sent: bool = False,
) -> Payout:
    """See ``VexoraClient.create_payout``."""
    profile = payout_profile(client)
    fields = profile.prepare(request)  # every violation, before anything is sent
    return await create_order(
        client._send, payout_kind(profile), client.codes, request.trade_no, fields, timeout,
        retry or client.retry_policy, client._retry.clock, client._retry.sleep, maybe_sent,
    )  # fmt: skip


def create_payouts(
    client: VexoraClient,
    requests: Iterable[PayoutRequest] | AsyncIterable[PayoutRequest],
    *,
    concurrency: int = 64,
    retry: RetryPolicy | None = None,
) -> BatchRun:
    """See ``VexoraClient.create_payouts``: ``BatchRun`` over ``create_payout``; each
    ``BatchResult.link`` holds the ``Payout``."""
    create: Any = functools.partial(create_payout, client, retry=retry)
    return BatchRun(create, cast(Any, requests), concurrency)


async def query_payout(
    client: VexoraClient,
    trade_no: str,
    *,
    timeout: float | None = None,
    retry: RetryPolicy | None = None,
) -> PayoutState:
    """See ``VexoraClient.query_payout``."""
    from .client import _check_trade_no

    _check_trade_no(trade_no)
    profile = payout_profile(client)
    state: PayoutState = await query_state(
        client._send, payout_kind(profile), client.codes, trade_no,
        timeout=timeout, policy=retry,
    )  # fmt: skip
    return state


async def get_balance(
    client: VexoraClient, *, timeout: float | None = None, retry: RetryPolicy | None = None
) -> Balance:
    """See ``VexoraClient.get_balance``."""
    profile = payout_profile(client)
    call = ApiCall("balance", profile.balance_path, {}, "", timeout, retry=retry)
    envelope = await client._send(call)
    if envelope.code == client.codes.accepted:
        return structure_response(envelope.data, Balance, "balance response")
    raise refusal(envelope, client.codes, None)
