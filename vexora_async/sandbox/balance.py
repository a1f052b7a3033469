"""Each sandbox merchant's balance: collections raise it, payouts lower it.

A payment's money is *unsettled* first and becomes *available* on the next simulated day
(``day`` seconds, one real day times the sandbox's time factor), or at once when
``instant`` is set. A payout holds its amount (*frozen*) from the moment it is accepted;
paid out, the hold is spent; failed, it returns to *available*. Only *available* money can
be paid out. Exact ``Decimal`` throughout; safe to read from any thread.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from decimal import Decimal

import attrs

__all__ = ["Balances", "MerchantBalance"]

_ZERO = Decimal(0)


@attrs.frozen(slots=True)
class MerchantBalance:
    """One merchant's balance at one moment."""

    available: Decimal
    frozen: Decimal
    unsettled: Decimal

    def to_dict(self) -> dict[str, str]:
        return {
            "available": format(self.available, "f"),
            "frozen": format(self.frozen, "f"),
            "unsettled": format(self.unsettled, "f"),
        }


@attrs.define(slots=True)
class _Account:
    available: Decimal = _ZERO
    frozen: Decimal = _ZERO
    # (when it becomes available, amount), oldest first
    unsettled: deque[tuple[float, Decimal]] = attrs.Factory(deque)


class Balances:
    """Every merchant's balance (accounts are opened at zero on first use)."""

    def __init__(
        self, *, day: float = 86400.0, instant: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self.day = day
        self.instant = instant
        self._clock = clock
        self._lock = threading.Lock()
        self._accounts: dict[str, _Account] = {}

    def _account(self, merchant_no: str) -> _Account:
        account = self._accounts.get(merchant_no)
        if account is None:
            account = self._accounts[merchant_no] = _Account()
        now = self._clock()
        while account.unsettled and account.unsettled[0][0] <= now:
            account.available += account.unsettled.popleft()[1]
        return account

    def collect(self, merchant_no: str, amount: Decimal) -> None:
        """A payment brought in ``amount``: available tomorrow (or now, when ``instant``)."""
        if amount <= 0:
            return
        with self._lock:
            account = self._account(merchant_no)
            if self.instant:
                account.available += amount
            else:
                account.unsettled.append((self._clock() + self.day, amount))

    def fund(self, merchant_no: str, amount: Decimal) -> None:
        """Make ``amount`` available at once (a top-up; for tests and demos)."""
        with self._lock:
            self._account(merchant_no).available += amount

    def settle(self, merchant_no: str | None = None) -> None:
        """Start the next simulated day now: everything unsettled becomes available."""
        with self._lock:
            numbers = [merchant_no] if merchant_no is not None else list(self._accounts)
            for number in numbers:
                account = self._account(number)
                while account.unsettled:
                    account.available += account.unsettled.popleft()[1]

    def hold(self, merchant_no: str, amount: Decimal) -> bool:
        """Freeze ``amount`` for a payout; False (nothing changes) when not enough is
        available."""
        with self._lock:
            account = self._account(merchant_no)
            if account.available < amount:
                return False
            account.available -= amount
            account.frozen += amount
            return True

    def release(self, merchant_no: str, amount: Decimal, *, paid_out: bool) -> None:
        """End a payout's hold: spent when paid out, back to available when it failed."""
        with self._lock:
            account = self._account(merchant_no)
            account.frozen -= amount
            if not paid_out:
                account.available += amount

    def of(self, merchant_no: str) -> MerchantBalance:
        with self._lock:
            account = self._account(merchant_no)
            pending = sum((amount for _, amount in account.unsettled), _ZERO)
            return MerchantBalance(account.available, account.frozen, pending)
