"""Helpers for the payout tests (no tests here): a valid payout per built-in profile, and a
merchant's two notify endpoints (payments and payouts) served on 127.0.0.1."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from types import TracebackType
from typing import Any

from aiohttp import web

from vexora_async import RetryPolicy
from vexora_async.dedupe import MemoryNotificationStore
from vexora_async.notify import PaymentNotification
from vexora_async.payout_models import PayoutRequest
from vexora_async.payout_notify import (
    PayoutNotification,
    TradePrefix,
    payment_notification_handler,
    payout_notification_handler,
)

# Collected by the sample checkout of test_sandbox_support, and paid out from it.
COLLECTED = {
    "IDR": Decimal(150000),
    "PAYPRO_IDR": Decimal(150000),
    "PHP": Decimal(300),
    "KHR": Decimal(12000),
    "USD": Decimal("12.50"),
}

_RECIPIENTS: dict[str, dict[str, Any]] = {
    "IDR": {
        "amount": 100000, "customer_name": "Jack", "mobile": "081234567890",
        "email": "jack@example.com", "bank_account_no": "5464438554636", "bank_code": "0002",
    },
    "PHP": {
        "amount": 200, "account_name": "Maria Santos", "bank_name": "GCash",
        "bank_number": "09171234567",
    },
    "KHR": {
        "amount": 10000, "firstname": "Sok", "lastname": "Dara", "mobile": "012345678",
        "email": "dara@example.com", "channel_code": "EWALLET", "way_code": "LANTON",
        "bank_code": "0101", "bank_number": "0123456789", "remark": "refund-1",
    },
}
_RECIPIENTS["PAYPRO_IDR"] = _RECIPIENTS["IDR"]
_RECIPIENTS["USD"] = {**_RECIPIENTS["KHR"], "amount": Decimal("10.25")}

PAYOUTS = TradePrefix("PO-")

# Fast and patient enough for loopback: short backoff, a short settle window.
QUICK = RetryPolicy(
    attempts=4, backoff=0.001, backoff_max=0.001, retry_after_max=0.01,
    attempt_timeout=1.0, settle_window=0.02, deadline=30.0,
)  # fmt: skip


def payout_request(profile: str, trade_no: str, notify_url: str, **changes: Any) -> PayoutRequest:
    """A valid payout for ``profile``."""
    fields = {**_RECIPIENTS[profile], "trade_no": trade_no, "notify_url": notify_url, **changes}
    return PayoutRequest(**fields)


class MerchantEndpoints:
    """A merchant's ``/payments`` and ``/payouts`` notify endpoints with the SDK's handlers;
    payouts are told apart by the ``PO-`` prefix (``PAYOUTS``). Records what each callback
    got and every HTTP answer."""

    def __init__(self, secret: str, *, expected: dict[str, Decimal] | None = None) -> None:
        self.secret = secret
        self.payments: list[PaymentNotification] = []
        self.payouts: list[PayoutNotification] = []
        self.answers: list[tuple[str, int, str]] = []
        self.store = MemoryNotificationStore()  # one store for both: keys name their kind
        self.expected = expected or {}
        self._runner: web.AppRunner | None = None
        self._answered = asyncio.Condition()
        self.base = ""

    async def wait_answers(self, count: int, timeout: float = 10.0) -> None:
        """Until the endpoints have answered ``count`` deliveries."""
        async with self._answered:
            await asyncio.wait_for(
                self._answered.wait_for(lambda: len(self.answers) >= count), timeout
            )

    @property
    def payment_url(self) -> str:
        return f"{self.base}/payments"

    @property
    def payout_url(self) -> str:
        return f"{self.base}/payouts"

    async def _on_payment(self, notification: PaymentNotification) -> None:
        self.payments.append(notification)

    async def _on_payout(self, notification: PayoutNotification) -> None:
        self.payouts.append(notification)

    async def _expected(self, trade_no: str) -> Decimal | None:
        return self.expected.get(trade_no)

    def _recording(self, name: str, handler: Any) -> Any:
        async def handle(request: web.Request) -> web.StreamResponse:
            response: web.Response = await handler(request)
            self.answers.append((name, response.status, response.text or ""))
            async with self._answered:
                self._answered.notify_all()
            return response

        return handle

    async def __aenter__(self) -> MerchantEndpoints:
        app = web.Application()
        expected = self._expected if self.expected else None
        payments = payment_notification_handler(
            self.secret, self._on_payment, owns_payment=PAYOUTS.owns_payment, store=self.store,
            expected_amount=expected,
        )  # fmt: skip
        payouts = payout_notification_handler(
            self.secret, self._on_payout, owns_payout=PAYOUTS.owns_payout, store=self.store,
            expected_amount=expected,
        )  # fmt: skip
        app.router.add_post("/payments", self._recording("payments", payments))
        app.router.add_post("/payouts", self._recording("payouts", payouts))
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._runner is not None
        await self._runner.cleanup()
