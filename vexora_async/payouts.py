"""Payouts and balance (SPEC §9): money out, with the same truth as checkout.

A payout is one more ``OrderKind`` for ``reconcile.create_truthfully``: the same rules that
keep checkout truthful, and they matter more here, since a duplicate payout is money sent
twice. So:

- a payout is only ever resent under its own ``tradeNo`` (the gateway keeps it unique, so a
  resend cannot pay twice); the SDK never makes up a new number;
- ``OrderRejected`` means the gateway refused it *and* queries over the settle window found
  no such payout: provably not paid out; every unclear case is ``OutcomeUnknown``.

``VexoraClient``'s methods (``create_payout``, ``create_payouts``, ``query_payout``,
``get_balance``) run payouts over the client's own chain with the parts here: which
profile pays out, a payout as an order kind, and the balance call and its answer.
"""

from __future__ import annotations

from typing import cast

from .call import ApiCall, Envelope
from .codes import GatewayCodes
from .envelope import refusal
from .errors import ConfigurationError
from .payout_models import Balance, Payout, PayoutState
from .payout_rules import PayoutProfile
from .reconcile import OrderKind
from .regions import RegionProfile
from .retry import RetryPolicy
from .wire import structure_response

__all__ = ["balance_call", "payout_kind", "payout_profile", "read_balance"]


def payout_profile(profile: RegionProfile) -> PayoutProfile:
    """``profile``'s payout declaration; ``ConfigurationError`` when it has none."""
    payout = getattr(profile, "payout", None)
    if payout is None:
        raise ConfigurationError(
            f"the {profile.name} profile declares no payouts (RegionProfile.payout)"
        )
    return cast(PayoutProfile, payout)


def payout_kind(profile: PayoutProfile) -> OrderKind[Payout, PayoutState]:
    """A payout as an order kind: its create and query calls and their answers."""
    return OrderKind(
        "payout", profile.create_path, "payout_query", profile.query_path, Payout, PayoutState
    )


def balance_call(
    profile: PayoutProfile, timeout: float | None, retry: RetryPolicy | None
) -> ApiCall:
    """The balance query: no business fields, only the stamp and the sign."""
    return ApiCall("balance", profile.balance_path, {}, "", timeout, retry=retry)


def read_balance(envelope: Envelope, codes: GatewayCodes) -> Balance:
    """The ``Balance`` in an accepted answer; any other answer raises as a refusal."""
    if envelope.code == codes.accepted:
        return structure_response(envelope.data, Balance, "balance response")
    raise refusal(envelope, codes, None)
