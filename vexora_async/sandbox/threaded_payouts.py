"""``SandboxThread.payouts``: the sandbox's payout side, usable from the caller's thread.

``SandboxPayouts`` (``Sandbox.payouts``) lives on the sandbox's event loop: its timers,
events and notifier belong to that loop. A ``SandboxThread`` serves that loop in another
thread, so its ``payouts`` is this wrapper with the same names: what only reads or changes
lock-guarded state (balances, the ledger, the settings) is done directly, what touches the
loop runs on it and waits for the result, and the waits are offered blocking (sync code)
and awaitable (from any other event loop).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from .balance import Balances, MerchantBalance
from .codes import SandboxError
from .ledger import Ledger, NotificationAttempt, Order
from .payouts import PayoutOutcome, SandboxPayouts

__all__ = ["ThreadedPayouts"]

T = TypeVar("T")


class ThreadedPayouts:
    """The payouts of a ``SandboxThread`` (``sandbox.payouts``), safe from any thread.

    - ``fund``, ``balance``, ``balances`` (``settle()``, ``instant``), ``ledger`` and
      ``snapshot``: lock-guarded state, done directly (also once the sandbox stopped).
    - ``delay`` and ``outcome``: settings read when a payout is accepted or settles.
    - ``decide`` and ``settle_now``: run on the sandbox's loop (blocking until done).
    - ``settled`` and ``notifications_settled``: awaitable from any event loop but the
      sandbox's; ``wait_settled`` and ``wait_for_notifications`` block instead (not from
      a loop that serves the merchant's notify endpoint: it could not answer while blocked).
    """

    __slots__ = ("_call", "_call_async", "_payouts")

    def __init__(
        self,
        payouts: SandboxPayouts,
        call: Callable[[Coroutine[Any, Any, Any], float | None], Any],
        call_async: Callable[[Coroutine[Any, Any, Any]], Coroutine[Any, Any, Any]],
    ) -> None:
        self._payouts = payouts
        self._call = call
        self._call_async = call_async

    # -- state behind locks: any thread ---------------------------------------------------

    @property
    def ledger(self) -> Ledger:
        """The payouts' ledger (read it from any thread)."""
        return self._payouts.ledger

    @property
    def balances(self) -> Balances:
        """Every merchant's balance (``settle()``, ``instant``; thread-safe)."""
        return self._payouts.balances

    def fund(self, merchant_no: str, amount: Any) -> MerchantBalance:
        """Make ``amount`` available to ``merchant_no`` at once (a top-up)."""
        return self._payouts.fund(merchant_no, amount)

    def balance(self, merchant_no: str) -> MerchantBalance:
        return self._payouts.balance(merchant_no)

    def snapshot(self, merchant_no: str | None = None) -> dict[str, Any]:
        """Payouts, their notification attempts and the balances, as JSON-ready data."""
        return self._payouts.snapshot(merchant_no)

    @property
    def delay(self) -> float:
        """Seconds from acceptance to settlement (times the time factor)."""
        return self._payouts.delay

    @delay.setter
    def delay(self, seconds: float) -> None:
        self._payouts.delay = seconds

    @property
    def outcome(self) -> PayoutOutcome:
        """How payouts settle unless ``decide`` says otherwise."""
        return self._payouts.outcome

    @outcome.setter
    def outcome(self, outcome: PayoutOutcome) -> None:
        if outcome not in ("paid", "failed"):
            raise SandboxError("a payout settles as 'paid' or 'failed'")
        self._payouts.outcome = outcome

    # -- on the sandbox's loop ------------------------------------------------------------

    def decide(self, trade_no: str, outcome: PayoutOutcome, *, timeout: float = 10.0) -> None:
        """Settle the payout ``trade_no`` (now or when it arrives) as ``outcome``."""
        self._run(_now(lambda: self._payouts.decide(trade_no, outcome)), timeout)

    def settle_now(
        self, trade_no: str, merchant_no: str | None = None, *, timeout: float = 10.0
    ) -> Order:
        """Settle the processing payout ``trade_no`` at once instead of after ``delay``."""
        return self._run(_now(lambda: self._payouts.settle_now(trade_no, merchant_no)), timeout)

    async def settled(
        self, trade_no: str, merchant_no: str | None = None, *, timeout: float = 10.0
    ) -> Order:
        """Await (from any other loop) until the payout ``trade_no`` has settled."""
        result: Order = await self._call_async(
            self._payouts.settled(trade_no, merchant_no, timeout=timeout)
        )
        return result

    async def notifications_settled(
        self, trade_no: str, merchant_no: str | None = None, *, timeout: float = 10.0
    ) -> list[NotificationAttempt]:
        """Await (from any other loop) until the payout's notification was acknowledged or
        given up; its attempts."""
        result: list[NotificationAttempt] = await self._call_async(
            self._payouts.notifications_settled(trade_no, merchant_no, timeout=timeout)
        )
        return result

    def wait_settled(
        self, trade_no: str, merchant_no: str | None = None, *, timeout: float = 10.0
    ) -> Order:
        """Block until the payout ``trade_no`` has settled."""
        coro = self._payouts.settled(trade_no, merchant_no, timeout=timeout)
        return self._run(coro, timeout + 1.0)

    def wait_for_notifications(
        self, trade_no: str, merchant_no: str | None = None, *, timeout: float = 10.0
    ) -> list[NotificationAttempt]:
        """Block until the payout's notification settled; its attempts."""
        coro = self._payouts.notifications_settled(trade_no, merchant_no, timeout=timeout)
        return self._run(coro, timeout + 1.0)

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float | None = 10.0) -> T:
        result: T = self._call(coro, timeout)
        return result

    def __repr__(self) -> str:
        return f"ThreadedPayouts(payouts={len(self._payouts.ledger)})"


async def _now(action: Callable[[], T]) -> T:
    """``action()`` as a coroutine: run on the sandbox's loop, between its callbacks."""
    return action()
