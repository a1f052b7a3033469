"""Small test helpers shared by several test modules."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from vexora_async import CheckoutRequest, HttpRequest, HttpResponse, MemoryTransport

SECRET = "TESTSECRET"
MERCHANT = "0000000001"

_SDK_NAMES = {
    "tradeNo": "trade_no",
    "notifyUrl": "notify_url",
    "returnUrl": "return_url",
    "channelCode": "channel_code",
    "wayCode": "way_code",
    "ipAddress": "ip_address",
    "bankNumber": "bank_number",
}


def request_from_wire(example: Mapping[str, Any], **changes: Any) -> CheckoutRequest:
    """A ``CheckoutRequest`` with the business fields of a wire example (no sign/timestamp)."""
    kwargs = {
        _SDK_NAMES.get(key, key): value
        for key, value in example.items()
        if key not in ("sign", "timestamp")
    }
    kwargs.update(changes)
    return CheckoutRequest(**kwargs)


def envelope(
    data: Mapping[str, Any] | None = None, code: str = "0000", msg: str = "success"
) -> bytes:
    body: dict[str, Any] = {"msg": msg, "code": code, "timestamp": 1728609277476, "success": True}
    if data is not None:
        body["data"] = dict(data)
    return json.dumps(body).encode()


class FakeTime:
    """An injected clock and sleep: sleeping advances the clock, nothing waits."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Recorder:
    """A MemoryTransport handler that records requests and answers with a fixed response."""

    def __init__(self, answer: Callable[[HttpRequest], HttpResponse]) -> None:
        self.requests: list[HttpRequest] = []
        self._answer = answer
        self.transport = MemoryTransport(self)

    async def __call__(self, request: HttpRequest) -> HttpResponse:
        self.requests.append(request)
        return self._answer(request)

    @property
    def last_body(self) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(self.requests[-1].body)
        return body


def link_data(trade_no: str = "T1", **extra: Any) -> dict[str, Any]:
    return {
        "tradeNo": trade_no,
        "platFormTradeNo": "PF" + trade_no,
        "status": "0015",
        "desc": "Paying",
        "paymentUrl": f"https://cashier.example/{trade_no}",
        **extra,
    }


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """``app`` served on 127.0.0.1 (a free port) for the block: its base URL."""
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()
