"""Signed payment notifications to the merchant's ``notifyUrl``, retried on the gateway's schedule.

SPEC §7: the gateway POSTs the result and retries until it gets HTTP 200 with the body ``OK``,
up to 8 times, after 2 s, 5 s, 10 s, 30 s, 1 h, 3 h, 3 h, 3 h (each wait counted from the
previous attempt). The schedule is multiplied by the sandbox's time factor.

Only loopback targets are contacted unless the sandbox allows external notifications: this
keeps a test run from calling the example URLs of the docs (``https://google.com``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import aiohttp
import attrs

from ..hosts import is_loopback_url
from ..signing import sign
from ..wire import dumps, epoch_millis
from .codes import STATUS_MESSAGES, SandboxError
from .ledger import Ledger, NotificationAttempt, Order, money_text
from .merchants import SandboxMerchant

__all__ = ["NOTIFY_SCHEDULE", "Delivery", "Notifier", "notification_fields"]

logger = logging.getLogger("vexora_async.sandbox")

NOTIFY_SCHEDULE: tuple[float, ...] = (2, 5, 10, 30, 3600, 10800, 10800, 10800)
_ACK = b"OK"
_HEADERS = {"Content-Type": "application/json"}


def notification_fields(order: Order, merchant: SandboxMerchant, stamp: int) -> dict[str, object]:
    """The signed notification body for the order's current state (SPEC §7)."""
    fields: dict[str, object] = {
        "platFormTradeNo": order.platform_trade_no,
        "tradeNo": order.trade_no,
        "amount": money_text(order.paid_amount),
        "status": order.status,
        "message": STATUS_MESSAGES.get(order.status, ""),
        "timestamp": stamp if merchant.profile.timestamp_as_number else str(stamp),
    }
    # Optional fields are left out rather than sent empty (SPEC §3: empty values are unsigned).
    optional = (
        ("successTime", order.success_time),
        ("channelCode", order.channel_code),
        ("wayCode", order.way_code),
    )
    fields.update((name, value) for name, value in optional if value)
    fields["sign"] = sign(fields, merchant.secret)
    return fields


@attrs.define(eq=False)
class Delivery:
    """The attempts to deliver one payment event of one order."""

    order: Order
    number: int
    body: bytes = attrs.field(repr=False)
    attempts: list[NotificationAttempt] = attrs.Factory(list)
    done: asyncio.Event = attrs.Factory(asyncio.Event)
    task: asyncio.Task[None] | None = None

    @property
    def acknowledged(self) -> bool:
        return bool(self.attempts) and self.attempts[-1].acknowledged


class Notifier:
    """Starts and tracks deliveries; owns the HTTP session it posts with. Loop-bound."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        time_factor: float = 1.0,
        schedule: Sequence[float] = NOTIFY_SCHEDULE,
        allow_external: bool = False,
        timeout: float = 10.0,
    ) -> None:
        self._ledger = ledger
        self._delays = (0.0, *(seconds * time_factor for seconds in schedule))
        self._allow_external = allow_external
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._latest: dict[tuple[str, str], Delivery] = {}

    def start(self, order: Order, merchant: SandboxMerchant) -> Delivery:
        """Deliver the order's current state; an unfinished earlier delivery is superseded."""
        key = (order.merchant_no, order.trade_no)
        previous = self._latest.get(key)
        if previous is not None:
            _finish(previous)
        body = dumps(notification_fields(order, merchant, epoch_millis()))
        delivery = Delivery(order, previous.number + 1 if previous else 1, body)
        self._latest[key] = delivery
        delivery.task = asyncio.get_running_loop().create_task(self._deliver(delivery))
        return delivery

    def latest(self, merchant_no: str, trade_no: str) -> Delivery | None:
        return self._latest.get((merchant_no, trade_no))

    async def settled(self, order: Order, *, timeout: float | None = None) -> list[
        NotificationAttempt
    ]:
        """The attempts of ``order``'s latest notification, once it was acknowledged, ran out
        of retries or was skipped. ``SandboxError`` when none was started."""
        delivery = self.latest(order.merchant_no, order.trade_no)
        if delivery is None:
            raise SandboxError(f"no notification was started for trade {order.trade_no}")
        await asyncio.wait_for(delivery.done.wait(), timeout)
        return list(delivery.attempts)

    async def _deliver(self, delivery: Delivery) -> None:
        url = delivery.order.notify_url or ""
        try:
            if not self._allow_external and not is_loopback_url(url):
                self._record(delivery, 1, 0.0, None, "not loopback: skipped", skipped=True)
                return
            for number, delay in enumerate(self._delays, start=1):
                if delay:
                    await asyncio.sleep(delay)
                status, error = await self._post(url, delivery.body)
                if self._record(delivery, number, delay, status, error):
                    return
        finally:
            delivery.body = b""  # a benchmark may pay 100,000 orders: keep only the record
            delivery.done.set()

    def _record(
        self,
        delivery: Delivery,
        number: int,
        delay: float,
        status: int | None,
        error: str | None,
        *,
        skipped: bool = False,
    ) -> bool:
        order = delivery.order
        acknowledged = error is None and status == 200
        attempt = NotificationAttempt(
            order.merchant_no, order.trade_no, delivery.number, number, delay,
            status, error, acknowledged, skipped,
        )
        delivery.attempts.append(attempt)
        self._ledger.add_attempt(order, attempt)
        logger.debug(
            "notification for trade %s, attempt %d: status=%s error=%s",
            order.trade_no, number, status, error,
        )
        return acknowledged

    async def _post(self, url: str, body: bytes) -> tuple[int, str | None] | tuple[None, str]:
        """HTTP status, and an error unless the answer was 200 ``OK``."""
        session = self._session
        if session is None:
            # trust_env off: no proxy from the environment may reroute a local notification.
            session = self._session = aiohttp.ClientSession(
                timeout=self._timeout, trust_env=False
            )
        try:
            # No redirects: a merchant's redirect must not carry the sandbox off this machine.
            async with session.post(
                url, data=body, headers=_HEADERS, allow_redirects=False
            ) as response:
                answer = await response.read()
                if response.status == 200 and answer == _ACK:
                    return response.status, None
                return response.status, "no OK" if response.status == 200 else "HTTP status"
        except Exception as exc:  # any failure is this attempt's error; the schedule goes on
            return None, type(exc).__name__

    async def aclose(self) -> None:
        """Stop every delivery and close the session (the sandbox is shutting down)."""
        for delivery in self._latest.values():
            _finish(delivery)
        tasks = [d.task for d in self._latest.values() if d.task is not None]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        session, self._session = self._session, None
        if session is not None:
            await session.close()


def _finish(delivery: Delivery) -> None:
    if delivery.task is not None and not delivery.task.done():
        delivery.task.cancel()
    delivery.done.set()
